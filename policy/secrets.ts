import { stackRule } from "./support";
import { Workload, workloadOf } from "./workloads";

const SECRET = "kubernetes:core/v1:Secret";
const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";

/** One Secret a Pod template reads, and from where, for the message. */
interface SecretReference {
  name: string;
  where: string;
}

type Ref = { name?: string; optional?: boolean } | undefined;
const required = (ref: Ref, where: string): SecretReference[] => (ref?.name && ref.optional !== true ? [{ name: ref.name, where }] : []);

/**
 * Every Secret a pod cannot start without: env valueFrom.secretKeyRef, envFrom secretRef, secret volumes and the
 * secret sources of projected volumes, and image pull secrets. References marked optional are left out: the kubelet
 * starts the pod without them.
 */
export function secretReferences(workload: Workload): SecretReference[] {
  const fromContainers = workload.containers.flatMap((c) => {
    const container = c as typeof c & { envFrom?: { secretRef?: Ref }[] };
    return [
      ...(container.env ?? []).flatMap((e) => required((e.valueFrom as { secretKeyRef?: Ref } | undefined)?.secretKeyRef, `container "${c.name}" env ${e.name}`)),
      ...(container.envFrom ?? []).flatMap((e) => required(e.secretRef, `container "${c.name}" envFrom`)),
    ];
  });
  const fromVolumes = (workload.pod.volumes ?? []).flatMap((v) => {
    const volume = v as { name?: string; secret?: { secretName?: string; optional?: boolean }; projected?: { sources?: { secret?: Ref }[] } };
    return [
      ...required(volume.secret && { name: volume.secret.secretName, optional: volume.secret.optional }, `volume "${volume.name}"`),
      ...(volume.projected?.sources ?? []).flatMap((s) => required(s.secret, `projected volume "${volume.name}"`)),
    ];
  });
  const pullSecrets = ((workload.pod as { imagePullSecrets?: { name?: string }[] }).imagePullSecrets ?? []).flatMap((s) => required(s, "imagePullSecrets"));
  return [...fromContainers, ...fromVolumes, ...pullSecrets];
}

/** Secrets made by something other than a resource of the stack, as "namespace/name" → who makes them. */
export interface SecretsExistConfig {
  createdElsewhere: Record<string, string>;
}

export const secretsExist = stackRule({
  id: "k8s-secrets-exist",
  description:
    "Every Secret a workload reads (env, envFrom, secret and projected volumes, image pull secrets) is made by this stack: a Secret in the workload's namespace, or the secretName of a Certificate there. A pod whose Secret nothing creates never starts.",
  remediation:
    "Create the Secret in the program (an app's: homelab:appSecrets), mark the reference optional if the pod runs without it, or, for a Secret a controller makes at run time, list it under this rule's createdElsewhere as namespace/name with who makes it.",
  configSchema: { properties: { createdElsewhere: { type: "object", default: {} } } },
  validate: (args, report) => {
    const elsewhere = args.getConfig<SecretsExistConfig>().createdElsewhere;
    const made = new Set<string>(Object.keys(elsewhere));
    for (const r of args.resources) {
      const namespace = r.props.metadata?.namespace ?? "default";
      if (r.type === SECRET && r.props.metadata?.name) made.add(`${namespace}/${r.props.metadata.name}`);
      if (r.type === CERTIFICATE && r.props.spec?.secretName) made.add(`${namespace}/${r.props.spec.secretName}`);
    }
    for (const r of args.resources) {
      const workload = workloadOf(r.type, r.props);
      if (!workload) continue;
      const namespace = workload.namespace ?? "default";
      for (const ref of secretReferences(workload)) {
        if (!made.has(`${namespace}/${ref.name}`)) report(`${workload.kind} ${namespace}/${workload.name} reads Secret ${ref.name} (${ref.where}), which nothing in the stack creates`, r.urn);
      }
    }
  },
});
