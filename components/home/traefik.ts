import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { podSecurityLabels } from "./podSecurity";
import { ENTRYPOINTS, renderTraefikValues, TraefikValuesSpec, TUNNEL_SERVICE_SUFFIX } from "./traefikValues";

export interface TraefikArgs extends TraefikValuesSpec {
  /** The namespace of the tunnel gateway, the only one admitted to the tunnel entrypoints. */
  tunnelNamespace: string;
}

export const TRAEFIK_NAMESPACE = "traefik";
const RELEASE = "traefik";

/** Traefik: LAN entrypoints on a fixed LoadBalancer address, tunnel entrypoints reachable only from the gateway. */
export class Traefik extends pulumi.ComponentResource {
  readonly namespace: string = TRAEFIK_NAMESPACE;
  /** Cluster DNS name of the Service that carries the tunnel entrypoints; HAProxy targets it. */
  readonly tunnelServiceHost = `${RELEASE}-${TUNNEL_SERVICE_SUFFIX}.${TRAEFIK_NAMESPACE}.svc.cluster.local`;
  readonly chart: k8s.helm.v4.Chart;

  constructor(name: string, args: TraefikArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:Traefik", name, {}, opts);
    const namespace = new k8s.core.v1.Namespace(
      name,
      { metadata: { name: TRAEFIK_NAMESPACE, labels: podSecurityLabels("restricted") } },
      { parent: this },
    );
    this.chart = new k8s.helm.v4.Chart(
      name,
      {
        name: RELEASE,
        chart: "traefik",
        repositoryOpts: { repo: "https://traefik.github.io/charts" },
        version: args.version,
        namespace: TRAEFIK_NAMESPACE,
        values: renderTraefikValues(args),
      },
      { parent: this, dependsOn: [namespace] },
    );
    const port = (p: number) => ({ protocol: "TCP", port: p });
    new k8s.networking.v1.NetworkPolicy(
      `${name}-entrypoints`,
      {
        metadata: { name: "traefik-entrypoints", namespace: TRAEFIK_NAMESPACE },
        spec: {
          podSelector: { matchLabels: { "app.kubernetes.io/name": "traefik" } },
          policyTypes: ["Ingress"],
          ingress: [
            // The LAN entrypoints take anyone; the source is hidden by the LB path anyway.
            { ports: [port(ENTRYPOINTS.web.port), port(ENTRYPOINTS.websecure.port)] },
            // The tunnel entrypoints trust PROXY headers, so only the gateway may speak to them.
            {
              from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.tunnelNamespace } } }],
              ports: [port(ENTRYPOINTS.tunnelweb.port), port(ENTRYPOINTS.tunnelwebsecure.port)],
            },
          ],
        },
      },
      { parent: this, dependsOn: [namespace] },
    );
    this.registerOutputs({ namespace: this.namespace, tunnelServiceHost: this.tunnelServiceHost });
  }
}
