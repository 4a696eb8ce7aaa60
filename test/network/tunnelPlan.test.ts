import { strict as assert } from "node:assert";
import { NetworkPlan, ServiceConfig } from "../../components/config/schema";
import { firewallRules } from "../../components/edge/firewall";
import { edgeForwards, planTunnel } from "../../components/network/tunnelPlan";

const network: NetworkPlan = { lanCidr: "192.168.1.0/24", tunnelCidr: "10.20.0.0/24", tunnelCidrV6: "fd00:20::/64", ipv6: true, wireguardPort: 51820, tunnelMtu: 1420, derp: true };
const services: ServiceConfig[] = [
  { name: "web", hostname: "web.example.com", exposure: "public", port: 80 },
  { name: "game", hostname: "game.example.com", exposure: "public", port: 7777, tcpPorts: [7777, 27015] },
];

describe("tunnel plan and forwards", () => {
  it("numbers the VPS .1, the gateway .2 and derp .3 in both families", () => {
    const plan = planTunnel(network);
    assert.deepEqual(plan.vps, { ipv4: "10.20.0.1", ipv6: "fd00:20::1" });
    assert.deepEqual(plan.peers, [
      { name: "gateway", address: { ipv4: "10.20.0.2", ipv6: "fd00:20::2" } },
      { name: "derp", address: { ipv4: "10.20.0.3", ipv6: "fd00:20::3" } },
    ]);
    assert.deepEqual(planTunnel({ ...network, derp: false, tunnelCidrV6: undefined }).peers, [{ name: "gateway", address: { ipv4: "10.20.0.2", ipv6: undefined } }]);
  });

  it("derives the forwarded ports once from the catalog", () => {
    assert.deepEqual(edgeForwards({ services, network }), [
      { peer: "gateway", protocol: "tcp", ports: [80, 443, 7777, 27015] },
      { peer: "derp", protocol: "udp", ports: [3478] },
    ]);
    assert.deepEqual(edgeForwards({ services: [], network: { ...network, derp: false } }), [{ peer: "gateway", protocol: "tcp", ports: [80, 443] }]);
  });

  it("turns the same forwards into firewall rules, with SSH from the admin networks only", () => {
    const rules = firewallRules({ forwards: edgeForwards({ services, network }), wireguardPort: 51820, ssh: { port: 22022, adminCidrs: ["198.51.100.0/24"] } });
    assert.deepEqual(rules.filter((r) => r.protocol === "tcp").map((r) => r.port), ["80", "443", "7777", "27015", "22022"]);
    assert.deepEqual(rules.find((r) => r.port === "22022")!.sourceIps, ["198.51.100.0/24"]);
  });
});
