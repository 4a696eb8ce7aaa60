import { ICiliumNetworkPolicy } from "@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HEADSCALE_NAMESPACE } from "../config/catalog";
import { HeadscaleSettings, ServiceConfig } from "../config/schema";
import { admit, APP_LABEL, fqdnPolicy, namespacePolicies, PolicySpec, registerNetworkPolicies } from "../apps/networkPolicies";
import { registerRoute } from "../apps/route";
import { configHash } from "./configHash";
import { typedCustomResource } from "./customResource";
import { HEADSCALE_METRICS_PORT, HEADSCALE_PATHS, renderHeadscaleConfig, TAILSCALE_DERP_MAP_HOST, renderTailnetPolicy, splitDnsRecords } from "./headscaleConfig";
import { podSecurityLabels, RESTRICTED_CONTAINER, restrictedPod, waiverAnnotations } from "./podSecurity";
import { TUNNEL_SETUP_WAIVERS, tunnelEndpointEgress, tunnelSetupContainer, tunnelSetupExemptions } from "./tunnelSetup";

export interface HeadscaleArgs {
  /** The catalog's headscale entry: its hostname becomes server_url, its port the listen port. */
  entry: ServiceConfig;
  /** The whole catalog: its vpn and lan names become MagicDNS records. */
  catalog: ServiceConfig[];
  settings: HeadscaleSettings;
  lanCidr: string;
  /** Traefik's LAN address, where every private name points. */
  traefikAddress: string;
  /** Namespaces admitted: Traefik's (and Headplane's, when it runs) to the listen port, monitoring's to the metrics port. */
  namespaces: { traefik: string; monitoring: string; headplane?: string };
  /** With DERP on: the edge's `derp` peer config (secret), the VPS's public addresses and its WireGuard endpoint. */
  derp?: {
    wireguardConfig: pulumi.Input<string>;
    publicAddresses: pulumi.Input<{ ipv4: string; ipv6?: string }>;
    endpoint: { address: pulumi.Input<string>; port: number };
    image: string;
  };
}

/** The StatefulSet's one pod: its name is stable, so the bootstrap Job's RBAC can name it. */
export const HEADSCALE_POD = "headscale-0";
/**
 * Headscale's REST API and its docs, on the same listener as the control protocol (v0.29.3 hscontrol/app.go mounts
 * the gRPC gateway under /api/v1 beside /ts2021, /key and /derp); an API key is the only thing guarding them.
 */
export const HEADSCALE_ADMIN_PATHS = ["/api", "/swagger"];
const NONROOT_UID = 65532;
/** The labels Headscale's pods carry, which policies select. */
export const HEADSCALE_LABELS = { [APP_LABEL]: "headscale" };

/**
 * Headscale's openings in its namespace's default deny: Traefik to the listen port, and Headplane (whose API calls
 * stay inside the cluster) when it runs; Prometheus to the metrics port.
 */
export function headscalePolicies(listenPort: number, namespaces: HeadscaleArgs["namespaces"]): PolicySpec[] {
  const podSelector = { matchLabels: HEADSCALE_LABELS };
  return [
    ...namespacePolicies(),
    { name: "headscale-from-traefik", spec: admit(podSelector, [namespaces.traefik], [listenPort]) },
    ...(namespaces.headplane ? [{ name: "headscale-from-headplane", spec: admit(podSelector, [namespaces.headplane], [listenPort]) }] : []),
    { name: "headscale-metrics", spec: admit(podSelector, [namespaces.monitoring], [HEADSCALE_METRICS_PORT]) },
  ];
}

/**
 * Without a DERP server of its own, Headscale fetches Tailscale's DERP map at start, and exits on an empty one: its pod
 * may reach that one host on 443, by name through Cilium's DNS proxy.
 */
