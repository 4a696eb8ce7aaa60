import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { loadEdgeConfig } from "../../components/config/load";
import { ConfigError } from "../../components/config/schema";
import { buildStack } from "../../components/stacks";
import { runOffline } from "../../tools/offline/engine";
import { loadPlanConfig } from "../../tools/offline/stackConfig";
import { edgeStackConfig } from "../support/fixtures";

const ROOT = resolve(__dirname, "../..");

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

  it("refuses an app secret the catalog reads but the config lacks under a real engine, before any resource", () => {
    // No mock monitor, as under `pulumi up`; the shipped qbittorrent reads its VPN keys. One process tries both configs.
    const script = [
      'const { runtime } = require("@pulumi/pulumi");',
      `const { loadAppSecrets, loadHomeConfig } = require(${JSON.stringify(join(ROOT, "components/config/load"))});`,
      `const { appSecretReads } = require(${JSON.stringify(join(ROOT, "components/apps/appSecret"))});`,
      "for (const config of JSON.parse(process.env.CONFIGS)) {",
      "  runtime.setAllConfig(config);",
      "  try {",
      "    const loaded = loadAppSecrets(appSecretReads(loadHomeConfig().services));",
      "    console.log(JSON.stringify({ standIns: loaded.standIns, secrets: loaded.secrets.map((s) => `${s.namespace}/${s.name}`) }));",
      "  } catch (err) {",
      "    console.log(JSON.stringify({ refused: err.message }));",
      "  }",
      "}",
    ].join("\n");
    // The shipped example's placeholder values are refused first under a real engine; a real domain gets past them.
    const real = Object.fromEntries(Object.entries(loadPlanConfig("home", ROOT).config).map(([k, v]) => [k, v.replace(/example\.com/g, "mylab.net")]));
    const set = { ...real, "homelab:appSecrets": JSON.stringify({ "qbittorrent-vpn": { wireguard_private_key: "k", wireguard_addresses: "10.64.0.2/32" } }) };
    const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CONFIGS: JSON.stringify([real, set]) } });
    assert.equal(result.status, 0, result.stderr);
    const [missing, loaded] = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.match(missing.refused, /homelab:appSecrets\.qbittorrent-vpn\.wireguard_private_key is required but not set: read by "qbittorrent" \(Gluetun's WIREGUARD_PRIVATE_KEY/);
    assert.deepEqual(loaded, { standIns: [], secrets: ["qbittorrent/qbittorrent-vpn"] });
  });
});
