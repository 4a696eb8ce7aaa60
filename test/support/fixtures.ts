import { strict as assert } from "node:assert";
import { ConfigError, parseEdgeConfig, parseHomeConfig, PROJECT } from "../../components/config/schema";

/** A complete, valid edge config in the raw form Pulumi hands over: un-namespaced keys, string values. */
export function validEdgeRaw(): Record<string, string> {
  return {
    domain: "example.com",
    acmeEmail: "admin@example.com",
    lanCidr: "192.168.1.0/24",
    tunnelCidr: "10.10.10.0/24",
    tunnelCidrV6: "fd7a:10:10::/64",
    services: JSON.stringify([
      { name: "jellyfin", hostname: "jellyfin.example.com", exposure: "public", port: 8096, image: "docker.io/jellyfin/jellyfin:10.10.7", adminClaimed: true },
      { name: "minecraft", hostname: "mc.example.com", exposure: "public", port: 25565, tcpPorts: [25565], image: "docker.io/itzg/minecraft-server:2025.6.2" },
      { name: "grafana", hostname: "grafana.example.com", exposure: "vpn", port: 3000, image: "docker.io/grafana/grafana:12.1.1", egress: [{ service: "prometheus" }] },
      { name: "prometheus", hostname: "prometheus.example.com", exposure: "vpn", port: 9090, component: "prometheus" },
      { name: "headscale", hostname: "headscale.example.com", exposure: "public", port: 8080, component: "headscale" },
      { name: "headplane", hostname: "headplane.example.com", exposure: "vpn", port: 3000, component: "headplane" },
    ]),
    adminCidrs: JSON.stringify(["198.51.100.0/24", "2001:db8:5::/48"]),
    sshPort: "22022",
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPNKMnti0uPOAhQCxhEgxoWB43J1gMQkKBu5IL6rjxdy operator@laptop",
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----",
    cloudflareZoneId: "023e105f4ecef8ad9ca31a8372d0c353",
  };
}

/** The same, namespaced as the CLI passes it, with the secret keys listed. */
export function edgeStackConfig(overrides: Record<string, string | undefined> = {}): { config: Record<string, string>; secretKeys: string[] } {
  const raw: Record<string, string | undefined> = { ...validEdgeRaw(), ...overrides };
  const config = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined).map(([k, v]) => [`${PROJECT}:${k}`, v as string]));
  return { config, secretKeys: [`${PROJECT}:sshPrivateKey`] };
}

/** A complete, valid home config in raw form. */
export function validHomeRaw(): Record<string, string> {
  const { adminCidrs, sshPort, sshPublicKey, sshPrivateKey, cloudflareZoneId, ...common } = validEdgeRaw();
  void [adminCidrs, sshPort, sshPublicKey, sshPrivateKey, cloudflareZoneId];
  return {
    ...common,
    edgeStack: "edge",
    kubeContext: "homelab",
    k8sServiceHost: "192.168.1.10",
    lbPool: "192.168.1.240/28",
    dhcpRange: "192.168.1.100-192.168.1.199",
    // The catalog runs Headplane, which no release supports beside the default Headscale (0.29): a supported one.
    headscaleImage: "docker.io/headscale/headscale:v0.28.0",
  };
}

/** The ConfigError message a config raises; fails the test when the config is accepted. */
function refusal(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err.message;
  }
  assert.fail("the config was accepted");
}

/** Why the fixture edge config, some keys changed, is refused. */
export const edgeRefusal = (overrides: Record<string, string>) => refusal(() => parseEdgeConfig({ ...validEdgeRaw(), ...overrides }));
/** Why the fixture home config, some keys changed, is refused. */
export const homeRefusal = (overrides: Record<string, string>) => refusal(() => parseHomeConfig({ ...validHomeRaw(), ...overrides }));

/** The benchmark's catalog: n apps spread over the three exposures, beside Headscale (which DERP needs). */
export function benchCatalog(n: number): string {
  const exposures = ["public", "vpn", "lan"];
  return JSON.stringify([
    { name: "headscale", hostname: "headscale.example.com", exposure: "public", port: 8080, component: "headscale" },
    ...Array.from({ length: n }, (_, i) => ({ name: `app${i}`, hostname: `app${i}.example.com`, exposure: exposures[i % 3], port: 8080, image: "ghcr.io/example/app:1.0.0" })),
  ]);
}
