import * as pulumi from "@pulumi/pulumi";
import { loadHomeConfig } from "../config/load";
import { readEdgeOutputs } from "../contract/edge";
import { StackBuild } from "../stackBuild";

/**
 * Builds the home graph. It reads the edge stack's contract through one StackReference and never writes back;
 * the cluster networking (Cilium, Traefik, cert-manager, the tunnel gateway) builds on these values.
 */
export function buildHomeStack(): StackBuild {
  const config = loadHomeConfig();
  const edge = readEdgeOutputs(new pulumi.StackReference("edge", { name: config.edgeStack }));
  const gatewayAddress = edge.wireguard.apply((w) => {
    const gateway = w.peers.gateway;
    if (!gateway) throw new Error(`edge stack "${config.edgeStack}" has no "gateway" peer`);
    return gateway.address.ipv4;
  });
  return {
    outputs: { edgeHostname: edge.edgeHostname, tunnelGatewayAddress: gatewayAddress },
    artifacts: {},
  };
}
