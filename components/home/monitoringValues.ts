import { IProbe } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Probe";
import { AlertReceiver } from "../config/alerting";
import { ServiceConfig } from "../config/schema";
import { renderAlertmanagerValues } from "./monitoringAlerts";
import { RESTRICTED_CONTAINER } from "./podSecurity";
import { WEBHOOK_CA_INJECTED } from "./webhooks";

/** Fixed release names, so the Services they create have names the routes and probes can use. */
export const PROMETHEUS_STACK_RELEASE = "kube-prometheus-stack";
export const BLACKBOX_RELEASE = "blackbox-exporter";
/** node-exporter needs the node's namespaces and filesystems; it gets a namespace of its own so monitoring stays restricted. */
export const NODE_EXPORTER_NAMESPACE = "node-exporter";
/** The Prometheus pods' name label, as the operator sets it. */
export const PROMETHEUS_POD_LABEL = { "app.kubernetes.io/name": "prometheus" };
export const BLACKBOX_POD_LABEL = { "app.kubernetes.io/name": "prometheus-blackbox-exporter" };
/** The operator's and kube-state-metrics' pod labels (kube-prometheus-stack 88.5.3, its deployment templates). */
export const OPERATOR_POD_LABEL = { app: `${PROMETHEUS_STACK_RELEASE}-operator` };
export const KUBE_STATE_METRICS_POD_LABEL = { "app.kubernetes.io/name": "kube-state-metrics" };
export const BLACKBOX_PORT = 9115;
/** The Probes' job labels, which their alert rules select. */
export const PUBLIC_PROBE_JOBS = { https: "public-https", tcp: "public-tcp" } as const;
/** Blackbox modules: a public hostname must answer over HTTPS with a 2xx after redirects; raw TCP ports must accept. */
export const PROBE_MODULES = { https: "https_2xx", tcp: "tcp_connect" } as const;

export interface PrometheusStackSpec {
  /** The catalog's prometheus entry's port, which Prometheus's Service serves. */
  port: number;
  retention: string;
  storageSize: string;
  storageClass?: string;
}

const resources = (cpu: string, memory: string, memoryLimit: string) => ({ requests: { cpu, memory }, limits: { memory: memoryLimit } });
const nobody = { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534 };

/**
 * kube-prometheus-stack's values: Prometheus picks up every ServiceMonitor, PodMonitor, Probe and rule in the cluster
 * (not only the release's), keeps its data on a claim, and every component has requests and limits. Grafana is left
 * out: it runs as a catalog app. node-exporter moves to its own privileged namespace. Alertmanager sends to the
 * configured receivers.
 */
export function renderPrometheusStackValues(spec: PrometheusStackSpec, receivers: AlertReceiver[] = []): Record<string, unknown> {
  return {
    fullnameOverride: PROMETHEUS_STACK_RELEASE,
    grafana: { enabled: false },
    prometheusOperator: {
      resources: resources("50m", "128Mi", "256Mi"),
      containerSecurityContext: RESTRICTED_CONTAINER,
      // The operator's webhook certificate: the chart's default makes it in Helm hook Jobs, which helm.v4.Chart never
      // runs, and the operator then waits forever for its Secret. cert-manager issues it instead, without hooks
      // (kube-prometheus-stack 88.5.3 templates/prometheus-operator/certmanager.yaml).
      admissionWebhooks: {
        certManager: { enabled: true },
        patch: { enabled: false },
        // failurePolicy is Fail without the patch Jobs: rules made before cainjector has run would be refused.
        validatingWebhookConfiguration: { annotations: WEBHOOK_CA_INJECTED },
        mutatingWebhookConfiguration: { annotations: WEBHOOK_CA_INJECTED },
      },
    },
    // Off, each with its chart's absent() alert: Cilium replaces kube-proxy, and k3s, Talos and kubeadm all bind the
    // controller manager's, the scheduler's and etcd's metrics to the node's loopback, where no scrape reaches.
    kubeProxy: { enabled: false },
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    "kube-state-metrics": { resources: resources("20m", "64Mi", "256Mi"), containerSecurityContext: RESTRICTED_CONTAINER },
    "prometheus-node-exporter": {
      namespaceOverride: NODE_EXPORTER_NAMESPACE,
      resources: resources("20m", "32Mi", "128Mi"),
      securityContext: { ...nobody, seccompProfile: { type: "RuntimeDefault" } },
      containerSecurityContext: RESTRICTED_CONTAINER,
    },
    alertmanager: renderAlertmanagerValues(receivers, resources("10m", "64Mi", "128Mi")),
    prometheus: {
      service: { port: spec.port },
      prometheusSpec: {
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        retention: spec.retention,
        resources: resources("200m", "1Gi", "2Gi"),
        storageSpec: {
          volumeClaimTemplate: {
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: spec.storageSize } }, ...(spec.storageClass ? { storageClassName: spec.storageClass } : {}) },
          },
        },
      },
    },
  };
}

