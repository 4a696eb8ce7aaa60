import { ICiliumNetworkPolicy } from "@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy";
import { IProbe } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Probe";
import { IPrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AlertingSettings } from "../config/alerting";
import { MONITORING_NAMESPACE } from "../config/catalog";
import { ForwardAuthConfig, ServiceConfig } from "../config/schema";
import { admit, clientNamespaces, internet, namespacePolicies, PolicySpec, registerNetworkPolicies, tcp } from "../apps/networkPolicies";
import { registerRoute } from "../apps/route";
import { typedCustomResource } from "./customResource";
import { ALERTMANAGER_SECRET, alertmanagerEgress } from "./monitoringAlerts";
import {
  BLACKBOX_POD_LABEL,
  BLACKBOX_RELEASE,
  KUBE_STATE_METRICS_POD_LABEL,
  NODE_EXPORTER_NAMESPACE,
  OPERATOR_POD_LABEL,
  PROMETHEUS_POD_LABEL,
  PROMETHEUS_STACK_RELEASE,
  PrometheusStackSpec,
  PUBLIC_PROBE_ALERTS,
  publicProbes,
  renderBlackboxValues,
  renderPrometheusStackValues,
} from "./monitoringValues";
import { podSecurityLabels, waiverAnnotations } from "./podSecurity";

export interface MonitoringArgs {
  /** The catalog's prometheus entry: Prometheus's hostname, exposure and port. */
  entry: ServiceConfig;
  /** The whole catalog: its public entries are probed, and apps that declare egress to Prometheus are admitted. */
  catalog: ServiceConfig[];
  /** Exact chart versions. */
  versions: { kubePrometheusStack: string; blackboxExporter: string };
  /** Prometheus's retention and storage. */
  prometheus: Omit<PrometheusStackSpec, "port">;
  /** Traefik's namespace, admitted to Prometheus's port for the route. */
  traefikNamespace: string;
  /** Forward-auth settings, when the entry turns it on. */
  forwardAuth?: ForwardAuthConfig;
  /** Alertmanager's receivers and their secrets; with none, alerts reach no one. */
  alerting: AlertingSettings;
}

const NODE_EXPORTER_WAIVERS = [
  { rule: "hostNetwork", reason: "node-exporter reports the node's own network interfaces" },
  { rule: "hostPID", reason: "node-exporter reads the node's process table" },
  { rule: "hostPath", reason: "node-exporter reads the node's /proc, /sys and root filesystem, read-only" },
  { rule: "hostPorts", reason: "node-exporter listens on the node's address so Prometheus scrapes every node" },
];

/**
 * The monitoring namespace's openings: the route and clients to Prometheus, the blackbox exporter to the internet, and
 * Alertmanager to its receivers' ports.
 */
export function monitoringPolicies(args: Pick<MonitoringArgs, "entry" | "catalog" | "traefikNamespace"> & { alerting: Pick<AlertingSettings, "receivers"> }): PolicySpec[] {
  const clients = clientNamespaces(args.catalog, args.entry);
  const prometheus = { matchLabels: PROMETHEUS_POD_LABEL };
  const probedPorts = [443, ...args.catalog.filter((s) => s.exposure === "public").flatMap((s) => s.tcpPorts ?? [])];
  return [
    ...namespacePolicies(),
    { name: "prometheus-from-traefik", spec: admit(prometheus, [args.traefikNamespace], [args.entry.port]) },
    ...(clients.length ? [{ name: "prometheus-from-clients", spec: admit(prometheus, clients, [args.entry.port]) }] : []),
    // The probes resolve public names, so they leave for the edge like any visitor would.
    { name: "blackbox-to-internet", spec: { podSelector: { matchLabels: BLACKBOX_POD_LABEL }, policyTypes: ["Egress"], egress: [{ to: internet(), ports: tcp([...new Set(probedPorts)]) }] } },
    ...alertmanagerEgress(args.alerting.receivers),
  ];
}

/**
 * Cilium, because scraping reaches the nodes (kubelet, node-exporter on the host network) and the API server, which
 * NetworkPolicy ipBlocks do not match under Cilium. Only Prometheus scrapes, so only it reaches the "cluster" entity
 * (every pod, node and the API server); the operator and kube-state-metrics reach the API server alone, which calls the
 * operator's admission webhook. Alertmanager and the blackbox exporter get nothing in the cluster beyond the namespace.
 */
