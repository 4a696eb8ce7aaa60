/** Pod Security Standards levels. */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** A container as Pod Security restricted wants it: no escalation, no capability, read-only root, never root. */
export const RESTRICTED_CONTAINER = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, runAsNonRoot: true };

/**
 * A pod security context as Pod Security restricted wants it: one non-root user and group, the default seccomp
 * profile and, unless turned off, that group as the fsGroup, so claims the pod mounts are writable to it.
 */
export function restrictedPod(uid: number, options: { fsGroup: boolean } = { fsGroup: true }) {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, ...(options.fsGroup ? { fsGroup: uid } : {}), seccompProfile: { type: "RuntimeDefault" } };
}

/** One Pod Security rule a namespace waives, and why. */
export interface PodSecurityWaiver {
  /** The control waived, as Pod Security Standards name it (e.g. "capabilities", "runAsNonRoot"). */
  rule: string;
  reason: string;
}

/** Annotation that names each waived control and its reason, on a namespace enforced below restricted. */
export const WAIVER_ANNOTATION = "homelab.dev/pod-security-waivers";

/**
 * Labels for Pod Security admission. Admission has no per-workload exemption, so a namespace that needs less than
 * restricted is enforced at that level while still warning and auditing against restricted.
 */
export function podSecurityLabels(enforce: PodSecurityLevel): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": enforce,
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
  };
}

/** The waiver annotation: required whenever enforcement is below restricted, so every exception has a reason. */
export function waiverAnnotations(waivers: PodSecurityWaiver[]): Record<string, string> {
  if (waivers.length === 0) return {};
  return { [WAIVER_ANNOTATION]: waivers.map((w) => `${w.rule}: ${w.reason}`).join("; ") };
}
