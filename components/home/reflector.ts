import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { podSecurityLabels, RESTRICTED_CONTAINER } from "./podSecurity";

export interface ReflectorArgs {
  /** Exact chart version. */
  version: string;
}

export const REFLECTOR_NAMESPACE = "reflector";

/**
 * Reflector copies Secrets and ConfigMaps into the namespaces their annotations list. Which objects and which
 * namespaces is decided where they are made (see reflection.ts); this only installs the controller.
 */
export class Reflector extends pulumi.ComponentResource {
  constructor(name: string, args: ReflectorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:Reflector", name, {}, opts);
    const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: REFLECTOR_NAMESPACE, labels: podSecurityLabels("restricted") } }, { parent: this });
    new k8s.helm.v4.Chart(
      name,
      {
        name: "reflector",
        chart: "reflector",
        repositoryOpts: { repo: "https://emberstack.github.io/helm-charts" },
        version: args.version,
        namespace: REFLECTOR_NAMESPACE,
        values: {
          podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          securityContext: { ...RESTRICTED_CONTAINER, runAsUser: 1000 },
          resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        },
      },
      { parent: this, dependsOn: [namespace] },
    );
    this.registerOutputs({});
  }
}
