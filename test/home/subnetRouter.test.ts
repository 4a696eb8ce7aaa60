import { strict as assert } from "node:assert";
import { NOT_INTERNET } from "../../components/apps/networkPolicies";
import { routerPolicies } from "../../components/home/subnetRouter";
import { ENTRYPOINTS } from "../../components/home/traefikValues";

describe("SubnetRouter", () => {
  it("closes its namespace by default, then lets the router reach the internet, the LAN it routes, and Traefik's pods", () => {
    const policies = Object.fromEntries(routerPolicies("192.168.1.0/24", "traefik").map((p) => [p.name, p.spec as any]));
    assert.deepEqual(policies["default-deny"].policyTypes, ["Ingress", "Egress"]);
    const egress = policies["subnet-router-egress"].egress;
    assert.deepEqual(egress[0].to, [{ ipBlock: { cidr: "0.0.0.0/0", except: NOT_INTERNET } }], "the internet, not private space");
    assert.deepEqual(egress[1].to, [{ ipBlock: { cidr: "192.168.1.0/24" } }]);
    assert.deepEqual(egress[2].ports.map((p: { port: number }) => p.port), [ENTRYPOINTS.web.port, ENTRYPOINTS.websecure.port]);
    assert.equal(policies["subnet-router-egress"].ingress, undefined, "nothing may open a connection to the router");
  });
});
