import type * as k8s from "@pulumi/kubernetes";
import { ServiceConfig } from "../config/schema";

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** Address space an "internet" egress never reaches: the LAN, the tunnel, pods, CGNAT (the tailnet), link-local. */
export const NOT_INTERNET = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"];

const dnsEgress = {
  to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
  ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
};
const fromNamespace = (namespace: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } });
const tcp = (ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));

/** One NetworkPolicy's name and spec. */
export interface PolicySpec {
  name: string;
  spec: k8s.types.input.networking.v1.NetworkPolicySpec;
}

/**
 * An app namespace's NetworkPolicies: default deny both ways, then exactly what the catalog entry needs. CIDRs and
 * "internet" are expressible as NetworkPolicy ipBlocks; only FQDN egress needs Cilium (see fqdnPolicy).
 */
export function appNetworkPolicies(service: ServiceConfig, namespaces: { traefik: string; monitoring: string }, vpnEndpointPorts?: number[]): PolicySpec[] {
  const policies: PolicySpec[] = [
    { name: "default-deny", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
    { name: "allow-same-namespace", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{ from: [{ podSelector: {} }] }], egress: [{ to: [{ podSelector: {} }] }] } },
    { name: "allow-from-traefik", spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [fromNamespace(namespaces.traefik)], ports: tcp([service.port]) }] } },
    { name: "allow-dns", spec: { podSelector: {}, policyTypes: ["Egress"], egress: [dnsEgress] } },
  ];
  if (service.metricsPort) {
    policies.push({ name: "allow-metrics", spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [fromNamespace(namespaces.monitoring)], ports: tcp([service.metricsPort]) }] } });
  }
  // With a VPN the pod reaches the internet only through the tunnel: its endpoints' ports, nothing else.
  if (vpnEndpointPorts) {
    const internet = [{ ipBlock: { cidr: "0.0.0.0/0", except: NOT_INTERNET } }];
    const ports = vpnEndpointPorts.flatMap((port) => [{ protocol: "UDP", port }, { protocol: "TCP", port }]);
    policies.push({ name: "allow-vpn-endpoints", spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: internet, ports }] } });
    return policies;
  }
  const egress = (service.egress ?? []).flatMap((rule): EgressRule[] => {
    if (rule === "internet") return [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NOT_INTERNET } }] }];
    if ("cidr" in rule) return [{ to: [{ ipBlock: { cidr: rule.cidr } }], ports: tcp(rule.ports) }];
    return [];
  });
  if (egress.length) policies.push({ name: "allow-declared-egress", spec: { podSelector: {}, policyTypes: ["Egress"], egress } });
  return policies;
}

/** FQDN egress, which only Cilium can express: it needs Cilium's DNS proxy to see the names, hence the DNS rule. */
export function fqdnPolicy(service: ServiceConfig): Record<string, unknown> | undefined {
  const fqdns = (service.egress ?? []).filter((rule): rule is { fqdn: string; ports: number[] } => typeof rule === "object" && "fqdn" in rule);
  if (!fqdns.length) return undefined;
  return {
    endpointSelector: {},
    egress: [
      {
        toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns" } }],
        toPorts: [{ ports: [{ port: "53", protocol: "ANY" }], rules: { dns: [{ matchPattern: "*" }] } }],
      },
      ...fqdns.map((rule) => ({ toFQDNs: [{ matchName: rule.fqdn }], toPorts: [{ ports: rule.ports.map((port) => ({ port: String(port), protocol: "TCP" })) }] })),
    ],
  };
}
