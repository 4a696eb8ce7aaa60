import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { readStackOutputs } from "../../components/contract/stackOutputs";
import { runOffline } from "../../tools/offline/engine";

const shape = { url: z.string(), port: z.number().int(), note: z.string().optional() };

function read(outputs: Record<string, unknown>, secretOutputNames: string[] = []) {
  return runOffline({
    stack: "reader",
    config: {},
    stackReferences: { "org/app/prod": { outputs, secretOutputNames } },
    program: () => ({ outputs: { ...readStackOutputs(new pulumi.StackReference("app", { name: "org/app/prod" }), shape) }, artifacts: {} }),
  });
}

describe("typed StackReference reader", () => {
  it("returns each declared output, optional ones included, with its own secret flag", async () => {
    const run = await read({ url: "https://a.example.com", port: 443 }, ["port"]);
    assert.equal(run.outputs.url.value, "https://a.example.com");
    assert.equal(run.outputs.url.secret, false);
    assert.equal(run.outputs.port.secret, true);
    assert.equal(run.outputs.note.value, undefined);
  });

  it("names the stack, the key and the expected type when an output is missing or mistyped", async () => {
    await assert.rejects(read({ port: 443 }), /stack "org\/app\/prod" has no output "url"/);
    await assert.rejects(read({ url: "x", port: "443" }), /stack "org\/app\/prod" output "port" has the wrong shape: port: .*expected number/);
  });
});
