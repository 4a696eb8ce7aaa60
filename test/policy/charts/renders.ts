import { renderCertManagerValues } from "../../../components/home/certManagerValues";
import { renderCiliumValues } from "../../../components/home/ciliumValues";
import { renderBlackboxValues, renderPrometheusStackValues } from "../../../components/home/monitoringValues";
import { renderTraefikValues } from "../../../components/home/traefikValues";
import { PolicyTarget } from "../../../tools/offline/policyRunner";
import { resource } from "../fixtures/build";
import { chartEntrypointArgs, chartMajor, TRAEFIK_CHART_PORTS, TRAEFIK_CHART_VERSION } from "./traefikChart";

/*
 * The objects the charts render with this program's values, written out by hand from each chart's templates: under
 * mocks a helm.v4.Chart has no children, so the pack never sees them offline. The workflow's real preview runs the
 * pack over the charts' actual output. Helm hooks are left out, as Pulumi's helm v4 Chart never applies them
 * (pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go sets DisableHooks): cert-manager's startupapicheck Job and
 * kube-prometheus-stack's admission-create/patch Jobs do not exist on a cluster this program builds.
 */

const traefik = renderTraefikValues({ version: TRAEFIK_CHART_VERSION, address: "192.168.1.241", podCidr: "10.42.0.0/16", gatewayApi: false }) as any;
const digest = "@sha256:" + "ab".repeat(32);
const probe = (path: string, port: number | string) => ({ httpGet: { path, port } });
// Helm's `with` renders nothing for an unset or empty map.
const isEmpty = (value: unknown) => value === undefined || value === null || (typeof value === "object" && Object.keys(value as object).length === 0);

const deployment = (kind: string, namespace: string, name: string, pod: Record<string, unknown>): PolicyTarget =>
  resource(`kubernetes:${kind === "DaemonSet" || kind === "Deployment" ? "apps/v1" : "batch/v1"}:${kind}`, name, {
    apiVersion: kind === "Job" ? "batch/v1" : "apps/v1",
    kind,
    metadata: { name, namespace },
    spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: pod } },
  });

/** The Cilium chart these stand-ins mirror, as Pulumi.home.yaml pins it. */
export const CILIUM_CHART_VERSION = "1.20.0";
const ciliumImage = `quay.io/cilium/cilium:v${CILIUM_CHART_VERSION}${digest}`;

/*
 * Cilium chart 1.20.0 (cilium-1.20.0.tgz of cilium/charts), templates/cilium-agent/daemonset.yaml, checked against
 * `helm template` of that archive with this program's values. Each init container takes its resources from its own
 * key, and `with` or `if` renders nothing for an empty map: mount-cgroup cgroup.autoMount.resources, else
 * initResources; install-cni-binaries cni.resources, merged by Helm over a default that has limits (cpu 1, memory
 * 1Gi) since 1.19; the others initResources. Read here from the program's values, so a key the program leaves unset
 * shows as a container without resources, as on the cluster.
 */
const CILIUM_INIT_CONTAINERS: [string, (values: any) => unknown, string[]][] = [
  ["config", (v) => v.initResources, ["NET_ADMIN"]],
  ["mount-cgroup", (v) => (isEmpty(v.cgroup?.autoMount?.resources) ? v.initResources : v.cgroup.autoMount.resources), ["SYS_ADMIN", "SYS_CHROOT", "SYS_PTRACE"]],
  ["apply-sysctl-overwrites", (v) => v.initResources, ["SYS_ADMIN", "SYS_CHROOT", "SYS_PTRACE"]],
  ["mount-bpf-fs", (v) => v.initResources, []],
  ["clean-cilium-state", (v) => v.initResources, ["NET_ADMIN", "SYS_MODULE", "SYS_ADMIN", "SYS_RESOURCE"]],
  ["install-cni-binaries", (v) => overDefaults({ requests: { cpu: "100m", memory: "10Mi" }, limits: { cpu: 1, memory: "1Gi" } }, v.cni?.resources), []],
];
const overDefaults = (defaults: Record<string, object>, values: Record<string, object> = {}) =>
  Object.fromEntries([...new Set([...Object.keys(defaults), ...Object.keys(values)])].map((k) => [k, { ...defaults[k], ...values[k] }]));