export function monitoringClusterPolicies(): { name: string; spec: NonNullable<ICiliumNetworkPolicy["spec"]> }[] {
  const toApiServer = { toEntities: ["kube-apiserver" as const] };
  return [
    { name: "cluster", spec: { endpointSelector: { matchLabels: PROMETHEUS_POD_LABEL }, egress: [{ toEntities: ["cluster"] }] } },
    {
      name: "operator-apiserver",
      spec: { endpointSelector: { matchLabels: OPERATOR_POD_LABEL }, egress: [toApiServer], ingress: [{ fromEntities: ["kube-apiserver"], toPorts: [{ ports: [{ port: "10250", protocol: "TCP" }] }] }] },
    },
    { name: "kube-state-metrics-apiserver", spec: { endpointSelector: { matchLabels: KUBE_STATE_METRICS_POD_LABEL }, egress: [toApiServer] } },
  ];
}

/**
 * The monitoring stack for the catalog's prometheus entry: kube-prometheus-stack (Grafana runs as an app) with
 * node-exporter in a namespace of its own, the blackbox exporter, a Probe per public hostname, and Prometheus's route.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly namespace = MONITORING_NAMESPACE;
  /** The Probe objects' names, one per public check. */
  readonly probes: string[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:Monitoring", name, {}, opts);
    // Prometheus keeps its data on a claim here: deleting the namespace would delete the claim with it.
    const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: MONITORING_NAMESPACE, labels: podSecurityLabels("restricted") } }, { parent: this, retainOnDelete: true });
    const nodeNamespace = new k8s.core.v1.Namespace(
      `${name}-node-exporter`,
      { metadata: { name: NODE_EXPORTER_NAMESPACE, labels: podSecurityLabels("privileged"), annotations: waiverAnnotations(NODE_EXPORTER_WAIVERS) } },
      { parent: this },
    );
    const inNamespace = { parent: this, dependsOn: [namespace] };

    // The receivers' URLs and tokens reach Alertmanager only as files from this Secret; the chart's values name paths.
    const receiverSecret = args.alerting.secrets
      ? new k8s.core.v1.Secret(`${name}-alert-receivers`, { metadata: { name: ALERTMANAGER_SECRET, namespace: MONITORING_NAMESPACE }, type: "Opaque", stringData: args.alerting.secrets }, inNamespace)
      : undefined;

    const stack = new k8s.helm.v4.Chart(
      name,
      {
        name: PROMETHEUS_STACK_RELEASE,
        chart: "kube-prometheus-stack",
        repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
        version: args.versions.kubePrometheusStack,
        namespace: MONITORING_NAMESPACE,
        values: renderPrometheusStackValues({ ...args.prometheus, port: args.entry.port }, args.alerting.receivers),
      },
      { parent: this, dependsOn: [namespace, nodeNamespace, ...(receiverSecret ? [receiverSecret] : [])] },
    );
    new k8s.helm.v4.Chart(
      `${name}-blackbox`,
      {
        name: BLACKBOX_RELEASE,
        chart: "prometheus-blackbox-exporter",
        repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" },
        version: args.versions.blackboxExporter,
        namespace: MONITORING_NAMESPACE,
        values: renderBlackboxValues(),
      },
      inNamespace,
    );

    registerNetworkPolicies(name, MONITORING_NAMESPACE, monitoringPolicies(args), inNamespace);
    registerNetworkPolicies(`${name}-node-exporter`, NODE_EXPORTER_NAMESPACE, namespacePolicies(), { parent: this, dependsOn: [nodeNamespace] });
    for (const policy of monitoringClusterPolicies()) {
      typedCustomResource<ICiliumNetworkPolicy>(
        `${name}-${policy.name}`,
        { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: `${MONITORING_NAMESPACE}-${policy.name}`, namespace: MONITORING_NAMESPACE }, spec: policy.spec },
        inNamespace,
      );
    }

    // Probe and ServiceMonitor kinds exist once the chart has installed their CRDs.
    const afterCrds = { parent: this, dependsOn: [stack] };
    const probes = publicProbes(args.catalog, MONITORING_NAMESPACE);
    for (const probe of probes) {
      typedCustomResource<IProbe>(`${name}-${probe.name}`, { apiVersion: "monitoring.coreos.com/v1", kind: "Probe", metadata: { name: probe.name, namespace: MONITORING_NAMESPACE }, spec: probe.spec }, afterCrds);
    }
    this.probes = probes.map((p) => p.name);
    if (probes.length) {
      typedCustomResource<IPrometheusRule>(
        `${name}-public-probes`,
        { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: PUBLIC_PROBE_ALERTS.name, namespace: MONITORING_NAMESPACE }, spec: { groups: [PUBLIC_PROBE_ALERTS] } },
        afterCrds,
      );
    }

    registerRoute(name, { service: args.entry, namespace: MONITORING_NAMESPACE, backend: { name: `${PROMETHEUS_STACK_RELEASE}-prometheus`, port: args.entry.port }, forwardAuth: args.forwardAuth }, afterCrds);
    this.registerOutputs({ namespace: this.namespace, probes: this.probes });
  }
}
