import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { WAIVER_RULES } from "../../components/apps/gluetun";
import { TUNNEL_SETUP_WAIVERS, tunnelEndpointEgress, tunnelSetupContainer, tunnelSetupExemptions } from "../../components/home/tunnelSetup";
import { exemptionAnnotation } from "../../components/contract/policyNames";

describe("tunnel setup (the wg-quick init container of the gateway and of Headscale)", () => {
  it("adds NET_ADMIN and nothing else, runs wg-quick on the mounted config, and is sized", () => {
    const container = tunnelSetupContainer("lscr.io/linuxserver/wireguard:1.0.20250521", "derp-wireguard") as any;
    assert.deepEqual(container.command, ["wg-quick", "up", "/etc/wireguard/wg0.conf"]);
    assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.volumeMounts, [{ name: "derp-wireguard", mountPath: "/etc/wireguard", readOnly: true }]);
    assert.ok(container.resources.limits.memory);
  });

  it("exempts the workload from exactly the policy rules its namespace's waivers name", () => {
    const waived = TUNNEL_SETUP_WAIVERS.flatMap((w) => WAIVER_RULES[w.rule]).map(exemptionAnnotation).sort();
    assert.deepEqual(Object.keys(tunnelSetupExemptions("haproxy")).sort(), waived);
    assert.ok(Object.values(tunnelSetupExemptions("haproxy")).every((reason) => reason.length > 20), "every exemption says why");
  });

  it("lets the pod out only to the VPS's WireGuard port", async () => {
    const rule = tunnelEndpointEgress({ address: "203.0.113.10", port: 51820 }) as any;
    assert.deepEqual(rule.ports, [{ protocol: "UDP", port: 51820 }]);
    const cidr = await new Promise((resolve) => pulumi.output(rule.to[0].ipBlock.cidr).apply(resolve));
    assert.equal(cidr, "203.0.113.10/32");
  });
});
