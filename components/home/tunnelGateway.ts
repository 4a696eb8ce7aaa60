import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { configHash } from "./configHash";
import { HaproxyRoute, HEALTH_PATH, renderHaproxyConfig } from "./haproxy";
import { podSecurityLabels, RESTRICTED_CONTAINER, waiverAnnotations } from "./podSecurity";
import { TUNNEL_SETUP_WAIVERS, tunnelEndpointEgress, tunnelSetupContainer, tunnelSetupExemptions } from "./tunnelSetup";

export interface TunnelGatewayArgs {
  /** Secret: the edge's wg-quick config for the `gateway` peer, policy routing included. */
  wireguardConfig: pulumi.Input<string>;
  /** The gateway's tunnel addresses, where HAProxy listens; from the edge stack's contract. */
  tunnelAddress: pulumi.Input<{ ipv4: string; ipv6?: string }>;
  /** The VPS's public address and WireGuard port: the only place the pod sends UDP. */
  endpoint: { address: pulumi.Input<string>; port: number };
  /** Forwarded ports and where each goes. */
  routes: GatewayRoute[];
  images: { wireguard: string; haproxy: string };
}

/** A forwarded port's route, with the namespace of its Service so egress can be limited to it. */
export interface GatewayRoute extends HaproxyRoute {
  namespace: string;
}

export const TUNNEL_NAMESPACE = "edge-tunnel";
const HEALTH_PORT = 8404;
const HAPROXY_UID = 99;
const labels = { "app.kubernetes.io/name": "tunnel-gateway" };

/**
 * The home end of the edge tunnel, as a pod: an init container brings up kernel WireGuard from the gateway peer's
 * config (its policy routing sends replies from the tunnel address back into the tunnel), then HAProxy passes each
 * forwarded port on, with PROXY v2 where the receiver trusts it.
 */
export class TunnelGateway extends pulumi.ComponentResource {
  readonly haproxyConfig: pulumi.Output<string>;

  constructor(name: string, args: TunnelGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:TunnelGateway", name, {}, opts);
    this.haproxyConfig = pulumi.output(args.tunnelAddress).apply((listen) => renderHaproxyConfig({ listen, routes: args.routes, healthPort: HEALTH_PORT }));
    const namespace = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: TUNNEL_NAMESPACE,
          labels: podSecurityLabels("privileged"),
          annotations: waiverAnnotations(TUNNEL_SETUP_WAIVERS),
        },
      },
      { parent: this },
    );
    const inNamespace = { parent: this, dependsOn: [namespace] };
    const secret = new k8s.core.v1.Secret(
      `${name}-wireguard`,
      { metadata: { name: "gateway-wireguard", namespace: TUNNEL_NAMESPACE }, type: "Opaque", stringData: { "wg0.conf": pulumi.secret(args.wireguardConfig) } },
      inNamespace,
    );
    const config = new k8s.core.v1.ConfigMap(`${name}-haproxy`, { metadata: { name: "haproxy", namespace: TUNNEL_NAMESPACE }, data: { "haproxy.cfg": this.haproxyConfig } }, inNamespace);

    const filesHash = configHash([args.wireguardConfig, this.haproxyConfig]);
    const lowestPort = Math.min(...args.routes.map((r) => r.port));
    new k8s.apps.v1.Deployment(
      name,
      {
        metadata: {
          name: "tunnel-gateway",
          namespace: TUNNEL_NAMESPACE,
          labels,
          // The policy pack's waivers, each with its reason; they match the namespace's Pod Security waivers.
          annotations: tunnelSetupExemptions("HAProxy (uid 99)"),
        },
        spec: {
          replicas: 1,
          // Two pods with one WireGuard key would steal the endpoint from each other; never run both.
          strategy: { type: "Recreate" },
          selector: { matchLabels: labels },
          template: {
            // A new config must restart the pod: neither wg-quick nor HAProxy rereads its files. The hash reveals nothing.
            metadata: { labels, annotations: { "homelab.dev/config-hash": filesHash } },
            spec: {
              automountServiceAccountToken: false,
              securityContext: {
                seccompProfile: { type: "RuntimeDefault" },
                // A namespaced, safe sysctl: HAProxy binds the web ports without root or NET_BIND_SERVICE.
                sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: String(lowestPort) }],
              },
              initContainers: [tunnelSetupContainer(args.images.wireguard, "wireguard")],
              containers: [
                {
                  name: "haproxy",
                  image: args.images.haproxy,
                  args: ["-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
                  securityContext: { ...RESTRICTED_CONTAINER, runAsUser: HAPROXY_UID, runAsGroup: HAPROXY_UID },
                  ports: [{ name: "health", containerPort: HEALTH_PORT }],
                  readinessProbe: { httpGet: { path: HEALTH_PATH, port: HEALTH_PORT }, periodSeconds: 10 },
                  livenessProbe: { httpGet: { path: HEALTH_PATH, port: HEALTH_PORT }, periodSeconds: 20, failureThreshold: 3 },
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                  volumeMounts: [
                    { name: "haproxy", mountPath: "/usr/local/etc/haproxy", readOnly: true },
                    { name: "run", mountPath: "/var/run" },
                  ],
                },
              ],
              volumes: [
                { name: "wireguard", secret: { secretName: "gateway-wireguard", defaultMode: 0o400 } },
                { name: "haproxy", configMap: { name: "haproxy" } },
                { name: "run", emptyDir: {} },
              ],
            },
          },
        },
      },
      { parent: this, dependsOn: [secret, config] },
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-egress`,
      {
        metadata: { name: "tunnel-gateway", namespace: TUNNEL_NAMESPACE },
        spec: {
          podSelector: {},
          policyTypes: ["Ingress", "Egress"],
          // Nothing in the cluster needs to reach the gateway; its traffic arrives through wg0.
          ingress: [],
          egress: [
            tunnelEndpointEgress(args.endpoint),
            { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] },
            ...[...new Set(args.routes.map((r) => r.namespace))].sort().map((namespace) => ({
              to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } }],
              ports: [...new Set(args.routes.filter((r) => r.namespace === namespace).map((r) => r.targetPort))].sort((a, b) => a - b).map((port) => ({ protocol: "TCP", port })),
            })),
          ],
        },
      },
      inNamespace,
    );
    this.registerOutputs({ haproxyConfig: this.haproxyConfig });
  }
}
