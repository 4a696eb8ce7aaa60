import { createPrivateKey, createPublicKey } from "node:crypto";

/** PKCS#8 header of an X25519 private key; the 32 raw key bytes follow it. */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** Derives a WireGuard public key from a base64 private key: the same X25519 function `wg pubkey` computes. */
export function wireguardPublicKey(privateKeyBase64: string): string {
  const raw = Buffer.from(privateKeyBase64, "base64");
  if (raw.length !== 32) throw new Error(`a WireGuard private key is 32 bytes, got ${raw.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - 32).toString("base64");
}

/** Routing table that carries a home peer's replies back into the tunnel. */
export const TUNNEL_ROUTING_TABLE = 51820;
/**
 * Priority of the rule that selects it. It must come before the main table's rule (32766): a pod's main table has a
 * default route of its own, and replies that reach it leave from the wrong address.
 */
export const TUNNEL_RULE_PRIORITY = 1000;

/** A home peer's own addresses, whose replies must leave through the tunnel. */
export interface PolicyRoutingSpec {
  /** Interface name, or wg-quick's "%i". */
  device: string;
  ipv4: string;
  ipv6?: string;
  table: number;
  /** Rule priority; below 32766 so it wins over the main table. */
  priority: number;
  /**
   * UDP source ports whose packets also take the tunnel, whatever their source address: a socket bound to the
   * wildcard (STUN on [::]:3478) has no source address when its reply is routed, so only the port can select it.
   */
  udpSourcePorts?: number[];
}

/**
 * Replies from a tunnel address go back through the tunnel: the home peer accepts traffic from any client
 * (AllowedIPs 0.0.0.0/0 with Table = off), so without these rules its answers would leave by the default route,
 * from the wrong address.
 */
export function renderPolicyRouting(spec: PolicyRoutingSpec): { up: string[]; down: string[] } {
  const target = `lookup ${spec.table} priority ${spec.priority}`;
  const families: { ip: string; address: string }[] = [{ ip: "ip -4", address: spec.ipv4 }];
  if (spec.ipv6) families.push({ ip: "ip -6", address: spec.ipv6 });
  const selectors = (address: string) => [`from ${address}`, ...(spec.udpSourcePorts ?? []).map((port) => `ipproto udp sport ${port}`)];
  return {
    // Idempotent: a restarted init container finds the pod's namespace, and its rules, as the last attempt left them.
    up: families.flatMap(({ ip, address }) => [
      `${ip} route replace default dev ${spec.device} table ${spec.table}`,
      ...selectors(address).flatMap((selector) => [`${ip} rule del ${selector} ${target} 2>/dev/null || true`, `${ip} rule add ${selector} ${target}`]),
    ]),
    down: families.flatMap(({ ip, address }) => selectors(address).map((selector) => `${ip} rule del ${selector} ${target}`)),
  };
}

/** One [Peer] section. */
export interface WireguardPeerSpec {
  /** Shown as a comment, so `wg showconf` output can be matched to the catalog. */
  name: string;
  publicKey: string;
  allowedIps: string[];
  endpoint?: string;
  persistentKeepalive?: number;
}

/** A wg-quick config: the [Interface] plus its peers. */
export interface WireguardConfigSpec {
  privateKey: string;
  /** Interface addresses with prefix, e.g. "10.10.10.1/24". */
  addresses: string[];
  listenPort?: number;
  mtu: number;
  /** "off" keeps wg-quick from installing routes for AllowedIPs. */
  table?: "off";
  postUp?: string[];
  preDown?: string[];
  peers: WireguardPeerSpec[];
}

/** Renders a wg-quick config file. */
export function renderWireguardConfig(spec: WireguardConfigSpec): string {
  const lines = ["[Interface]", `PrivateKey = ${spec.privateKey}`, `Address = ${spec.addresses.join(", ")}`];
  if (spec.listenPort !== undefined) lines.push(`ListenPort = ${spec.listenPort}`);
  lines.push(`MTU = ${spec.mtu}`);
  if (spec.table) lines.push(`Table = ${spec.table}`);
  for (const command of spec.postUp ?? []) lines.push(`PostUp = ${command}`);
  for (const command of spec.preDown ?? []) lines.push(`PreDown = ${command}`);
  for (const peer of spec.peers) {
    lines.push("", `# ${peer.name}`, "[Peer]", `PublicKey = ${peer.publicKey}`, `AllowedIPs = ${peer.allowedIps.join(", ")}`);
    if (peer.endpoint) lines.push(`Endpoint = ${peer.endpoint}`);
    if (peer.persistentKeepalive) lines.push(`PersistentKeepalive = ${peer.persistentKeepalive}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A wg-quick config without its PrivateKey line. wg-quick brings such an interface up keyless: it listens and holds
 * its peers, but completes no handshake until `wg syncconf` (or setconf) gives it a key.
 */
export function withoutPrivateKey(config: string): string {
  return config.replace(/^PrivateKey\s*=.*\n/gm, "");
}

/** Formats host:port, bracketing IPv6 literals as WireGuard's Endpoint requires. */
export function endpointAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The peers' AllowedIPs of a wg-quick config, without the host prefix length: the addresses the tunnel reaches. */
export function peerAddresses(config: string): string[] {
  return [...config.matchAll(/^AllowedIPs\s*=\s*(.+)$/gm)].flatMap((m) => m[1].split(",").map((ip) => ip.trim().replace(/\/(32|128)$/, "")));
}
