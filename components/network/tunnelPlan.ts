import { hostAddress, parseCidr } from "../contract/cidr";
import { CommonConfig, NetworkPlan, STUN_PORT, WEB_PORTS } from "../config/schema";

/** The home ends of the tunnel: the cluster's tunnel gateway, and Headscale's STUN interface when DERP is on. */
export type HomePeerName = "gateway" | "derp";

/** A tunnel endpoint's addresses. */
export interface TunnelEndpoint {
  /** IPv4 address inside the tunnel /24. */
  ipv4: string;
  /** IPv6 address inside the tunnel ULA /64, when IPv6 is on. */
  ipv6?: string;
}

export interface TunnelPlan {
  vps: TunnelEndpoint;
  peers: { name: HomePeerName; address: TunnelEndpoint }[];
  /** Prefix lengths of the tunnel networks, for interface addresses. */
  prefixV4: number;
  prefixV6: number;
}

/** Host numbers inside the tunnel networks; fixed so every layer agrees without passing addresses around. */
const HOST_NUMBERS: Record<"vps" | HomePeerName, number> = { vps: 1, gateway: 2, derp: 3 };

function endpoint(network: NetworkPlan, role: keyof typeof HOST_NUMBERS): TunnelEndpoint {
  const n = HOST_NUMBERS[role];
  return {
    ipv4: hostAddress(parseCidr(network.tunnelCidr)!, n),
    ipv6: network.tunnelCidrV6 ? hostAddress(parseCidr(network.tunnelCidrV6)!, n) : undefined,
  };
}

/** Works out every tunnel address from the network plan. */
export function planTunnel(network: NetworkPlan): TunnelPlan {
  const names: HomePeerName[] = network.derp ? ["gateway", "derp"] : ["gateway"];
  return {
    vps: endpoint(network, "vps"),
    peers: names.map((name) => ({ name, address: endpoint(network, name) })),
    prefixV4: parseCidr(network.tunnelCidr)!.prefix,
    prefixV6: 64,
  };
}

/** Ports the edge forwards to one home peer. */
export interface PortForward {
  peer: HomePeerName;
  protocol: "tcp" | "udp";
  ports: number[];
}

/**
 * The single source of the forwarded ports: the web ports and every public service's raw TCP ports go to the gateway,
 * STUN to the derp peer. The ruleset and the hcloud Firewall both read this list.
 */
export function edgeForwards(config: Pick<CommonConfig, "services" | "network">): PortForward[] {
  const extraTcp = config.services.filter((s) => s.exposure === "public").flatMap((s) => s.tcpPorts ?? []);
  const forwards: PortForward[] = [{ peer: "gateway", protocol: "tcp", ports: [...WEB_PORTS, ...extraTcp].sort((a, b) => a - b) }];
  if (config.network.derp) forwards.push({ peer: "derp", protocol: "udp", ports: [STUN_PORT] });
  return forwards;
}