export function derpMapEgress(): NonNullable<ICiliumNetworkPolicy["spec"]> {
  const pod = { name: HEADSCALE_LABELS[APP_LABEL], hostname: TAILSCALE_DERP_MAP_HOST, exposure: "public" as const, port: 443 };
  return fqdnPolicy({ ...pod, egress: [{ fqdn: TAILSCALE_DERP_MAP_HOST, ports: [443] }] }) as NonNullable<ICiliumNetworkPolicy["spec"]>;
}

/**
 * The Headscale control server: config and policy from pure renderers, sqlite and keys on a claim that outlives it,
 * published through Traefik's tunnel entrypoints. With DERP on, the pod also carries the edge's `derp` WireGuard peer,
 * brought up by an init container, so STUN on 3478/udp sees clients' real addresses and answers through the tunnel.
 */
export class Headscale extends pulumi.ComponentResource {
  readonly namespace = HEADSCALE_NAMESPACE;
  readonly serverUrl: string;
  /** The Service's in-cluster URL, for clients that should not go through Traefik. */
  readonly internalUrl: string;
  /** The rendered config.yaml and policy.json, for the plan output. */
  readonly config: pulumi.Output<string>;
  readonly policy: string;
  /** The StatefulSet, which the bootstrap Job waits for. */
  readonly server: k8s.apps.v1.StatefulSet;
  /** The Namespace object, for objects other components put in it. */
  readonly namespaceResource: k8s.core.v1.Namespace;

