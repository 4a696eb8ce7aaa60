import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { runOffline } from "../../tools/offline/engine";
import { runProgram } from "../support/offline";

class Holder extends pulumi.ComponentResource {
  constructor(name: string, build: (parent: pulumi.Resource) => void) {
    super("test:index:Holder", name, {}, {});
    build(this);
    this.registerOutputs({});
  }
}

describe("offline engine", () => {
  it("records parents and the options the mock API hides", async () => {
    const run = await runProgram(() => {
      new Holder("holder", (parent) => {
        const first = new random.RandomBytes("first", { length: 8 }, { parent, retainOnDelete: true, ignoreChanges: ["length"] });
        new random.RandomBytes("second", { length: 8 }, { parent, dependsOn: [first], deleteBeforeReplace: true, additionalSecretOutputs: ["hex"] });
      });
      return { outputs: {}, artifacts: {} };
    });
    const holder = run.resources.find((r) => r.name === "holder")!;
    const first = run.resources.find((r) => r.name === "first")!;
    const second = run.resources.find((r) => r.name === "second")!;
    assert.equal(first.parent, holder.urn);
    assert.equal(first.options.retainOnDelete, true);
    assert.deepEqual(first.options.ignoreChanges, ["length"]);
    assert.deepEqual(second.options.dependsOn, [first.urn]);
    assert.equal(second.options.deleteBeforeReplace, true);
    assert.ok(second.options.additionalSecretOutputs.includes("hex"));
    assert.equal(holder.custom, false);
  });

  it("marks an input secret when a secret sits anywhere inside it, and unwraps the value", async () => {
    const run = await runProgram(() => {
      new random.RandomPassword("pw", { length: 16, keepers: { nested: pulumi.secret("hidden"), plain: "shown" } });
      return { outputs: {}, artifacts: {} };
    });
    const pw = run.resources.find((r) => r.name === "pw")!;
    assert.deepEqual(pw.secretInputs, ["keepers"]);
    assert.deepEqual(pw.inputs.keepers, { nested: "hidden", plain: "shown" });
    assert.equal(pw.inputs.length, 16);
  });

  it("reports a secret that reaches a plain input or output", async () => {
    const run = await runProgram(() => {
      const key = new random.RandomBytes("key", { length: 32 });
      new random.RandomPassword("copy", { length: 16, keepers: { leaked: key.base64 } });
      return { outputs: { leakedOutput: key.hex, safeOutput: pulumi.secret(key.hex) }, artifacts: {} };
    });
    assert.deepEqual(run.leaks, [
      'random:index/randomPassword:RandomPassword "copy" input "keepers" carries a secret value in plain text',
      'stack output "leakedOutput" carries a secret value but is not secret',
    ]);
  });

  it("reports a leaf of an object-valued secret config key that reaches a plain input", async () => {
    const config = { "lab:creds": JSON.stringify({ vpn: { key: "leaf-secret-value" } }) };
    const run = await runOffline({
      stack: "test",
      config,
      secretKeys: ["lab:creds"],
      program: () => {
        const creds = JSON.parse(new pulumi.Config("lab").require("creds"));
        new random.RandomPassword("copy", { length: 16, keepers: { leaked: creds.vpn.key } });
        new random.RandomPassword("kept", { length: 16, keepers: { safe: pulumi.secret(creds.vpn.key) } });
        return { outputs: {}, artifacts: {} };
      },
    });
    assert.deepEqual(run.leaks, ['random:index/randomPassword:RandomPassword "copy" input "keepers" carries a secret value in plain text']);
  });

  it("gives deterministic fakes, so two runs record the same values", async () => {
    const program = () => {
      const key = new random.RandomBytes("key", { length: 32 });
      return { outputs: { key: pulumi.secret(key.base64) }, artifacts: {} };
    };
    const [a, b] = [await runProgram(program), await runProgram(program)];
    assert.equal(a.outputs.key.value, b.outputs.key.value);
    assert.equal(Buffer.from(String(a.outputs.key.value), "base64").length, 32);
  });

  it("fails the run when an input's apply throws, as the CLI fails the update", async () => {
    await assert.rejects(
      runProgram(() => {
        new random.RandomPassword("p", { length: 8, keepers: { x: pulumi.output("a").apply((): string => { throw new Error("boom in apply"); }) } });
        return { outputs: {}, artifacts: {} };
      }),
      /boom in apply/,
    );
  });

  it("fails clearly on an invoke it cannot answer", async () => {
    await assert.rejects(
      runProgram(() => ({ outputs: { x: pulumi.output(pulumi.runtime.invoke("made:up/fn:fn", {})) }, artifacts: {} })),
      /no answer for invoke made:up\/fn:fn/,
    );
  });
});
