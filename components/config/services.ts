import { z } from "zod";
import { anyCidr, boolean, DNS_LABEL, domain, image, integer, text } from "./values";

// A Secret's name, a DNS label so it is one segment of its appSecrets path; its keys as Kubernetes allows them.
const secretName = () => text().regex(DNS_LABEL, "must be a Secret name: a DNS label (lower-case letters, digits and '-', at most 63 characters)");
const secretKey = () => text().regex(/^[-._a-zA-Z0-9]{1,253}$/, "must be a Secret key: letters, digits, '-', '_' and '.' only");

/** Where a catalog service is reachable from. */
export const EXPOSURES = ["public", "vpn", "lan"] as const;
export type Exposure = (typeof EXPOSURES)[number];

/** Catalog entries run by a component of this program rather than from an image. */
export const COMPONENTS = ["headscale", "headplane", "prometheus"] as const;
export type ServiceComponent = (typeof COMPONENTS)[number];

/** Namespaces the program owns; an app or group may not take one. */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "traefik", "cert-manager", "reflector", "edge-tunnel", "monitoring", "node-exporter", "headscale", "headplane", "tailnet-router"] as const;

/** One catalog entry: an app from an image, or a component of this program. */
export const serviceSchema = z.strictObject({
  /** Kubernetes-style name: a DNS label. */
  name: text().regex(DNS_LABEL, "must be a DNS label: lower-case letters, digits and '-', at most 63 characters"),
  hostname: domain(),
  exposure: z.enum(EXPOSURES, { error: `must be one of ${EXPOSURES.join(", ")}` }),
  /** The port the app listens on inside the cluster. */
  port: integer(1, 65535),
  /** Raw TCP ports forwarded through the edge as-is (public services only), e.g. a game server. */
  tcpPorts: z.array(integer(1, 65535)).optional(),
  /** The app terminates TLS itself, so the wildcard certificate's Secret is reflected into its namespace. */
  terminatesTls: boolean().optional(),
  /** The app calls internal HTTPS names, so the internal CA's certificate (never its key) is reflected to it. */
  trustsInternalCa: boolean().optional(),
  /** Container image, pinned; every entry has either an image or a component. */
  image: image().optional(),
  /** Run by a component of this program instead of an image: headscale, headplane (its web UI), or prometheus (the monitoring stack). */
  component: z.enum(COMPONENTS, { error: `must be one of ${COMPONENTS.join(", ")}` }).optional(),
  /** Namespace shared with the other apps of the same group; the app's own name when unset. */
  group: text().regex(DNS_LABEL, "must be a DNS label: lower-case letters, digits and '-', at most 63 characters").optional(),
  /** Put Traefik's forward-auth middleware (homelab:forwardAuth) in front of the app. */
  forwardAuth: boolean().optional(),
  /** The app's first-run admin account exists, so an app with a setup wizard (config/wizards.ts) may be public. */
  adminClaimed: boolean().optional(),
  /** Plain environment; secrets go in secretEnv, by reference. */
  env: z.record(z.string(), z.string()).optional(),
  /** Environment from Secrets in the app's namespace, which the program fills from homelab:appSecrets: variable → { secret, key }. */
  secretEnv: z.record(z.string(), z.strictObject({ secret: secretName(), key: secretKey() })).optional(),
  /** Persistent volumes; an app with storage runs as a StatefulSet and its claims outlive it. */
  storage: z
    .array(
      z.strictObject({
        name: text().regex(DNS_LABEL, "must be a DNS label"),
        mountPath: text().regex(/^\//, "must be an absolute path"),
        size: text().regex(/^\d+(Mi|Gi|Ti)$/, 'must be a size such as "10Gi"'),
        storageClass: text().optional(),
        accessMode: z.enum(["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]).default("ReadWriteOnce"),
      }),
    )
    .optional(),
  /** Paths the app writes to besides its storage; each gets an emptyDir, the root filesystem stays read-only. */
  writablePaths: z.array(text().regex(/^\//, "must be an absolute path")).optional(),
  /** The non-root user (and group) the app runs as; 1000 when unset. */
  runAsUser: integer(1, 2147483647).optional(),
  /** Resource requests, and the memory limit. */
  resources: z.strictObject({ cpu: text().default("50m"), memory: text().default("128Mi"), memoryLimit: text().default("512Mi") }).optional(),
  /** HTTP path for the probes; without it they open a TCP connection to the port. */
  healthPath: text().regex(/^\//, "must start with /").optional(),
  /** Port Prometheus scrapes, admitted from the monitoring namespace. */
  metricsPort: integer(1, 65535).optional(),
  /** Egress the app needs beyond DNS: "internet", CIDRs or FQDNs with ports, or another catalog service by name. */
  egress: z
    .array(
      z.union([
        z.literal("internet"),
        z.strictObject({ cidr: anyCidr(), ports: z.array(integer(1, 65535)).min(1) }),
        z.strictObject({ fqdn: domain(), ports: z.array(integer(1, 65535)).min(1) }),
        z.strictObject({ service: text() }),
      ]),
    )
    .optional(),
  /** Route all of the app's traffic through a Gluetun VPN sidecar in its pod, with the kill switch on. */
  vpn: z
    .strictObject({
      /** Gluetun's VPN_SERVICE_PROVIDER, e.g. "mullvad", "protonvpn". */
      provider: text(),
      /** WireGuard runs in kernel mode and needs no /dev/net/tun; OpenVPN does, an explicit exemption. */
      type: z.enum(["wireguard", "openvpn"], { error: "must be wireguard or openvpn" }).default("wireguard"),
      region: text().optional(),
      /** Secret in the app's namespace, filled from homelab:appSecrets: wireguard_private_key and wireguard_addresses, or openvpn_user and openvpn_password. */
      credentialsSecret: secretName().optional(),
      portForwarding: boolean().default(false),
      /** Ports the VPN endpoints listen on; the pod may reach nothing else. */
      endpointPorts: z.array(integer(1, 65535)).optional(),
    })
    .optional(),
});
export type ServiceConfig = z.infer<typeof serviceSchema>;
