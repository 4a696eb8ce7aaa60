import { ResourceValidationPolicy } from "@pulumi/policy";
import { exemptionAnnotation } from "../components/contract/policyNames";
import { API_CLIENT_EXEMPTIONS, CILIUM_EXEMPTION, HOST_ACCESS_EXEMPTIONS, describe, effective, exemptionOf, LONG_RUNNING, Workload, workloadOf, workloadRule } from "./workloads";

const perContainer = (w: Workload, problem: (c: Workload["containers"][number]) => string | undefined) =>
  w.containers.map((c) => problem(c)).filter((p): p is string => p !== undefined);

// Pod Security Standards, baseline.
export const hostNamespaces = workloadRule({
  id: "k8s-host-namespaces",
  description: "Pods do not share the node's network, PID or IPC namespace (Pod Security baseline).",
  remediation: "Remove hostNetwork, hostPID and hostIPC.",
  exemptNamespaces: HOST_ACCESS_EXEMPTIONS,
  check: (w) => (["hostNetwork", "hostPID", "hostIPC"] as const).filter((f) => w.pod[f]).map((f) => `sets ${f}: true`),
});

export const privileged = workloadRule({
  id: "k8s-privileged",
  description: "No container runs privileged (Pod Security baseline).",
  remediation: "Drop privileged: true; add the one capability the container needs instead.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => perContainer(w, (c) => (c.securityContext?.privileged ? `${describe(c)} is privileged` : undefined)),
});

export const capabilities = workloadRule({
  id: "k8s-capabilities",
  description: "Containers add no capability but NET_BIND_SERVICE (Pod Security restricted; baseline's list is wider).",
  remediation: "Remove capabilities.add, or bind high ports; NET_ADMIN belongs in an exempted setup container only.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => perContainer(w, (c) => {
    const added = ((c.securityContext?.capabilities?.add ?? []) as string[]).filter((cap) => cap !== "NET_BIND_SERVICE");
    return added.length ? `${describe(c)} adds ${added.join(", ")}` : undefined;
  }),
});

export const hostPath = workloadRule({
  id: "k8s-host-path",
  description: "No hostPath volumes (Pod Security baseline).",
  remediation: "Use a PersistentVolumeClaim, a ConfigMap or an emptyDir.",
  exemptNamespaces: HOST_ACCESS_EXEMPTIONS,
  check: (w) => (w.pod.volumes ?? []).filter((v) => v.hostPath).map((v) => `volume "${v.name}" is a hostPath`),
});

export const hostPorts = workloadRule({
  id: "k8s-host-ports",
  description: "No container binds a host port (Pod Security baseline).",
  remediation: "Expose the port through a Service.",
  exemptNamespaces: HOST_ACCESS_EXEMPTIONS,
  check: (w) => perContainer(w, (c) => {
    const ports = (c.ports ?? []).filter((p) => p.hostPort).map((p) => p.hostPort);
    return ports.length ? `${describe(c)} binds host port ${ports.join(", ")}` : undefined;
  }),
});

export const procMount = workloadRule({
  id: "k8s-proc-mount",
  description: "Containers keep the default /proc mask (Pod Security baseline).",
  remediation: "Remove procMount, or set it to Default.",
  check: (w) => perContainer(w, (c) => (c.securityContext?.procMount && c.securityContext.procMount !== "Default" ? `${describe(c)} sets procMount ${c.securityContext.procMount}` : undefined)),
});

/** Sysctls Kubernetes treats as safe (namespaced, isolated per pod). */
export const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);

export const sysctls = workloadRule({
  id: "k8s-sysctls",
  description: "Pods set only the safe sysctls (Pod Security baseline).",
  remediation: "Remove the sysctl; unsafe ones reach beyond the pod.",
  check: (w) => ((w.pod.securityContext?.sysctls ?? []) as { name: string }[]).filter((s) => !SAFE_SYSCTLS.has(s.name)).map((s) => `sets unsafe sysctl ${s.name}`),
});

const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

export const apparmorSelinux = workloadRule({
  id: "k8s-apparmor-selinux",
  description: "No container runs AppArmor-unconfined or with a custom SELinux user, role or type (Pod Security baseline).",
  remediation: "Remove the AppArmor or SELinux override.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => {
    const problems: string[] = [];
    const contexts = [{ where: "the pod", ctx: w.pod.securityContext }, ...w.containers.map((c) => ({ where: describe(c), ctx: c.securityContext }))];
    for (const { where, ctx } of contexts) {
      if (ctx?.appArmorProfile?.type === "Unconfined") problems.push(`${where} is AppArmor-unconfined`);
      const se = ctx?.seLinuxOptions;
      if (se && (se.user || se.role || !SELINUX_TYPES.has(se.type ?? ""))) problems.push(`${where} overrides SELinux options`);
    }
    for (const [key, value] of Object.entries(w.podAnnotations)) {
      if (key.startsWith("container.apparmor.security.beta.kubernetes.io/") && value === "unconfined") problems.push(`annotation ${key} makes a container AppArmor-unconfined`);
    }
    return problems;
  },
});

