import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { podSecurityLabels, RESTRICTED_CONTAINER } from "./podSecurity";

export interface ReflectorArgs {
  /** Exact chart version. */
  version: string;
  /** The namespaces Reflector writes copies into, each with the resource that makes it. */
  targets: { namespace: string; madeBy: pulumi.Resource }[];
}

export const REFLECTOR_NAMESPACE = "reflector";
/** The chart's ServiceAccount: its fullname, since the release is named after the chart. */
export const REFLECTOR_SERVICE_ACCOUNT = "reflector";

/**
 * What Reflector v10.0.63 calls (src/ES.Kubernetes.Reflector: Watchers/*Watcher.cs, Mirroring/*Mirror.cs and
 * Core/ResourceMirror.cs). Its watchers list and watch Secrets, ConfigMaps and namespaces across the cluster, so
 * reading cannot be narrowed; a copy is made with create, kept current with a JSON patch and removed with delete,
 * and those go only where a copy may land.
 */
export const REFLECTOR_RULES = {
  read: [
    { apiGroups: [""], resources: ["secrets", "configmaps"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
  ],
  write: [{ apiGroups: [""], resources: ["secrets", "configmaps"], verbs: ["create", "patch", "delete"] }],
};

/**
 * Reflector copies Secrets and ConfigMaps into the namespaces their annotations list. Which objects and which
 * namespaces is decided where they are made (see reflection.ts); this installs the controller with its own RBAC in
 * place of the chart's, whose ClusterRole grants every verb on every Secret and ConfigMap in the cluster
 * (templates/clusterRole.yaml), so that it may write only into the namespaces it serves.
 */
export class Reflector extends pulumi.ComponentResource {
  constructor(name: string, args: ReflectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:Reflector", name, {}, opts);
    const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: REFLECTOR_NAMESPACE, labels: podSecurityLabels("restricted") } }, { parent: this });
    const subjects = [{ kind: "ServiceAccount", name: REFLECTOR_SERVICE_ACCOUNT, namespace: REFLECTOR_NAMESPACE }];
    const read = new k8s.rbac.v1.ClusterRole(`${name}-read`, { metadata: { name: `${name}-read` }, rules: REFLECTOR_RULES.read }, { parent: this });
    const readBinding = new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-read`,
      { metadata: { name: `${name}-read` }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${name}-read` }, subjects },
      { parent: this, dependsOn: [read] },
    );
    // One ClusterRole for the writes, granted by a RoleBinding in each target namespace, so it holds in those alone.
    const write = new k8s.rbac.v1.ClusterRole(`${name}-write`, { metadata: { name: `${name}-write` }, rules: REFLECTOR_RULES.write }, { parent: this });
    const writeBindings = args.targets.map(
      (target) =>
        new k8s.rbac.v1.RoleBinding(
          `${name}-write-${target.namespace}`,
          { metadata: { name: `${name}-write`, namespace: target.namespace }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `${name}-write` }, subjects },
          { parent: this, dependsOn: [write, target.madeBy] },
        ),
    );
    new k8s.helm.v4.Chart(
      name,
      {
        name: "reflector",
        chart: "reflector",
        repositoryOpts: { repo: "https://emberstack.github.io/helm-charts" },
        version: args.version,
        namespace: REFLECTOR_NAMESPACE,
        values: {
          rbac: { enabled: false },
          serviceAccount: { create: true, name: REFLECTOR_SERVICE_ACCOUNT },
          podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          securityContext: { ...RESTRICTED_CONTAINER, runAsUser: 1000 },
          resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        },
      },
      { parent: this, dependsOn: [namespace, readBinding, ...writeBindings] },
    );
    this.registerOutputs({});
  }
}
