import { Cidr, familiesCovered, parseCidr } from "../components/contract/cidr";
import { VPS_COMPONENT, VPS_FILE_OUTPUTS, WIDEST_ADMIN_PREFIX } from "../components/contract/policyNames";
import { ANYWHERE, portCovers, resourceRule, stackRule, TYPES } from "./support";

interface FirewallRule {
  direction?: string;
  protocol?: string;
  port?: string;
  sourceIps?: string[];
}

const rulesOf = (props: Record<string, unknown>) => (props.rules ?? []) as FirewallRule[];
const fromAnywhere = (rule: FirewallRule) => (rule.sourceIps ?? []).some((ip) => ANYWHERE.includes(ip));

type StackResource = { type: string; name: string; urn: string; props: Record<string, unknown> };

/** The edge components of a stack, with the files they export: what is pushed to the server, not its frozen userData. */
function edgeFiles(resources: StackResource[]) {
  return resources
    .filter((r) => r.type === VPS_COMPONENT)
    .map((vps) => ({
      vps,
      ruleset: typeof vps.props[VPS_FILE_OUTPUTS.ruleset] === "string" ? (vps.props[VPS_FILE_OUTPUTS.ruleset] as string) : undefined,
      sshdDropIn: String(vps.props[VPS_FILE_OUTPUTS.sshdDropIn] ?? ""),
      peerAddresses: new Set((vps.props[VPS_FILE_OUTPUTS.tunnelPeerAddresses] ?? []) as string[]),
    }));
}

/** The SSH ports a stack's servers listen on, read from the sshd drop-ins their components push; 22 always counts. */
function sshPorts(resources: StackResource[]): number[] {
  const ports = new Set([22]);
  for (const { sshdDropIn } of edgeFiles(resources)) {
    for (const match of sshdDropIn.matchAll(/^Port\s+(\d+)\s*$/gm)) ports.add(Number(match[1]));
  }
  return [...ports].sort((a, b) => a - b);
}

/** Whether SSH may be opened to networks wider than WIDEST_ADMIN_PREFIX (the pack config of homelab:allowWideAdminCidrs). */
export interface NoPublicSshConfig {
  allowWideSources: boolean;
}

/**
 * Sources that open SSH to the internet, or, unless allowed, to much of it. Wide networks allowed still may not cover
 * a whole family between them (0.0.0.0/1 plus 128.0.0.0/1), as the config schema refuses too.
 */
function tooWide(sourceIps: string[], allowWide: boolean): string[] {
  const wide = sourceIps.filter((ip) => {
    if (ANYWHERE.includes(ip)) return true;
    const prefix = Number(/\/(\d+)$/.exec(ip)?.[1] ?? 128);
    return !allowWide && prefix < WIDEST_ADMIN_PREFIX[ip.includes(":") ? 6 : 4];
  });
  const networks = sourceIps.map(parseCidr).filter((c): c is Cidr => c !== undefined && c.prefix > 0);
  const covered = familiesCovered(networks);
  return [...wide, ...networks.filter((c) => covered.includes(c.family) && !wide.includes(c.text)).map((c) => c.text)];
}

export const firewallNoPublicSsh = stackRule({
  id: "edge-firewall-no-public-ssh",
  description: `The hcloud Firewall never opens an SSH port (22, or the port sshd is moved to) to 0.0.0.0/0 or ::/0, nor, unless allowWideSources says so, to a network wider than /${WIDEST_ADMIN_PREFIX[4]} (IPv4) or /${WIDEST_ADMIN_PREFIX[6]} (IPv6).`,
  remediation: "Open the SSH port only to homelab:adminCidrs, narrow ones; use a VPN or a bastion address, never the whole internet or a large part of it.",
  configSchema: { properties: { allowWideSources: { type: "boolean", default: false } } },
  validate: (args, report) => {
    const { allowWideSources } = args.getConfig<NoPublicSshConfig>();
    const ports = sshPorts(args.resources);
    for (const firewall of args.resources.filter((r) => r.type === TYPES.firewall)) {
      for (const rule of rulesOf(firewall.props)) {
        const wide = tooWide(rule.sourceIps ?? [], allowWideSources);
        if (rule.direction !== "in" || rule.protocol !== "tcp" || wide.length === 0) continue;
        const opened = ports.filter((p) => portCovers(rule.port, p));
        if (opened.length) report(`firewall "${firewall.name}" opens SSH port ${opened.join(", ")} to ${wide.join(" and ")}`, firewall.urn);
      }
    }
  },
});

/** Which ports may be open to the whole internet. */
export interface PublicPortsConfig {
  tcp: number[];
  udp: number[];
}

