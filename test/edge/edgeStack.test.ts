import { strict as assert } from "node:assert";
import { EDGE_SECRET_OUTPUTS, edgeOutputsShape } from "../../components/contract/edge";
import { SSH_RATE } from "../../components/edge/edgeStack";
import { runEdge } from "../support/offline";

describe("edge stack", () => {
  it("exports every key of the contract, the secret ones as secrets", async () => {
    const run = await runEdge();
    assert.deepEqual(Object.keys(run.outputs).sort(), Object.keys(edgeOutputsShape).sort());
    for (const key of Object.keys(run.outputs)) assert.equal(run.outputs[key].secret, (EDGE_SECRET_OUTPUTS as readonly string[]).includes(key), key);
  });

  it("leaves publicIpv6 out while IPv6 is off, rather than exporting null", async () => {
    const run = await runEdge({ ipv6: "false" });
    assert.ok(!("publicIpv6" in run.outputs));
  });

  it("hands home peers the VPS's fixed IPv4 as their endpoint", async () => {
    const run = await runEdge();
    const wireguard = run.outputs.wireguard.value as { endpoint: string };
    assert.equal(wireguard.endpoint, `${run.outputs.publicIpv4.value}:51820`);
    assert.match(run.artifacts["wg-gateway.conf"], new RegExp(`Endpoint = ${wireguard.endpoint.replace(/\./g, "\\.")}`));
  });

  it("renders the SSH rate limit into the ruleset", async () => {
    const run = await runEdge();
    assert.match(run.artifacts["nftables.conf"], new RegExp(`limit rate over ${SSH_RATE.newConnectionsPerMinute}/minute burst ${SSH_RATE.burst} packets`));
  });
});
