import { parseCidr } from "../contract/cidr";

/** Ports DNATed to one tunnel address. */
export interface RulesetForward {
  /** Which home peer receives them; used in rule comments. */
  peer: string;
  protocol: "tcp" | "udp";
  ports: number[];
  /** The peer's tunnel addresses. */
  to: { ipv4: string; ipv6?: string };
}

/** Everything the edge ruleset depends on. */
export interface EdgeRulesetSpec {
  /** Public interface of the VPS, e.g. "eth0". */
  wan: string;
  /** WireGuard interface, e.g. "wg0". */
  tunnel: string;
  wireguardPort: number;
  ssh: {
    port: number;
    /** Networks allowed to reach SSH; never the whole internet (the config refuses it). */
    adminCidrs: string[];
    /** New connections per source and minute before the source is cut off. */
    newConnectionsPerMinute: number;
    /** Extra connections allowed at once above that rate. */
    burst: number;
  };
  forwards: RulesetForward[];
  /** Networks that never arrive from the internet (the tunnel's and the home LAN's); dropped when the WAN claims them. */
  spoofedSources: string[];
  /** The cloud metadata service, which serves the user-data; only root may reach it. */
  metadataAddress: string;
}

/** Hetzner's metadata service (and every major cloud's), which serves the server's user-data to whoever asks. */
export const METADATA_ADDRESS = "169.254.169.254";

const ICMPV4_ACCEPTED = ["echo-request", "echo-reply", "destination-unreachable", "time-exceeded", "parameter-problem"];
// RFC 4890 section 4.4: errors (packet-too-big above all, or path-MTU discovery breaks) and echo.
const ICMPV6_ACCEPTED = ["destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem", "echo-request", "echo-reply"];
// Neighbour discovery is only valid with hop limit 255, which proves it came from the link itself.
const ICMPV6_NEIGHBOUR_DISCOVERY = ["nd-router-advert", "nd-neighbor-solicit", "nd-neighbor-advert", "mld-listener-query", "mld-listener-report", "mld2-listener-report"];

const set = (items: (string | number)[]) => (items.length === 1 ? String(items[0]) : `{ ${items.join(", ")} }`);

function byFamily(what: string, cidrs: string[]): { v4: string[]; v6: string[] } {
  const parsed = cidrs.map((text) => parseCidr(text));
  if (parsed.some((c) => !c)) throw new Error(`${what} must be CIDRs: ${cidrs.join(", ")}`);
  return {
    v4: parsed.filter((c) => c!.family === 4).map((c) => c!.text),
    v6: parsed.filter((c) => c!.family === 6).map((c) => c!.text),
  };
}

// One IPv6 host usually holds a whole /64, so the SSH limiter counts per /64, or each address would get its own bucket.
const V6_LIMIT_KEY = "ip6 saddr and ffff:ffff:ffff:ffff::";

/**
 * Renders the VPS ruleset. `flush ruleset` first makes `nft -f` a single atomic replacement.
 * Forwarded flows are DNATed into the tunnel and never masqueraded, so home sees the real client address.
 */
