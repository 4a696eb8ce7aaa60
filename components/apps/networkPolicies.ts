import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { appNamespace } from "../config/catalog";
import { ServiceConfig } from "../config/schema";

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** Address space an "internet" egress never reaches: the LAN, the tunnel, pods, CGNAT (the tailnet), link-local. */
export const NOT_INTERNET = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"];

/** The label every app's pods carry, which its own policies select. */
export const APP_LABEL = "app.kubernetes.io/name";

const dnsEgress = {
  to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
  ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }],
};
export const fromNamespace = (namespace: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } });
export const tcp = (ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));
export const internet = () => [{ ipBlock: { cidr: "0.0.0.0/0", except: NOT_INTERNET } }];

/** One NetworkPolicy's name and spec. */
export interface PolicySpec {
  name: string;
  spec: k8s.types.input.networking.v1.NetworkPolicySpec;
}

/** A policy admitting some namespaces to some TCP ports of the selected pods. */
export function admit(podSelector: PolicySpec["spec"]["podSelector"], namespaces: string[], ports: number[]): PolicySpec["spec"] {
  return { podSelector, policyTypes: ["Ingress"], ingress: [{ from: namespaces.map(fromNamespace), ports: tcp(ports) }] };
}

/**
 * Registers policies in a namespace, each resource named `<prefix>-<policy>` (or after the policy alone, whose name
 * is already unique in the stack, when there is no prefix).
 */
export function registerNetworkPolicies(prefix: string | undefined, namespace: string, policies: PolicySpec[], opts: pulumi.CustomResourceOptions): void {
  for (const policy of policies) {
    new k8s.networking.v1.NetworkPolicy(prefix ? `${prefix}-${policy.name}` : policy.name, { metadata: { name: policy.name, namespace }, spec: policy.spec }, opts);
  }
}

/** What every app namespace starts with: default deny both ways, traffic among its own pods, and DNS. */
export function namespacePolicies(): PolicySpec[] {
  return [
    { name: "default-deny", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
    { name: "allow-same-namespace", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: [{ from: [{ podSelector: {} }] }], egress: [{ to: [{ podSelector: {} }] }] } },
    { name: "allow-dns", spec: { podSelector: {}, policyTypes: ["Egress"], egress: [dnsEgress] } },
  ];
}

/** Namespaces whose apps declare egress to a service, which must then admit them; its own namespace needs nothing. */
export function clientNamespaces(catalog: ServiceConfig[], target: ServiceConfig): string[] {
  const own = appNamespace(target);
  const clients = catalog.filter((s) => (s.egress ?? []).some((rule) => typeof rule === "object" && "service" in rule && rule.service === target.name)).map(appNamespace);
  return [...new Set(clients)].filter((ns) => ns !== own).sort();
}

export interface AppPolicyContext {
  /** Traefik's namespace, admitted to the app's port. */
  traefik: string;
  /** The monitoring namespace, admitted to the metrics port. */
  monitoring: string;
  /** The whole catalog, to resolve egress to other services and the namespaces calling this one. */
  catalog: ServiceConfig[];
  /** With a VPN sidecar: the only ports the pod may reach on the internet. */
  vpnEndpointPorts?: number[];
}

/**
 * One app's openings in its namespace's default deny, selecting its own pods so apps sharing a namespace stay apart.
 * CIDRs, "internet" and other catalog services are expressible as NetworkPolicy; only FQDN egress needs Cilium
 * (see fqdnPolicy).
 */
export function appNetworkPolicies(service: ServiceConfig, context: AppPolicyContext): PolicySpec[] {
  const podSelector = { matchLabels: { [APP_LABEL]: service.name } };
  const policy = (suffix: string, spec: Omit<PolicySpec["spec"], "podSelector">): PolicySpec => ({ name: `${service.name}-${suffix}`, spec: { podSelector, ...spec } });
  const admitted = (suffix: string, namespaces: string[], port: number): PolicySpec => ({ name: `${service.name}-${suffix}`, spec: admit(podSelector, namespaces, [port]) });
  const policies = [admitted("from-traefik", [context.traefik], service.port)];
  if (service.metricsPort) policies.push(admitted("metrics", [context.monitoring], service.metricsPort));
  const clients = clientNamespaces(context.catalog, service);
  if (clients.length) policies.push(admitted("from-clients", clients, service.port));
  // With a VPN the pod reaches the internet only through the tunnel: its endpoints' ports, nothing else.
  if (context.vpnEndpointPorts) {
    const ports = context.vpnEndpointPorts.flatMap((port) => [{ protocol: "UDP", port }, { protocol: "TCP", port }]);
    policies.push(policy("vpn-endpoints", { policyTypes: ["Egress"], egress: [{ to: internet(), ports }] }));
    return policies;
  }
  const egress = (service.egress ?? []).flatMap((rule): EgressRule[] => {
    if (rule === "internet") return [{ to: internet() }];
    if ("cidr" in rule) return [{ to: [{ ipBlock: { cidr: rule.cidr } }], ports: tcp(rule.ports) }];
    if ("service" in rule) {
      const target = context.catalog.find((s) => s.name === rule.service)!;
      return [{ to: [fromNamespace(appNamespace(target))], ports: tcp([target.port]) }];
    }
    return [];
  });
  if (egress.length) policies.push(policy("egress", { policyTypes: ["Egress"], egress }));
  return policies;
}

/** FQDN egress, which only Cilium can express: it needs Cilium's DNS proxy to see the names, hence the DNS rule. */
export function fqdnPolicy(service: ServiceConfig): Record<string, unknown> | undefined {
  const fqdns = (service.egress ?? []).filter((rule): rule is { fqdn: string; ports: number[] } => typeof rule === "object" && "fqdn" in rule);
  if (!fqdns.length) return undefined;
  return {
    endpointSelector: { matchLabels: { [APP_LABEL]: service.name } },
    egress: [
      {
        toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "kube-system", "k8s:k8s-app": "kube-dns" } }],
        toPorts: [{ ports: [{ port: "53", protocol: "ANY" }], rules: { dns: [{ matchPattern: "*" }] } }],
      },
      ...fqdns.map((rule) => ({ toFQDNs: [{ matchName: rule.fqdn }], toPorts: [{ ports: rule.ports.map((port) => ({ port: String(port), protocol: "TCP" })) }] })),
    ],
  };
}
