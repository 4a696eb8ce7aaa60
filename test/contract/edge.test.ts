import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { readEdgeOutputs } from "../../components/contract/edge";
import { runOffline } from "../../tools/offline/engine";
import { asStackReference } from "../../tools/offline/planStacks";
import { runEdge } from "../support/offline";

async function readWith(outputs: Record<string, unknown>, secretOutputNames: string[] = []) {
  return runOffline({
    stack: "consumer",
    config: {},
    stackReferences: { "org/homelab/edge": { outputs, secretOutputNames } },
    program: () => {
      const edge = readEdgeOutputs(new pulumi.StackReference("edge", { name: "org/homelab/edge" }));
      return { outputs: { ...edge }, artifacts: {} };
    },
  });
}

describe("edge stack contract", () => {
  it("reads every output of a real edge plan, typed, each keeping its own secret flag", async () => {
    const edge = await runEdge();
    const run = await readWith(asStackReference(edge).outputs, asStackReference(edge).secretOutputNames);
    assert.equal(run.outputs.publicIpv4.value, edge.outputs.publicIpv4.value);
    assert.equal(run.outputs.publicIpv4.secret, false);
    assert.equal(run.outputs.homePeerConfigs.secret, true);
    assert.equal(run.outputs.acmeDnsToken.secret, true);
    assert.equal(run.outputs.wireguard.secret, false, "public keys are not tainted by the secret outputs");
    const wireguard = run.outputs.wireguard.value as { peers: Record<string, { address: { ipv4: string } }> };
    assert.equal(wireguard.peers.gateway.address.ipv4, "10.10.10.2");
  });

  it("fails clearly on a missing output", async () => {
    const edge = await runEdge();
    const { acmeDnsToken, ...outputs } = asStackReference(edge).outputs;
    void acmeDnsToken;
    await assert.rejects(readWith(outputs), /stack "org\/homelab\/edge" has no output "acmeDnsToken"/);
  });

  it("fails clearly on a mistyped output, naming the path inside it", async () => {
    const edge = await runEdge();
    const outputs = asStackReference(edge).outputs;
    const wireguard = { ...(outputs.wireguard as object), mtu: "1420" };
    await assert.rejects(readWith({ ...outputs, wireguard }), /stack "org\/homelab\/edge" output "wireguard" has the wrong shape: wireguard\.mtu: .*expected number/);
  });
});