// Pod Security Standards, restricted.
const ALLOWED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

export const volumeTypes = workloadRule({
  id: "k8s-volume-types",
  description: "Volumes are of the kinds Pod Security restricted allows: configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret.",
  remediation: "Reach storage through a PersistentVolumeClaim.",
  exemptNamespaces: HOST_ACCESS_EXEMPTIONS,
  check: (w) => (w.pod.volumes ?? []).flatMap((v) => Object.keys(v).filter((k) => k !== "name" && !ALLOWED_VOLUMES.has(k)).map((k) => `volume "${v.name}" is of type ${k}`)),
});

export const privilegeEscalation = workloadRule({
  id: "k8s-privilege-escalation",
  description: "Every container sets allowPrivilegeEscalation: false (Pod Security restricted).",
  remediation: "Set securityContext.allowPrivilegeEscalation: false.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => perContainer(w, (c) => (c.securityContext?.allowPrivilegeEscalation === false ? undefined : `${describe(c)} does not set allowPrivilegeEscalation: false`)),
});

export const runAsNonRoot = workloadRule({
  id: "k8s-run-as-non-root",
  description: "Every container runs with runAsNonRoot: true, on itself or from the pod (Pod Security restricted).",
  remediation: "Set securityContext.runAsNonRoot: true and an image user that is not root.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => perContainer(w, (c) => (effective(w, c, "runAsNonRoot") === true ? undefined : `${describe(c)} may run as root (runAsNonRoot is not true)`)),
});

export const runAsUser = workloadRule({
  id: "k8s-run-as-user",
  description: "No container or pod sets runAsUser: 0 (Pod Security restricted).",
  remediation: "Use a non-zero user id.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => [...(w.pod.securityContext?.runAsUser === 0 ? ["the pod sets runAsUser: 0"] : []), ...perContainer(w, (c) => (c.securityContext?.runAsUser === 0 ? `${describe(c)} sets runAsUser: 0` : undefined))],
});

export const seccomp = workloadRule({
  id: "k8s-seccomp",
  description: "Every container has a RuntimeDefault or Localhost seccomp profile, on itself or from the pod (Pod Security restricted).",
  remediation: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => perContainer(w, (c) => {
    const type = effective(w, c, "seccompProfile")?.type;
    return type === "RuntimeDefault" || type === "Localhost" ? undefined : `${describe(c)} has seccomp profile ${type ?? "unset"}`;
  }),
});

export const dropAllCapabilities = workloadRule({
  id: "k8s-capabilities-drop-all",
  description: "Every container drops ALL capabilities (Pod Security restricted).",
  remediation: "Set securityContext.capabilities.drop: [ALL].",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => perContainer(w, (c) => (((c.securityContext?.capabilities?.drop ?? []) as string[]).includes("ALL") ? undefined : `${describe(c)} does not drop ALL capabilities`)),
});

// Beyond Pod Security.
export const imagePinned = workloadRule({
  id: "k8s-image-pinned",
  description: "Every image is pinned by a tag other than latest, or by digest.",
  remediation: "Use repository:version or repository@sha256:<digest>.",
  check: (w) => perContainer(w, (c) => {
    const image = c.image ?? "";
    if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
    const tag = /:([^/:]+)$/.exec(image)?.[1];
    return tag && tag !== "latest" ? undefined : `${describe(c)} uses unpinned image "${image}"`;
  }),
});

export const resources = workloadRule({
  id: "k8s-resources",
  description: "Every container requests CPU and memory and limits memory.",
  remediation: "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory.",
  check: (w) => perContainer(w, (c) => {
    const missing = [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]].filter(([kind, what]) => !(c.resources as any)?.[kind]?.[what]).map(([kind, what]) => `${kind}.${what}`);
    return missing.length ? `${describe(c)} lacks ${missing.join(", ")}` : undefined;
  }),
});

