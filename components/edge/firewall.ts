import { PortForward } from "../network/tunnelPlan";

/** One inbound rule of the hcloud Firewall. */
export interface FirewallRule {
  direction: "in";
  protocol: "tcp" | "udp" | "icmp";
  /** A port or "from-to"; absent for ICMP. */
  port?: string;
  sourceIps: string[];
  description: string;
}

export interface FirewallSpec {
  /** The same forwards the nftables ruleset DNATs. */
  forwards: PortForward[];
  wireguardPort: number;
  ssh: { port: number; adminCidrs: string[] };
}

export const ANYWHERE = ["0.0.0.0/0", "::/0"];

/**
 * The hcloud Firewall in front of the VPS: the forwarded ports, WireGuard and ICMP (path-MTU discovery needs it) from
 * anywhere, SSH only from the admin networks. It repeats nftables' decisions one hop earlier, from the same list.
 */
export function firewallRules(spec: FirewallSpec): FirewallRule[] {
  const rules: FirewallRule[] = spec.forwards.flatMap((forward) =>
    forward.ports.map((port) => ({
      direction: "in" as const,
      protocol: forward.protocol,
      port: String(port),
      sourceIps: ANYWHERE,
      description: `${forward.protocol}/${port} to ${forward.peer}`,
    })),
  );
  rules.push(
    { direction: "in", protocol: "udp", port: String(spec.wireguardPort), sourceIps: ANYWHERE, description: "wireguard" },
    { direction: "in", protocol: "icmp", sourceIps: ANYWHERE, description: "icmp and icmpv6" },
    { direction: "in", protocol: "tcp", port: String(spec.ssh.port), sourceIps: spec.ssh.adminCidrs, description: "ssh from admin networks" },
  );
  return rules;
}
