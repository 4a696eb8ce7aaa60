import { ENTRYPOINTS, EntrypointName, LB_ADDRESS_ANNOTATION } from "../contract/policyNames";

export { ENTRYPOINTS };
export type { EntrypointName };

/** Entrypoints a route binds, by exposure: only public routes are reachable through the edge. */
export const LAN_ENTRYPOINTS: EntrypointName[] = ["websecure"];
export const TUNNEL_ENTRYPOINTS: EntrypointName[] = ["tunnelwebsecure"];
/** The entrypoints a route that names none attaches to: the LAN pair only, never one the tunnel feeds. */
export const DEFAULT_ENTRYPOINTS: EntrypointName[] = ["web", "websecure"];

/** Name of the chart's additional ClusterIP Service that carries the tunnel entrypoints; the chart prefixes it. */
export const TUNNEL_SERVICE_SUFFIX = "tunnel";
/** The Secret holding the wildcard certificate in Traefik's namespace (reflected there). */
export const WILDCARD_SECRET = "wildcard-tls";
/** The Secret holding the internal CA's certificate for private names deeper than the wildcard, in Traefik's namespace. */
export const INTERNAL_SECRET = "internal-tls";

export interface TraefikValuesSpec {
  /** Exact chart version; the layout of the entrypoint settings follows it. */
  version: string;
  /** Fixed LoadBalancer address, from the Cilium pool. */
  address: string;
  /** Where PROXY headers may come from: the pod network, where the tunnel gateway lives. */
  podCidr: string;
  gatewayApi: boolean;
  /** Whether the internal CA's certificate exists (some private name is deeper than the wildcard); off when absent. */
  internalCertificate?: boolean;
}

// Since chart v34 `to` names an entrypoint, and the chart writes `:<its exposedPort>`. Both plain entrypoints send
// clients to 443: LAN clients reach websecure there, edge clients the VPS, which forwards 443 to tunnelwebsecure.
// websecure is the entrypoint whose exposedPort is that 443 (tunnelwebsecure's is the in-cluster 8444).
const toHttps = { entryPoint: { to: "websecure" satisfies EntrypointName, scheme: "https", permanent: true } };

/**
 * Where the chart reads an entrypoint's HTTP settings: `ports.<name>.redirections`/`.tls` up to chart 38,
 * `ports.<name>.http.redirections`/`.http.tls` from 39 (values.schema.json refuses the old keys there). Before 34
 * `redirections` did not exist (it was `redirectTo`).
 */
function httpSettings(version: string): (settings: Record<string, unknown>) => Record<string, unknown> {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (!(major >= 34)) throw new Error(`homelab:traefikVersion "${version}": the Traefik values are written for chart 34 or later`);
  return major >= 39 ? (settings) => ({ http: settings }) : (settings) => settings;
}

/**
 * Helm values for Traefik. The LAN entrypoints accept no PROXY header: anyone on the LAN could forge one. The tunnel
 * entrypoints trust PROXY v2 from the pod network only, are exposed on no Service but the internal one, and are no
 * default: a route that names no entrypoint lands on the LAN pair. The Ingress provider is off, so an Ingress (which
 * cannot name entrypoints but by annotation) is never served; catalog routes are IngressRoutes.
 */
export function renderTraefikValues(spec: TraefikValuesSpec): Record<string, unknown> {
  const http = httpSettings(spec.version);
  const trustProxy = { proxyProtocol: { trustedIPs: [spec.podCidr] } };
  const asDefault = (name: EntrypointName) => (DEFAULT_ENTRYPOINTS.includes(name) ? { asDefault: true } : {});
  return {
    ports: {
      web: { ...ENTRYPOINTS.web, ...asDefault("web"), expose: { default: true }, ...http({ redirections: toHttps }) },
      websecure: { ...ENTRYPOINTS.websecure, ...asDefault("websecure"), expose: { default: true }, ...http({ tls: { enabled: true } }) },
      tunnelweb: { ...ENTRYPOINTS.tunnelweb, protocol: "TCP", expose: { default: false, [TUNNEL_SERVICE_SUFFIX]: true }, ...http({ redirections: toHttps }), ...trustProxy },
      tunnelwebsecure: { ...ENTRYPOINTS.tunnelwebsecure, protocol: "TCP", expose: { default: false, [TUNNEL_SERVICE_SUFFIX]: true }, ...http({ tls: { enabled: true } }), ...trustProxy },
    },
    service: {
      type: "LoadBalancer",
      annotations: { [LB_ADDRESS_ANNOTATION]: spec.address },
      // Local has silently stopped L2 announcements on some Cilium releases; Cluster keeps the address answering.
      spec: { externalTrafficPolicy: "Cluster" },
      additionalServices: { [TUNNEL_SERVICE_SUFFIX]: { type: "ClusterIP" } },
    },
    // Routes carry `tls: {}`, so Traefik picks a certificate by SNI from this store: the internal one where its names
    // match, the wildcard for everything else.
    tlsStore: {
      default: {
        defaultCertificate: { secretName: WILDCARD_SECRET },
        ...(spec.internalCertificate ? { certificates: [{ secretName: INTERNAL_SECRET }] } : {}),
      },
    },
    ingressRoute: { dashboard: { enabled: false } },
    // No IngressClass either: with the provider off it would only tell other tools that Traefik serves Ingresses.
    ingressClass: { enabled: false },
    providers: { kubernetesCRD: { allowCrossNamespace: false }, kubernetesIngress: { enabled: false }, kubernetesGateway: { enabled: spec.gatewayApi } },
    podSecurityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
  };
}
