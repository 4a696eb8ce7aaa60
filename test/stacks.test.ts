import { strict as assert } from "node:assert";
import { stackRole } from "../components/stacks";
import { runOffline } from "../tools/offline/engine";
import { edgeStackConfig } from "./support/fixtures";

/** Runs index.ts itself, as the CLI would, under a given stack name. */
function runIndex(stack: string) {
  const { config, secretKeys } = edgeStackConfig();
  return runOffline({
    stack,
    config,
    secretKeys,
    program: () => {
      delete require.cache[require.resolve("../index")];
      return { outputs: require("../index"), artifacts: {} };
    },
  });
}

describe("stack dispatch", () => {
  it("maps edge, home and their suffixed forms to a role", () => {
    assert.equal(stackRole("edge"), "edge");
    assert.equal(stackRole("prod-edge"), "edge");
    assert.equal(stackRole("home"), "home");
    assert.equal(stackRole("lab-home"), "home");
  });

  it("refuses any other stack name, saying which names work", () => {
    assert.throws(() => stackRole("staging"), /stack "staging" is neither an edge nor a home stack: name it "edge" or "<name>-edge"/);
    assert.throws(() => stackRole("edgehome"), /neither an edge nor a home stack/);
  });

  it("index.ts builds the edge graph for an edge stack and exports its contract", async () => {
    const run = await runIndex("prod-edge");
    assert.ok(run.resources.some((r) => r.type === "hcloud:index/server:Server"));
    assert.equal(run.outputs.edgeHostname.value, "edge.example.com");
  });

  it("index.ts fails for an unknown stack before registering anything but the stack itself", async () => {
    await assert.rejects(runIndex("staging"), /neither an edge nor a home stack/);
  });
});
