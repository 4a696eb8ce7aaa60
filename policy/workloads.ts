import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { exemptionAnnotation } from "../components/contract/policyNames";

/** Resource types whose objects carry a Pod template, and where it sits. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  "kubernetes:core/v1:Pod": [],
  "kubernetes:apps/v1:Deployment": ["spec", "template"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template"],
  "kubernetes:batch/v1:Job": ["spec", "template"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template"],
};

/** Workloads that run until stopped, and so need probes. */
export const LONG_RUNNING = new Set(["kubernetes:core/v1:Pod", "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:ReplicaSet"]);

export interface Container {
  name: string;
  image?: string;
  securityContext?: Record<string, any>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  ports?: { hostPort?: number; containerPort?: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
}

export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: Record<string, any>;
  automountServiceAccountToken?: boolean;
  volumes?: Record<string, unknown>[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
}

/** Every argument of every container of a workload; empty for anything else. */
export const containerArgs = (type: string, props: Record<string, any>): string[] =>
  (workloadOf(type, props)?.containers ?? []).flatMap((c) => (c as { args?: string[] }).args ?? []);

/** A workload as the rules see it. */
export interface Workload {
  type: string;
  kind: string;
  name: string;
  namespace?: string;
  annotations: Record<string, string>;
  /** Pod-template annotations, e.g. the legacy AppArmor ones. */
  podAnnotations: Record<string, string>;
  pod: PodSpec;
  /** Every container, init and ephemeral ones included, with where it came from. */
  containers: (Container & { role: "init" | "main" | "ephemeral" })[];
}

/** The Pod template of a workload object, or undefined for anything else. */
export function workloadOf(type: string, props: Record<string, any>): Workload | undefined {
  const path = POD_TEMPLATE_PATHS[type];
  if (!path) return undefined;
  const template = path.reduce<any>((value, key) => value?.[key], props) ?? {};
  const pod: PodSpec = template.spec ?? {};
  return {
    type,
    kind: type.split(":").pop()!,
    name: props.metadata?.name ?? "",
    namespace: props.metadata?.namespace,
    annotations: props.metadata?.annotations ?? {},
    podAnnotations: template.metadata?.annotations ?? {},
    pod,
    containers: [
      ...(pod.initContainers ?? []).map((c) => ({ ...c, role: "init" as const })),
      ...(pod.containers ?? []).map((c) => ({ ...c, role: "main" as const })),
      ...(pod.ephemeralContainers ?? []).map((c) => ({ ...c, role: "ephemeral" as const })),
    ],
  };
}

/** Namespaces whose objects a rule skips, each with its reason; set in the pack config per rule. */
export interface NamespaceExemptions {
  exemptNamespaces: Record<string, string>;
}

/** Cilium's agent and operator, rendered by their chart into kube-system, run with host access by design. */
export const CILIUM_EXEMPTION = { "kube-system": "Cilium's agent and operator are rendered by their chart and need host networking and privileges to be the CNI" };
/** node-exporter, rendered by kube-prometheus-stack into a namespace of its own, reports on the node itself. */
export const NODE_EXPORTER_EXEMPTION = {
  "node-exporter": "node-exporter reads the node's /proc, /sys and root filesystem and listens on the node's network, to report host metrics",
};
/** Cilium's and node-exporter's host access. */
export const HOST_ACCESS_EXEMPTIONS = { ...CILIUM_EXEMPTION, ...NODE_EXPORTER_EXEMPTION };
/** Controllers rendered by charts that watch the Kubernetes API, so they mount a service account token. */
export const CONTROLLER_EXEMPTIONS = {
  ...CILIUM_EXEMPTION,
  traefik: "Traefik's chart-rendered controller reads IngressRoutes and Services from the API",
  "cert-manager": "cert-manager's chart-rendered controllers manage Certificates through the API",
  reflector: "Reflector's chart-rendered controller copies Secrets and ConfigMaps through the API",
};
/** Chart-rendered workloads that call the API, so they mount a service account token. */
export const API_CLIENT_EXEMPTIONS = {
  ...CONTROLLER_EXEMPTIONS,
  monitoring: "kube-prometheus-stack's operator and kube-state-metrics, and its webhook set-up Jobs, work through the API",
};

/** What a workload rule checks: the problems it finds, as messages. */
export type WorkloadCheck = (workload: Workload) => string[];

export interface WorkloadRuleSpec {
  id: string;
  description: string;
  remediation: string;
  check: WorkloadCheck;
  /** Namespaces skipped unless the pack config says otherwise. */
  exemptNamespaces?: Record<string, string>;
}

/** Why a rule does not apply to a workload: an exempt namespace or an exemption annotation with a reason. */
export function exemptionOf(workload: Workload, ruleId: string, exemptNamespaces: Record<string, string>): string | undefined {
  if (workload.namespace && exemptNamespaces[workload.namespace]) return `namespace ${workload.namespace}: ${exemptNamespaces[workload.namespace]}`;
  const reason = workload.annotations[exemptionAnnotation(ruleId)]?.trim();
  return reason ? reason : undefined;
}

/** A rule over every Pod template, honouring exemptions. */
export function workloadRule(spec: WorkloadRuleSpec): ResourceValidationPolicy {
  return {
    name: spec.id,
    description: spec.description,
    enforcementLevel: "mandatory",
    remediationSteps: `${spec.remediation} To waive it for one workload, annotate it ${exemptionAnnotation(spec.id)}: <reason>.`,
    configSchema: { properties: { exemptNamespaces: { type: "object", default: spec.exemptNamespaces ?? {} } } },
    validateResource: (args: ResourceValidationArgs, report) => {
      const workload = workloadOf(args.type, args.props);
      if (!workload) return args.notApplicable("not a workload");
      if (exemptionOf(workload, spec.id, args.getConfig<NamespaceExemptions>().exemptNamespaces)) return;
      for (const problem of spec.check(workload)) report(problem);
    },
  };
}

/** A container's effective value of a securityContext field: its own, else the pod's. */
export function effective(workload: Workload, container: Container, field: string): any {
  return container.securityContext?.[field] ?? workload.pod.securityContext?.[field];
}

/** Names a container in a message. */
export const describe = (c: { name: string; role: string }) => `${c.role === "main" ? "container" : `${c.role} container`} "${c.name}"`;