export const firewallAllowedPorts = resourceRule({
  id: "edge-firewall-allowed-ports",
  description: "The hcloud Firewall opens to the internet nothing but the web ports, the catalog's raw TCP ports, WireGuard, STUN and ICMP.",
  remediation: "Remove the rule, or add the port to this policy's config (tcp/udp) when the catalog forwards it on purpose.",
  types: [TYPES.firewall],
  configSchema: {
    properties: {
      tcp: { type: "array", items: { type: "number" }, default: [80, 443] },
      udp: { type: "array", items: { type: "number" }, default: [51820, 3478] },
    },
  },
  validate: (props, args, report) => {
    const allowed = args.getConfig<PublicPortsConfig>();
    for (const rule of rulesOf(props)) {
      if (rule.direction !== "in" || !fromAnywhere(rule) || rule.protocol === "icmp") continue;
      const list = rule.protocol === "tcp" ? allowed.tcp : rule.protocol === "udp" ? allowed.udp : [];
      if (!rule.port || rule.port.includes("-") || !list.includes(Number(rule.port))) {
        report(`opens ${rule.protocol}/${rule.port ?? "all ports"} to the internet; allowed are tcp ${allowed.tcp.join(", ")} and udp ${allowed.udp.join(", ")}`);
      }
    }
  },
});

export const serverHasSshKeys = resourceRule({
  id: "edge-server-ssh-keys",
  description: "Every hcloud Server is created with SSH keys, so Hetzner mails no root password.",
  remediation: "Pass sshKeys to the server (the Vps component does, from homelab:sshPublicKey).",
  types: [TYPES.server],
  validate: (props, _args, report) => {
    if (((props.sshKeys ?? []) as unknown[]).length === 0) report("has no SSH keys");
  },
});

/** What the edge ruleset must say, each with the pattern that says it. */
const RULESET_REQUIREMENTS: [string, RegExp][] = [
  ["input policy drop", /hook input priority [^;]+; policy drop;/],
  ["forward policy drop", /hook forward priority [^;]+; policy drop;/],
  ["the TCP MSS clamp", /tcp flags syn tcp option maxseg size set rt mtu/],
];

export const nftablesRuleset = stackRule({
  id: "edge-nftables-ruleset",
  description: "The VPS's nftables ruleset, as its Vps component pushes it, drops by default on input and forward, clamps the MSS, and never masquerades or SNATs.",
  remediation: "Render the ruleset with renderEdgeRuleset; the home side must see the client's real address, so no NAT but the DNAT.",
  validate: (args, report) => {
    const files = edgeFiles(args.resources);
    // A server whose files no component exports cannot be checked: its userData is only a hash in the state.
    if (files.length === 0 && args.resources.some((r) => r.type === TYPES.server)) report(`an hcloud Server with no ${VPS_COMPONENT} exporting the ruleset it runs`);
    for (const { vps, ruleset } of files) {
      if (ruleset === undefined) {
        report(`${VPS_COMPONENT} "${vps.name}" exports no ${VPS_FILE_OUTPUTS.ruleset}`, vps.urn);
        continue;
      }
      for (const [what, pattern] of RULESET_REQUIREMENTS) if (!pattern.test(ruleset)) report(`the ruleset lacks ${what}`, vps.urn);
      const nat = ruleset.split("\n").filter((line) => /\b(masquerade|snat)\b/.test(line) && !line.trim().startsWith("#"));
      for (const line of nat) report(`the ruleset rewrites source addresses: "${line.trim()}"`, vps.urn);
    }
  },
});

/** DNAT targets read from one ruleset. */
function dnatsOf(ruleset: string) {
  return [...ruleset.matchAll(/(tcp|udp) dport (\{ [^}]+ \}|\d+) dnat ip6? to (\S+)/g)].map((m) => ({
    protocol: m[1],
    ports: m[2].replace(/[{}]/g, "").split(",").map((p) => Number(p.trim())),
    to: m[3],
  }));
}

export const forwardsReachPeers = stackRule({
  id: "edge-forwards-reach-peers",
  description: "Every port the ruleset DNATs goes to a WireGuard peer of the VPS, and is the port the firewall opens for it.",
  remediation: "Derive the ruleset, the WireGuard peers and the firewall from one forwards list (edgeForwards).",
  validate: (args, report) => {
    const opened = new Set(
      args.resources
        .filter((r) => r.type === TYPES.firewall)
        .flatMap((f) => rulesOf(f.props))
        .filter((rule) => rule.direction === "in" && fromAnywhere(rule) && rule.port)
        .map((rule) => `${rule.protocol}/${rule.port}`),
    );
    for (const { vps, ruleset, peerAddresses } of edgeFiles(args.resources)) {
      for (const dnat of dnatsOf(ruleset ?? "")) {
        if (!peerAddresses.has(dnat.to)) report(`server "${vps.name}" forwards ${dnat.protocol} ${dnat.ports.join(", ")} to ${dnat.to}, which is no WireGuard peer's address`, vps.urn);
        for (const port of dnat.ports) {
          if (!opened.has(`${dnat.protocol}/${port}`)) report(`server "${vps.name}" forwards ${dnat.protocol}/${port}, but no firewall opens it`, vps.urn);
        }
      }
    }
  },
});

export const edgePolicies = [firewallNoPublicSsh, firewallAllowedPorts, serverHasSshKeys, nftablesRuleset, forwardsReachPeers];
