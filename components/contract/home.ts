import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { readStackOutputs, TypedOutputs } from "./stackOutputs";

/** Every output of the home stack. */
export const homeOutputsShape = {
  /** The LAN address Traefik answers on; MagicDNS and LAN DNS point private names at it. */
  gatewayLbIp: z.string(),
  /** https:// URL of every catalog service, by name. */
  serviceUrls: z.record(z.string(), z.string()),
  /** PEM of the internal CA; trust it to reach internal names without warnings. */
  caCertificatePem: z.string(),
  /** The tunnel gateway's address inside the WireGuard tunnel. */
  tunnelGatewayAddress: z.string(),
  /** Headscale's server URL, for `tailscale up --login-server`; absent when the catalog runs no Headscale. */
  headscaleUrl: z.string().optional(),
};

export type HomeStackOutputs = z.infer<z.ZodObject<typeof homeOutputsShape>>;

/** Reads the home stack's outputs, typed and checked. */
export function readHomeOutputs(ref: pulumi.StackReference): TypedOutputs<HomeStackOutputs> {
  return readStackOutputs(ref, homeOutputsShape);
}
