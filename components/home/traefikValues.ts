/** Traefik's entrypoints: the LAN pair sits on the LoadBalancer Service, the tunnel pair only on a ClusterIP one. */
export const ENTRYPOINTS = {
  web: { port: 8000, exposedPort: 80 },
  websecure: { port: 8443, exposedPort: 443 },
  tunnelweb: { port: 8081, exposedPort: 8081 },
  tunnelwebsecure: { port: 8444, exposedPort: 8444 },
} as const;
export type EntrypointName = keyof typeof ENTRYPOINTS;

/** Entrypoints a route binds, by exposure: only public routes are reachable through the edge. */
export const LAN_ENTRYPOINTS: EntrypointName[] = ["websecure"];
export const TUNNEL_ENTRYPOINTS: EntrypointName[] = ["tunnelwebsecure"];

/** Name of the chart's additional ClusterIP Service that carries the tunnel entrypoints; the chart prefixes it. */
export const TUNNEL_SERVICE_SUFFIX = "tunnel";
/** The Secret holding the wildcard certificate in Traefik's namespace (reflected there). */
export const WILDCARD_SECRET = "wildcard-tls";

export interface TraefikValuesSpec {
  /** Fixed LoadBalancer address, from the Cilium pool. */
  address: string;
  /** Where PROXY headers may come from: the pod network, where the tunnel gateway lives. */
  podCidr: string;
  gatewayApi: boolean;
}

// Redirect to the port clients use (443), not to the entrypoint's container port.
const toHttps = { entryPoint: { to: ":443", scheme: "https", permanent: true } };

/**
 * Helm values for Traefik. The LAN entrypoints accept no PROXY header: anyone on the LAN could forge one. The tunnel
 * entrypoints trust PROXY v2 from the pod network only, and are exposed on no Service but the internal one.
 */
export function renderTraefikValues(spec: TraefikValuesSpec): Record<string, unknown> {
  const trustProxy = { proxyProtocol: { trustedIPs: [spec.podCidr] } };
  return {
    ports: {
      web: { ...ENTRYPOINTS.web, expose: { default: true }, redirections: toHttps },
      websecure: { ...ENTRYPOINTS.websecure, expose: { default: true }, tls: { enabled: true } },
      tunnelweb: { ...ENTRYPOINTS.tunnelweb, protocol: "TCP", expose: { default: false, [TUNNEL_SERVICE_SUFFIX]: true }, redirections: toHttps, ...trustProxy },
      tunnelwebsecure: { ...ENTRYPOINTS.tunnelwebsecure, protocol: "TCP", expose: { default: false, [TUNNEL_SERVICE_SUFFIX]: true }, tls: { enabled: true }, ...trustProxy },
    },
    service: {
      type: "LoadBalancer",
      annotations: { "lbipam.cilium.io/ips": spec.address },
      // Local has silently stopped L2 announcements on some Cilium releases; Cluster keeps the address answering.
      spec: { externalTrafficPolicy: "Cluster" },
      additionalServices: { [TUNNEL_SERVICE_SUFFIX]: { type: "ClusterIP" } },
    },
    tlsStore: { default: { defaultCertificate: { secretName: WILDCARD_SECRET } } },
    ingressRoute: { dashboard: { enabled: false } },
    providers: { kubernetesCRD: { allowCrossNamespace: false }, kubernetesGateway: { enabled: spec.gatewayApi } },
    podSecurityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
  };
}
