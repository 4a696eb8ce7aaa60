import { strict as assert } from "node:assert";
import { loadEdgeConfig } from "../../components/config/load";
import { ConfigError } from "../../components/config/schema";
import { buildStack } from "../../components/stacks";
import { runOffline } from "../../tools/offline/engine";
import { edgeStackConfig } from "../support/fixtures";

describe("config loading", () => {
  it("reads namespaced config and wraps the SSH key as a secret", async () => {
    const { config, secretKeys } = edgeStackConfig();
    const run = await runOffline({
      stack: "edge",
      config,
      secretKeys,
      program: () => {
        const loaded = loadEdgeConfig();
        return { outputs: { domain: loaded.config.domain, sshPrivateKey: loaded.sshPrivateKey! }, artifacts: {} };
      },
    });
    assert.equal(run.outputs.domain.value, "example.com");
    assert.equal(run.outputs.sshPrivateKey.secret, true);
  });

  it("bad config fails before any resource is registered", async () => {
    const { config, secretKeys } = edgeStackConfig({ tunnelMtu: "9000" });
    let error: unknown;
    const run = await runOffline({
      stack: "edge",
      config,
      secretKeys,
      program: () => {
        try {
          return buildStack("edge");
        } catch (err) {
          error = err;
          return { outputs: {}, artifacts: {} };
        }
      },
    });
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /homelab:tunnelMtu: 9000 must be between 1280 and 1420/);
    assert.deepEqual(run.resources.map((r) => r.type), ["pulumi:pulumi:Stack"], "nothing but the stack itself");
  });
});
