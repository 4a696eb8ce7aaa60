import { strict as assert } from "node:assert";
import { NetworkPlan } from "../../components/config/schema";
import { planTunnel } from "../../components/network/tunnelPlan";
import { wireguardPublicKey } from "../../components/edge/wireguard";
import { HOME_KEEPALIVE_SECONDS, WireguardTunnel } from "../../components/edge/wireguardTunnel";
import { resourcesOf, runProgram } from "../support/offline";

const network = (overrides: Partial<NetworkPlan> = {}): NetworkPlan => ({
  lanCidr: "192.168.1.0/24",
  tunnelCidr: "10.10.10.0/24",
  tunnelCidrV6: "fd7a:10:10::/64",
  ipv6: true,
  wireguardPort: 51820,
  tunnelMtu: 1380,
  derp: true,
  ...overrides,
});

function runTunnel(plan: NetworkPlan) {
  return runProgram(() => {
    const tunnel = new WireguardTunnel("tunnel", { network: plan, tunnel: planTunnel(plan) });
    const configs = tunnel.homePeerConfigs("203.0.113.5:51820");
    return {
      outputs: { vpsConfig: tunnel.vpsConfig, vpsPublicKey: tunnel.vpsPublicKey, gatewayPublicKey: tunnel.peerPublicKeys.gateway, ...configs },
      artifacts: {},
    };
  });
}

const line = (config: string, key: string) => [...config.matchAll(new RegExp(`^${key} = (.*)$`, "gm"))].map((m) => m[1]);

describe("WireguardTunnel component", () => {
  it("makes one 32-byte random key per endpoint", async () => {
    const run = await runTunnel(network());
    const keys = resourcesOf(run, "random:index/randomBytes:RandomBytes");
    assert.deepEqual(keys.map((k) => k.name).sort(), ["tunnel-derp-key", "tunnel-gateway-key", "tunnel-vps-key"]);
    assert.ok(keys.every((k) => k.inputs.length === 32));
    const withoutDerp = await runTunnel(network({ derp: false }));
    assert.equal(resourcesOf(withoutDerp, "random:index/randomBytes:RandomBytes").length, 2);
    assert.equal(withoutDerp.outputs.derp, undefined);
  });

  it("keeps private keys and configs secret, and public keys plain", async () => {
    const run = await runTunnel(network());
    for (const key of ["vpsConfig", "gateway", "derp"]) assert.equal(run.outputs[key].secret, true, key);
    for (const key of ["vpsPublicKey", "gatewayPublicKey"]) assert.equal(run.outputs[key].secret, false, key);
    assert.deepEqual(run.leaks, []);
  });

  it("gives the VPS each peer's tunnel addresses only, and no keepalive", async () => {
    const run = await runTunnel(network());
    const vps = String(run.outputs.vpsConfig.value);
    assert.deepEqual(line(vps, "Address"), ["10.10.10.1/24, fd7a:10:10::1/64"]);
    assert.deepEqual(line(vps, "ListenPort"), ["51820"]);
    assert.deepEqual(line(vps, "MTU"), ["1380"]);
    assert.deepEqual(line(vps, "AllowedIPs"), ["10.10.10.2/32, fd7a:10:10::2/128", "10.10.10.3/32, fd7a:10:10::3/128"]);
    assert.deepEqual(line(vps, "PersistentKeepalive"), []);
    assert.equal(line(vps, "PublicKey")[0], run.outputs.gatewayPublicKey.value);
  });

  it("lets a home peer accept any client and route its answers back through the tunnel", async () => {
    const run = await runTunnel(network());
    const gateway = String(run.outputs.gateway.value);
    assert.deepEqual(line(gateway, "Address"), ["10.10.10.2/24, fd7a:10:10::2/64"]);
    assert.deepEqual(line(gateway, "AllowedIPs"), ["0.0.0.0/0, ::/0"]);
    assert.deepEqual(line(gateway, "Table"), ["off"]);
    assert.deepEqual(line(gateway, "Endpoint"), ["203.0.113.5:51820"]);
    assert.deepEqual(line(gateway, "PersistentKeepalive"), [String(HOME_KEEPALIVE_SECONDS)]);
    assert.deepEqual(line(gateway, "MTU"), ["1380"]);
    assert.ok(line(gateway, "PostUp").includes("ip -4 rule add from 10.10.10.2 lookup 51820 priority 1000"));
    assert.equal(line(gateway, "PublicKey")[0], run.outputs.vpsPublicKey.value);
    assert.equal(wireguardPublicKey(line(gateway, "PrivateKey")[0]), run.outputs.gatewayPublicKey.value);
  });

  it("carries IPv4 only when IPv6 is off", async () => {
    const run = await runTunnel(network({ ipv6: false, tunnelCidrV6: undefined }));
    const gateway = String(run.outputs.gateway.value);
    assert.deepEqual(line(gateway, "Address"), ["10.10.10.2/24"]);
    assert.deepEqual(line(gateway, "AllowedIPs"), ["0.0.0.0/0"]);
    assert.doesNotMatch(gateway, /ip -6/);
  });
});