export const probes = workloadRule({
  id: "k8s-probes",
  description: "Every main container of a long-running workload has readiness and liveness probes.",
  remediation: "Add readinessProbe and livenessProbe.",
  exemptNamespaces: { "cert-manager": "the chart gives cert-manager's controller and cainjector no readiness probe; they serve no traffic, and the webhook, which does, has both" },
  check: (w) => (LONG_RUNNING.has(w.type) ? perContainer(w, (c) => {
    if (c.role !== "main") return undefined;
    const missing = (["readinessProbe", "livenessProbe"] as const).filter((p) => !c[p]);
    return missing.length ? `${describe(c)} has no ${missing.join(" or ")}` : undefined;
  }) : []),
});

export const serviceAccountToken = workloadRule({
  id: "k8s-service-account-token",
  description: "Pods do not mount a service account token unless they talk to the API.",
  remediation: "Set automountServiceAccountToken: false on the pod spec.",
  exemptNamespaces: API_CLIENT_EXEMPTIONS,
  check: (w) => (w.pod.automountServiceAccountToken === false ? [] : ["does not set automountServiceAccountToken: false"]),
});

const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)/i;

export const noPlainSecrets = workloadRule({
  id: "k8s-no-plain-secrets",
  description: "No environment variable whose name says secret carries a literal value; secrets come by reference.",
  remediation: "Use valueFrom.secretKeyRef.",
  check: (w) => w.containers.flatMap((c) => (c.env ?? []).filter((e) => SECRET_NAME.test(e.name) && typeof e.value === "string" && e.value !== "").map((e) => `${describe(c)} sets ${e.name} to a literal value`)),
});

export const readOnlyRootFilesystem = workloadRule({
  id: "k8s-read-only-root-fs",
  description: "Every container has a read-only root filesystem.",
  remediation: "Set readOnlyRootFilesystem: true and mount emptyDir volumes where the app writes.",
  exemptNamespaces: CILIUM_EXEMPTION,
  check: (w) => perContainer(w, (c) => (c.securityContext?.readOnlyRootFilesystem === true ? undefined : `${describe(c)} has a writable root filesystem`)),
});

export const notDefaultNamespace = workloadRule({
  id: "k8s-not-default-namespace",
  description: "No workload lives in the default namespace.",
  remediation: "Give the workload a namespace of its own.",
  check: (w) => (!w.namespace || w.namespace === "default" ? ["is in the default namespace"] : []),
});

/** Every workload rule, in the order the pack reports them. */
export const workloadRules = [
  hostNamespaces, privileged, capabilities, hostPath, hostPorts, procMount, sysctls, apparmorSelinux,
  volumeTypes, privilegeEscalation, runAsNonRoot, runAsUser, seccomp, dropAllCapabilities,
  imagePinned, resources, probes, serviceAccountToken, noPlainSecrets, readOnlyRootFilesystem, notDefaultNamespace,
];

/** Namespace exemptions each rule applies by default, for the report. */
const defaultNamespaceExemptions = new Map(workloadRules.map((r) => [r.name, ((r.configSchema?.properties.exemptNamespaces as { default?: Record<string, string> })?.default ?? {})]));

export const exemptionReport: ResourceValidationPolicy = {
  name: "k8s-exemptions",
  description: "Lists every exemption in force, with its reason: a passing mandatory rule prints nothing, so waivers would otherwise go unseen.",
  enforcementLevel: "advisory",
  remediationSteps: "Review each exemption; remove it when the workload no longer needs it.",
  validateResource: (args, report) => {
    const workload = workloadOf(args.type, args.props);
    if (!workload) return args.notApplicable("not a workload");
    // One line per reason: a chart namespace is exempt from many rules for one reason.
    const rulesByReason = new Map<string, string[]>();
    for (const [ruleId, namespaces] of defaultNamespaceExemptions) {
      const reason = exemptionOf(workload, ruleId, namespaces);
      if (reason) rulesByReason.set(reason, [...(rulesByReason.get(reason) ?? []), ruleId]);
    }
    for (const [reason, ruleIds] of rulesByReason) report(`${workload.kind} ${workload.namespace ?? "default"}/${workload.name} is exempt from ${ruleIds.join(", ")}: ${reason}`);
    for (const key of Object.keys(workload.annotations).filter((k) => k.startsWith(exemptionAnnotation("")))) {
      const ruleId = key.slice(exemptionAnnotation("").length);
      if (!defaultNamespaceExemptions.has(ruleId)) report(`${workload.kind} ${workload.namespace ?? "default"}/${workload.name} names an unknown rule in ${key}`);
      else if (!workload.annotations[key].trim()) report(`${workload.kind} ${workload.namespace ?? "default"}/${workload.name} has ${key} without a reason, so it exempts nothing`);
    }
  },
};

export const kubernetesWorkloadPolicies = [...workloadRules, exemptionReport];