  constructor(name: string, args: HeadscaleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:Headscale", name, {}, opts);
    const { entry, settings } = args;
    this.serverUrl = `https://${entry.hostname}`;
    this.internalUrl = `http://headscale.${HEADSCALE_NAMESPACE}.svc.cluster.local:${entry.port}`;
    const ns = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: HEADSCALE_NAMESPACE,
          labels: podSecurityLabels(args.derp ? "privileged" : "restricted"),
          annotations: waiverAnnotations(args.derp ? TUNNEL_SETUP_WAIVERS : []),
        },
      },
      // It holds the data claim below: deleting the namespace would delete the claim with it.
      { parent: this, retainOnDelete: true },
    );
    this.namespaceResource = ns;
    const inNamespace = { parent: this, dependsOn: [ns] };

    this.config = pulumi.output(args.derp?.publicAddresses).apply((derp) =>
      renderHeadscaleConfig({
        serverUrl: this.serverUrl,
        listenPort: entry.port,
        baseDomain: settings.baseDomain,
        nameservers: settings.nameservers,
        overrideLocalDns: settings.overrideLocalDns,
        splitDns: settings.splitDns,
        extraRecords: splitDnsRecords(args.catalog, args.traefikAddress),
        derp,
      }),
    );
    this.policy = renderTailnetPolicy({ tailnet: settings.tailnet, lanCidr: args.lanCidr, traefikAddress: args.traefikAddress });
    const files = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: { name: "headscale", namespace: HEADSCALE_NAMESPACE }, data: { "config.yaml": this.config, "policy.json": this.policy } }, inNamespace);
    const wireguard = args.derp
      ? new k8s.core.v1.Secret(`${name}-derp-wireguard`, { metadata: { name: "derp-wireguard", namespace: HEADSCALE_NAMESPACE }, type: "Opaque", stringData: { "wg0.conf": pulumi.secret(args.derp.wireguardConfig) } }, inNamespace)
      : undefined;
    const claim = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-data`,
      {
        metadata: { name: "headscale-data", namespace: HEADSCALE_NAMESPACE, labels: HEADSCALE_LABELS },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: settings.storageSize } }, ...(settings.storageClass ? { storageClassName: settings.storageClass } : {}) },
      },
      // The database and the noise key are the tailnet's identity: removing Headscale must not take them.
      { ...inNamespace, retainOnDelete: true },
    );

    // Headscale reads its files once: a changed config or policy restarts the pod. The hash reveals nothing.
    const filesHash = configHash([this.config, this.policy, args.derp?.wireguardConfig ?? ""]);
    const probe = { httpGet: { path: "/health", port: entry.port } };
    this.server = new k8s.apps.v1.StatefulSet(
      name,
      {
        metadata: { name: "headscale", namespace: HEADSCALE_NAMESPACE, labels: HEADSCALE_LABELS, annotations: args.derp ? tunnelSetupExemptions("headscale") : {} },
        spec: {
          replicas: 1,
          serviceName: "headscale",
          selector: { matchLabels: HEADSCALE_LABELS },
          template: {
            metadata: { labels: HEADSCALE_LABELS, annotations: { "homelab.dev/config-hash": filesHash } },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPod(NONROOT_UID),
              initContainers: args.derp ? [tunnelSetupContainer(args.derp.image, "derp-wireguard")] : [],
              containers: [
                {
                  name: "headscale",
                  image: settings.image,
                  args: ["serve"],
                  ports: [
                    { name: "http", containerPort: entry.port },
                    { name: "metrics", containerPort: HEADSCALE_METRICS_PORT },
                    ...(args.derp ? [{ name: "stun", containerPort: 3478, protocol: "UDP" }] : []),
                  ],
                  securityContext: RESTRICTED_CONTAINER,
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                  readinessProbe: { ...probe, periodSeconds: 10 },
                  livenessProbe: { ...probe, periodSeconds: 30, failureThreshold: 3 },
                  volumeMounts: [
                    { name: "config", mountPath: HEADSCALE_PATHS.config, readOnly: true },
                    { name: "data", mountPath: HEADSCALE_PATHS.data },
                    { name: "socket", mountPath: HEADSCALE_PATHS.socketDir },
                  ],
                },
              ],
              volumes: [
                { name: "config", configMap: { name: "headscale" } },
                { name: "data", persistentVolumeClaim: { claimName: "headscale-data" } },
                { name: "socket", emptyDir: {} },
                ...(args.derp ? [{ name: "derp-wireguard", secret: { secretName: "derp-wireguard", defaultMode: 0o400 } }] : []),
              ],
            },
          },
        },
      },
      { parent: this, dependsOn: [ns, files, claim, ...(wireguard ? [wireguard] : [])] },
    );
    new k8s.core.v1.Service(
      name,
      {
        metadata: { name: "headscale", namespace: HEADSCALE_NAMESPACE, labels: HEADSCALE_LABELS },
        spec: { type: "ClusterIP", selector: HEADSCALE_LABELS, ports: [{ name: "http", port: entry.port, targetPort: entry.port }, { name: "metrics", port: HEADSCALE_METRICS_PORT, targetPort: HEADSCALE_METRICS_PORT }] },
      },
      inNamespace,
    );
    // Clients need the control and DERP paths; the REST API (and its docs) answers only on the LAN and the tailnet.
    registerRoute(name, { service: entry, namespace: HEADSCALE_NAMESPACE, backend: { name: "headscale", port: entry.port }, lanOnlyPaths: HEADSCALE_ADMIN_PATHS }, inNamespace);

    // With DERP, WireGuard's UDP to the VPS is the pod's only way out; STUN arrives and leaves inside the tunnel.
    const derpTunnel = args.derp ? [{ name: "derp-tunnel", spec: { podSelector: { matchLabels: HEADSCALE_LABELS }, policyTypes: ["Egress"], egress: [tunnelEndpointEgress(args.derp.endpoint)] } }] : [];
    registerNetworkPolicies(name, HEADSCALE_NAMESPACE, [...headscalePolicies(entry.port, args.namespaces), ...derpTunnel], inNamespace);
    if (!args.derp) {
      typedCustomResource<ICiliumNetworkPolicy>(`${name}-derp-map`, { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: "headscale-derp-map", namespace: HEADSCALE_NAMESPACE }, spec: derpMapEgress() }, inNamespace);
    }
    this.registerOutputs({ serverUrl: this.serverUrl, config: this.config, policy: this.policy });
  }
}