/** The blackbox exporter's values: the modules the probes name, and a hardened, sized pod. */
export function renderBlackboxValues(): Record<string, unknown> {
  return {
    fullnameOverride: BLACKBOX_RELEASE,
    resources: resources("10m", "32Mi", "128Mi"),
    podSecurityContext: { seccompProfile: { type: "RuntimeDefault" } },
    securityContext: { ...RESTRICTED_CONTAINER, runAsUser: 65534, runAsGroup: 65534 },
    config: {
      modules: {
        [PROBE_MODULES.https]: { prober: "http", timeout: "10s", http: { method: "GET", follow_redirects: true, fail_if_not_ssl: true, preferred_ip_protocol: "ip4" } },
        [PROBE_MODULES.tcp]: { prober: "tcp", timeout: "5s", tcp: { preferred_ip_protocol: "ip4" } },
      },
    },
  };
}

/** One Probe object's name and spec. */
export interface ProbeSpec {
  name: string;
  spec: NonNullable<IProbe["spec"]>;
}

/**
 * A Probe per public catalog entry: its hostname over HTTPS (the health path when declared) and each raw TCP port.
 * They resolve the public names, so they test the whole path: DNS, the edge, the tunnel and Traefik.
 */
export function publicProbes(services: ServiceConfig[], namespace: string): ProbeSpec[] {
  const prober = { url: `${BLACKBOX_RELEASE}.${namespace}.svc:${BLACKBOX_PORT}` };
  return services
    .filter((s) => s.exposure === "public")
    .flatMap((s) => [
      {
        name: `public-${s.name}`,
        spec: { jobName: PUBLIC_PROBE_JOBS.https, prober, module: PROBE_MODULES.https, interval: "60s", targets: { staticConfig: { static: [`https://${s.hostname}${s.healthPath ?? "/"}`], labels: { service: s.name } } } },
      },
      ...(s.tcpPorts?.length
        ? [{ name: `public-${s.name}-tcp`, spec: { jobName: PUBLIC_PROBE_JOBS.tcp, prober, module: PROBE_MODULES.tcp, interval: "60s", targets: { staticConfig: { static: s.tcpPorts.map((p) => `${s.hostname}:${p}`), labels: { service: s.name } } } } }]
        : []),
    ]);
}

/** The alerts on the public probes: a public hostname that stops answering through the edge pages someone. */
export const PUBLIC_PROBE_ALERTS = {
  name: "public-probes",
  rules: [
    {
      alert: "PublicEndpointDown",
      expr: `probe_success{job=~"${PUBLIC_PROBE_JOBS.https}|${PUBLIC_PROBE_JOBS.tcp}"} == 0`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "{{ $labels.service }} does not answer at {{ $labels.instance }} from the internet's side",
        description: "The blackbox probe through public DNS, the edge, the tunnel and Traefik has failed for 5 minutes.",
      },
    },
    {
      alert: "PublicCertificateExpiresSoon",
      expr: `probe_ssl_earliest_cert_expiry{job="${PUBLIC_PROBE_JOBS.https}"} - time() < 14 * 86400`,
      for: "1h",
      labels: { severity: "warning" },
      annotations: {
        summary: "The certificate {{ $labels.instance }} serves expires within 14 days",
        description: "cert-manager renews 30 days ahead, so renewal is failing: see the wildcard Certificate's events.",
      },
    },
  ],
};