const ciliumSelinux = { seLinuxOptions: { level: "s0", type: "spc_t" } };
// The agent and operator probe their named port `health` (9879 and 9234 at the chart's defaults) on 127.0.0.1.
const localProbe = (path: string, port: number | string) => ({ httpGet: { host: "127.0.0.1", path, port, scheme: "HTTP" } });

const ciliumAgentOf = (cilium: any) => deployment("DaemonSet", "kube-system", "cilium", {
  hostNetwork: true,
  serviceAccountName: "cilium",
  securityContext: { appArmorProfile: { type: "Unconfined" }, seccompProfile: { type: "Unconfined" } },
  initContainers: CILIUM_INIT_CONTAINERS.map(([name, resourcesOf, add]) => ({
    name,
    image: ciliumImage,
    ...(isEmpty(resourcesOf(cilium)) ? {} : { resources: resourcesOf(cilium) }),
    // mount-bpf-fs is the chart's one privileged container; config alone runs without the SELinux type.
    securityContext: name === "mount-bpf-fs" ? { privileged: true } : { ...(name === "config" ? {} : ciliumSelinux), capabilities: { ...(add.length ? { add } : {}), drop: ["ALL"] } },
  })),
  containers: [
    {
      name: "cilium-agent",
      image: ciliumImage,
      resources: cilium.resources,
      readinessProbe: localProbe("/healthz", "health"),
      livenessProbe: localProbe("/healthz", "health"),
      startupProbe: localProbe("/healthz", "health"),
      ports: [{ name: "health", containerPort: 9879, hostPort: 9879, protocol: "TCP" }, { name: "peer-service", containerPort: 4244, hostPort: 4244, protocol: "TCP" }],
      env: [{ name: "K8S_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
      securityContext: { ...ciliumSelinux, capabilities: { add: ["CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_MODULE", "SYS_ADMIN", "SYS_RESOURCE", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID", "SYSLOG"], drop: ["ALL"] } },
    },
  ],
  volumes: [
    { name: "bpf-maps", hostPath: { path: "/sys/fs/bpf", type: "DirectoryOrCreate" } },
    { name: "cni-path", hostPath: { path: "/opt/cni/bin", type: "DirectoryOrCreate" } },
    { name: "cilium-run", hostPath: { path: "/var/run/cilium", type: "DirectoryOrCreate" } },
  ],
});

/*
 * Cilium chart 1.20.0, templates/cilium-envoy/daemonset.yaml: rendered by default (envoy.enabled unset means on,
 * _helpers.tpl envoyDaemonSetEnabled); its one container takes `with .Values.envoy.resources`, default {}.
 */
const ciliumEnvoyOf = (cilium: any) => deployment("DaemonSet", "kube-system", "cilium-envoy", {
  hostNetwork: true,
  serviceAccountName: "cilium-envoy",
  securityContext: { appArmorProfile: { type: "Unconfined" } },
  containers: [
    {
      name: "cilium-envoy",
      image: `quay.io/cilium/cilium-envoy:v1.37.5-1782911245-7cffc778c923f68a77954a53b1a98d6b5353f004${digest}`,
      ...(isEmpty(cilium.envoy?.resources) ? {} : { resources: cilium.envoy.resources }),
      ports: [{ name: "envoy-metrics", containerPort: 9964, hostPort: 9964, protocol: "TCP" }],
      readinessProbe: localProbe("/healthz", 9878),
      livenessProbe: localProbe("/healthz", 9878),
      startupProbe: localProbe("/healthz", 9878),
      securityContext: { ...ciliumSelinux, capabilities: { add: ["NET_ADMIN", "SYS_ADMIN"], drop: ["ALL"] } },
      volumeMounts: [{ name: "envoy-sockets", mountPath: "/var/run/cilium/envoy/sockets" }, { name: "bpf-maps", mountPath: "/sys/fs/bpf" }],
    },
  ],
  volumes: [
    { name: "envoy-sockets", hostPath: { path: "/var/run/cilium/envoy/sockets", type: "DirectoryOrCreate" } },
    { name: "envoy-artifacts", hostPath: { path: "/var/run/cilium/envoy/artifacts", type: "DirectoryOrCreate" } },
    { name: "envoy-config", configMap: { name: "cilium-envoy-config" } },
    { name: "bpf-maps", hostPath: { path: "/sys/fs/bpf", type: "DirectoryOrCreate" } },
  ],
});

// Cilium chart 1.20.0, templates/cilium-operator/deployment.yaml.
const ciliumOperatorOf = (cilium: any) => deployment("Deployment", "kube-system", "cilium-operator", {
  hostNetwork: true,
  securityContext: { seccompProfile: { type: "RuntimeDefault" } },
  containers: [
    {
      name: "cilium-operator",
      image: `quay.io/cilium/operator-generic:v${CILIUM_CHART_VERSION}${digest}`,
      resources: cilium.operator.resources,
      readinessProbe: localProbe("/healthz", "health"),
      livenessProbe: localProbe("/healthz", "health"),
      ports: [{ name: "health", containerPort: 9234, hostPort: 9234 }, { name: "prometheus", containerPort: 9963, hostPort: 9963, protocol: "TCP" }],
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
    },
  ],
});

/** The Cilium chart's workloads as they render with the given values (the agent, cilium-envoy, the operator). */
export const ciliumRenders = (values: Record<string, unknown>): PolicyTarget[] => [ciliumAgentOf(values), ciliumEnvoyOf(values), ciliumOperatorOf(values)];
export const ciliumValues = renderCiliumValues({ k8sServiceHost: "192.168.1.10", k8sServicePort: 6443, podCidr: "10.42.0.0/16", gatewayApi: false, encryption: true });
export const [ciliumAgent, ciliumEnvoy, ciliumOperator] = ciliumRenders(ciliumValues);

// templates/_podtemplate.tpl @ traefik-helm-chart v41.3.0 (appVersion v3.7.11), checked against `helm template` there.
export const traefikDeployment = deployment("Deployment", "traefik", "traefik", {
  securityContext: traefik.podSecurityContext,
  automountServiceAccountToken: true,
  containers: [
    {
      name: "traefik",
      image: "docker.io/traefik:v3.7.11",
      args: chartEntrypointArgs({ ...TRAEFIK_CHART_PORTS, ...traefik.ports }, chartMajor(TRAEFIK_CHART_VERSION)),
      resources: traefik.resources,
      readinessProbe: probe("/ping", 8080),
      livenessProbe: probe("/ping", 8080),
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
      ports: Object.entries({ ...TRAEFIK_CHART_PORTS, ...traefik.ports }).map(([name, p]) => ({ name, containerPort: (p as { port: number }).port, protocol: "TCP" })),
    },
  ],
  volumes: [{ name: "data", emptyDir: {} }, { name: "tmp", emptyDir: {} }],
});

const service = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) =>
  resource("kubernetes:core/v1:Service", name, { metadata: { name, namespace: "traefik", annotations }, spec });
export const traefikServices = [
  service("traefik", { type: traefik.service.type, externalTrafficPolicy: "Cluster", ports: [{ port: 80 }, { port: 443 }] }, traefik.service.annotations),
  service("traefik-tunnel", { type: "ClusterIP", ports: [{ port: 8081 }, { port: 8444 }] }),
];

const restrictedContainer = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true };
const certManagerValues = renderCertManagerValues() as any;
/*
 * cert-manager chart v1.21.1, templates/deployment.yaml, cainjector-deployment.yaml and webhook-deployment.yaml: each
 * container's resources are its values' `resources`, `cainjector.resources` and `webhook.resources`, and absent when
 * those are (`with`), so the stand-in carries what the program's values give.
 */
const certManagerPod = (name: string, resources: unknown, probes: Record<string, unknown>) => ({
  automountServiceAccountToken: true,
  securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
  containers: [{ name, image: `quay.io/jetstack/${name}:v1.21.1`, ...(resources ? { resources } : {}), securityContext: restrictedContainer, ...probes }],
});
export const certManager = [
  deployment("Deployment", "cert-manager", "cert-manager", certManagerPod("cert-manager-controller", certManagerValues.resources, { livenessProbe: probe("/livez", 9403) })),
  deployment("Deployment", "cert-manager", "cert-manager-cainjector", certManagerPod("cert-manager-cainjector", certManagerValues.cainjector?.resources, {})),
  deployment("Deployment", "cert-manager", "cert-manager-webhook", certManagerPod("cert-manager-webhook", certManagerValues.webhook?.resources, { livenessProbe: probe("/livez", 6080), readinessProbe: probe("/healthz", 6080) })),
];

/*
 * cert-manager chart v1.21.1, templates/rbac.yaml, checked against `helm template` of deploy/charts/cert-manager at
 * that tag: the user-facing ClusterRoles, which join every namespace's view, edit and admin roles only while
 * global.rbac.aggregateClusterRoles is on (the chart's default), and cert-manager-cluster-view exists only then.
 */
export const certManagerRolesOf = (values: any): PolicyTarget[] => {
  const aggregate = values.global?.rbac?.aggregateClusterRoles !== false;
  const into = (...roles: string[]) => (aggregate ? Object.fromEntries(roles.map((r) => [`rbac.authorization.k8s.io/aggregate-to-${r}`, "true"])) : {});
  const role = (name: string, labels: Record<string, string>, rules: object[]) =>
    resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", name, { metadata: { name, labels: { "app.kubernetes.io/name": "cert-manager", ...labels } }, rules });
  return [
    ...(aggregate ? [role("cert-manager-cluster-view", into("cluster-reader"), [{ apiGroups: ["cert-manager.io"], resources: ["clusterissuers"], verbs: ["get", "list", "watch"] }])] : []),
    role("cert-manager-view", into("view", "edit", "admin", "cluster-reader"), [
      { apiGroups: ["cert-manager.io"], resources: ["certificates", "certificaterequests", "issuers"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["acme.cert-manager.io"], resources: ["challenges", "orders"], verbs: ["get", "list", "watch"] },
    ]),
    role("cert-manager-edit", into("edit", "admin"), [
      { apiGroups: ["cert-manager.io"], resources: ["certificates", "certificaterequests", "issuers"], verbs: ["create", "delete", "deletecollection", "patch", "update"] },
      { apiGroups: ["cert-manager.io"], resources: ["certificates/status"], verbs: ["update"] },
      { apiGroups: ["acme.cert-manager.io"], resources: ["challenges"], verbs: ["delete", "deletecollection", "patch", "update"] },
      { apiGroups: ["acme.cert-manager.io"], resources: ["orders"], verbs: ["delete", "deletecollection"] },
    ]),
  ];
};
export const certManagerRoles = certManagerRolesOf(renderCertManagerValues());

/** The Reflector chart this stand-in mirrors, as Pulumi.home.yaml pins it. */
export const REFLECTOR_CHART_VERSION = "10.0.63";

/*
 * Reflector chart v10.0.63 (emberstack/kubernetes-reflector src/helm/reflector, packaged with that version), checked
 * against `helm template` there with this program's values: rbac.enabled false leaves the ServiceAccount and this
 * Deployment, whose pod context keeps the chart's fsGroup and whose probes name the port `http` (8080).
 */
export const reflector = deployment("Deployment", "reflector", "reflector", {
  serviceAccountName: "reflector",
  securityContext: { fsGroup: 2000, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
  containers: [
    {
      name: "reflector",
      image: `docker.io/emberstack/kubernetes-reflector:${REFLECTOR_CHART_VERSION}`,
      resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
      securityContext: { ...restrictedContainer, runAsNonRoot: true, runAsUser: 1000 },
      ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
      readinessProbe: probe("/health/ready", "http"),
      livenessProbe: probe("/health/live", "http"),
      startupProbe: probe("/health/ready", "http"),
    },
  ],
});

/** The monitoring charts these stand-ins mirror, as the config defaults to them. */
export const MONITORING_CHART_VERSIONS = { kubePrometheusStack: "88.5.3", blackboxExporter: "11.17.2" };
const stack = renderPrometheusStackValues({ port: 9090, retention: "15d", storageSize: "20Gi" }) as any;
const blackbox = renderBlackboxValues() as any;
const nodeExporterValues = stack["prometheus-node-exporter"];
const nobodyPod = { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } };

/*
 * kube-prometheus-stack 88.5.3 with its pinned sub-charts (prometheus-node-exporter 4.56.1, kube-state-metrics 8.4.0)
 * and prometheus-blackbox-exporter 11.17.2, checked against `helm template` of each at its tag with these values.
 * node-exporter: templates/daemonset.yaml names its port and renders no hostPort; since Kubernetes 1.28 the API server
 * defaults hostPort from containerPort in Pods only, not in a DaemonSet's template, so only the Pods carry one (which
 * is why the namespace still waives hostPorts for Pod Security).
 */
export const nodeExporter = deployment("DaemonSet", nodeExporterValues.namespaceOverride, "kube-prometheus-stack-prometheus-node-exporter", {
  hostNetwork: true,
  hostPID: true,
  automountServiceAccountToken: false,
  securityContext: nodeExporterValues.securityContext,
  containers: [
    {
      name: "node-exporter",
      image: "quay.io/prometheus/node-exporter:v1.12.1-distroless",
      resources: nodeExporterValues.resources,
      securityContext: nodeExporterValues.containerSecurityContext,
      ports: [{ name: "http-metrics", containerPort: 9100, protocol: "TCP" }],
      readinessProbe: probe("/", "http-metrics"),
      livenessProbe: probe("/", "http-metrics"),
      volumeMounts: [{ name: "proc", mountPath: "/host/proc", readOnly: true }],
    },
  ],
  volumes: [
    { name: "proc", hostPath: { path: "/proc" } },
    { name: "sys", hostPath: { path: "/sys" } },
    { name: "root", hostPath: { path: "/" } },
  ],
});

const controller = (namespace: string, name: string, image: string, values: { resources: unknown; containerSecurityContext?: unknown }, probes: Record<string, unknown>, volumes: unknown[] = []) =>
  deployment("Deployment", namespace, name, {
    securityContext: nobodyPod,
    containers: [{ name, image, resources: values.resources, securityContext: values.containerSecurityContext, ...probes }],
    ...(volumes.length ? { volumes } : {}),
  });
export const monitoring = [
  nodeExporter,
  // templates/prometheus-operator/deployment.yaml: TLS on its https port, from the Secret cert-manager issues.
  controller("monitoring", "kube-prometheus-stack-operator", "quay.io/prometheus-operator/prometheus-operator:v0.93.1", stack.prometheusOperator, { readinessProbe: probe("/healthz", "https"), livenessProbe: probe("/healthz", "https") }, [
    { name: "tls-secret", secret: { secretName: "kube-prometheus-stack-admission" } },
  ]),
  // templates/prometheus-operator/certmanager.yaml: the Certificates that write the operator's TLS Secret, no hook needed.
  ...[
    ["kube-prometheus-stack-root-cert", { secretName: "kube-prometheus-stack-root-cert", duration: "43800h0m0s", issuerRef: { name: "kube-prometheus-stack-self-signed-issuer" }, commonName: "ca.webhook.kube-prometheus-stack", isCA: true }],
    ["kube-prometheus-stack-admission", { secretName: "kube-prometheus-stack-admission", duration: "8760h0m0s", issuerRef: { name: "kube-prometheus-stack-root-issuer" }, dnsNames: ["kube-prometheus-stack-operator", "kube-prometheus-stack-operator.monitoring.svc"] }],
  ].map(([name, spec]) => resource("kubernetes:cert-manager.io/v1:Certificate", name as string, { apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name, namespace: "monitoring" }, spec })),
  // kube-state-metrics templates/deployment.yaml: alive on its http port, ready on its metrics (telemetry) port.
  controller("monitoring", "kube-prometheus-stack-kube-state-metrics", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.20.0", stack["kube-state-metrics"], { livenessProbe: probe("/livez", "http"), readinessProbe: probe("/readyz", "metrics") }),
  deployment("Deployment", "monitoring", "blackbox-exporter", {
    automountServiceAccountToken: false,
    securityContext: blackbox.podSecurityContext,
    containers: [
      { name: "blackbox-exporter", image: "quay.io/prometheus/blackbox-exporter:v0.28.0", resources: blackbox.resources, securityContext: blackbox.securityContext, readinessProbe: probe("/-/healthy", "http"), livenessProbe: probe("/-/healthy", "http") },
    ],
    volumes: [{ name: "config", configMap: { name: "blackbox-exporter" } }],
  }),
];

export const chartRenders: PolicyTarget[] = [ciliumAgent, ciliumEnvoy, ciliumOperator, traefikDeployment, ...traefikServices, ...certManager, ...certManagerRoles, reflector, ...monitoring];
