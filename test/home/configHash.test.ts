import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { configHash } from "../../components/home/configHash";
import { runProgram } from "../support/offline";

/** The hashes of several file sets, resolved in one offline run. */
async function hashes(sets: pulumi.Input<string>[][]): Promise<{ value: string; secret: boolean }[]> {
  const run = await runProgram(() => ({ outputs: Object.fromEntries(sets.map((files, i) => [`h${i}`, configHash(files)])), artifacts: {} }));
  return sets.map((_, i) => run.outputs[`h${i}`] as { value: string; secret: boolean });
}

describe("config hash", () => {
  it("is 16 hex digits, stable for the same files, and changes when any file does", async () => {
    const [same, again, changedSecond, shifted, reordered] = await hashes([["a: 1\n", "b"], ["a: 1\n", "b"], ["a: 1\n", "c"], ["a: 1\nb", ""], ["b", "a: 1\n"]]);
    assert.match(same.value, /^[0-9a-f]{16}$/);
    assert.equal(same.value, again.value);
    assert.notEqual(changedSecond.value, same.value);
    assert.notEqual(shifted.value, same.value, "text moved from one file to the next is a change");
    assert.notEqual(reordered.value, same.value);
  });

  it("is never secret, even over secret files, since it reveals nothing of them", async () => {
    const [hash] = await hashes([[pulumi.secret("PrivateKey = x\n")]]);
    assert.equal(hash.secret, false);
  });
});
