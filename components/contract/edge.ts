import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { readStackOutputs, TypedOutputs } from "./stackOutputs";

const endpoint = z.object({ ipv4: z.string(), ipv6: z.string().optional() });

/** Every output of the edge stack, as the home stack and other projects read it. */
export const edgeOutputsShape = {
  /** The zone every record lives in. */
  domain: z.string(),
  /** Cloudflare zone id. */
  zoneId: z.string(),
  /** DNS-only name of the VPS; every public service is a CNAME to it. */
  edgeHostname: z.string(),
  publicIpv4: z.string(),
  /** Present only while IPv6 is on. */
  publicIpv6: z.string().optional(),
  /** The tunnel as the home side sees it. */
  wireguard: z.object({
    /** host:port the home peers dial. */
    endpoint: z.string(),
    port: z.number().int(),
    mtu: z.number().int(),
    vpsPublicKey: z.string(),
    tunnelCidr: z.string(),
    tunnelCidrV6: z.string().optional(),
    vps: endpoint,
    /** Home peers by name (gateway, and derp while DERP is on). */
    peers: z.record(z.string(), z.object({ publicKey: z.string(), address: endpoint })),
  }),
  /** Secret: each home peer's full wg-quick config, private key included. */
  homePeerConfigs: z.record(z.string(), z.string()),
  /** Secret: Cloudflare token limited to DNS edits in this zone, for cert-manager's DNS-01 solver. */
  acmeDnsToken: z.string(),
};

export type EdgeStackOutputs = z.infer<z.ZodObject<typeof edgeOutputsShape>>;

/** Output keys of the edge stack that are secret. */
export const EDGE_SECRET_OUTPUTS = ["homePeerConfigs", "acmeDnsToken"] as const satisfies readonly (keyof EdgeStackOutputs)[];

/** Reads the edge stack's outputs, typed and checked. */
export function readEdgeOutputs(ref: pulumi.StackReference): TypedOutputs<EdgeStackOutputs> {
  return readStackOutputs(ref, edgeOutputsShape);
}