export function renderEdgeRuleset(spec: EdgeRulesetSpec): string {
  const admin = byFamily("admin CIDRs", spec.ssh.adminCidrs);
  const spoofed = byFamily("spoofed sources", spec.spoofedSources);
  const limit = `limit rate over ${spec.ssh.newConnectionsPerMinute}/minute burst ${spec.ssh.burst} packets`;
  const sshRules: string[] = [];
  const sets: string[] = [];
  for (const [family, match, limitKey, cidrs, type] of [
    ["v4", "ip saddr", "ip saddr", admin.v4, "ipv4_addr"],
    ["v6", "ip6 saddr", V6_LIMIT_KEY, admin.v6, "ipv6_addr"],
  ] as const) {
    if (cidrs.length === 0) continue;
    sets.push(
      `  set ssh_admin_${family} {`,
      `    type ${type}`,
      "    flags interval",
      `    elements = { ${cidrs.join(", ")} }`,
      "  }",
      `  set ssh_flood_${family} {`,
      `    type ${type}`,
      "    flags dynamic, timeout",
      "    timeout 5m",
      "  }",
      "",
    );
    sshRules.push(
      `    tcp dport ${spec.ssh.port} ${match} @ssh_admin_${family} ct state new add @ssh_flood_${family} { ${limitKey} ${limit} } counter drop comment "ssh rate limit"`,
      `    tcp dport ${spec.ssh.port} ${match} @ssh_admin_${family} accept comment "ssh from admin networks"`,
    );
  }

  const dnat: string[] = [];
  for (const forward of spec.forwards) {
    const ports = set(forward.ports);
    dnat.push(`    iifname "${spec.wan}" meta nfproto ipv4 ${forward.protocol} dport ${ports} dnat ip to ${forward.to.ipv4} comment "to ${forward.peer}"`);
    if (forward.to.ipv6) {
      dnat.push(`    iifname "${spec.wan}" meta nfproto ipv6 ${forward.protocol} dport ${ports} dnat ip6 to ${forward.to.ipv6} comment "to ${forward.peer}"`);
    }
  }

  return [
    "#!/usr/sbin/nft -f",
    "# Rendered by the homelab edge stack; edits here are overwritten on the next update.",
    "flush ruleset",
    "",
    "table inet edge {",
    ...sets,
    "  chain antispoof {",
    "    type filter hook prerouting priority raw; policy accept;",
    // DHCP replies and router advertisements arrive before the routes the reverse-path check needs exist.
    `    iifname "${spec.wan}" udp sport { 67, 547 } udp dport { 68, 546 } accept comment "dhcp replies"`,
    `    iifname "${spec.wan}" meta l4proto icmpv6 ip6 hoplimit 255 accept comment "neighbour discovery"`,
    `    iifname "${spec.wan}" fib saddr . iif oif missing counter drop comment "reverse path: the source does not route back out the WAN"`,
    `    iifname "${spec.wan}" ip saddr { 127.0.0.0/8${spoofed.v4.map((c) => `, ${c}`).join("")} } counter drop comment "loopback, tunnel or home LAN source from the internet"`,
    `    iifname "${spec.wan}" ip6 saddr { ::1/128${spoofed.v6.map((c) => `, ${c}`).join("")} } counter drop comment "loopback or tunnel source from the internet"`,
    "  }",
    "",
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    '    iif "lo" accept',
    "    ct state invalid drop",
    "    ct state established,related accept",
    `    meta l4proto icmp icmp type ${set(ICMPV4_ACCEPTED)} accept`,
    `    meta l4proto icmpv6 icmpv6 type ${set(ICMPV6_ACCEPTED)} accept`,
    `    meta l4proto icmpv6 ip6 hoplimit 255 icmpv6 type ${set(ICMPV6_NEIGHBOUR_DISCOVERY)} accept`,
    `    udp dport ${spec.wireguardPort} accept comment "wireguard"`,
    ...sshRules,
    "  }",
    "",
    "  chain forward {",
    "    type filter hook forward priority filter; policy drop;",
    '    tcp flags syn tcp option maxseg size set rt mtu comment "clamp MSS to the tunnel MTU"',
    "    ct state invalid drop",
    "    ct state established,related accept",
    `    iifname "${spec.wan}" oifname "${spec.tunnel}" ct status dnat accept comment "only DNATed service flows enter the tunnel"`,
    "  }",
    "",
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    ...dnat,
    "  }",
    "",
    "  chain output {",
    "    type filter hook output priority filter; policy accept;",
    `    ip daddr ${spec.metadataAddress} meta skuid != 0 counter reject comment "the metadata service serves the user-data: root only"`,
    "  }",
    "}",
    "",
  ].join("\n");
}
