import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PodSecurityLevel, podSecurityLabels, PodSecurityWaiver, waiverAnnotations } from "../home/podSecurity";
import { namespacePolicies, registerNetworkPolicies } from "./networkPolicies";

export interface AppNamespaceArgs {
  /** The namespace's name: an app's own, or its group's. */
  namespace: string;
  /** Pod Security controls some member needs waived, each with its reason; none keeps it restricted. */
  waivers: PodSecurityWaiver[];
}

/** The Pod Security level a namespace enforces: restricted, unless a member needs a control waived. */
export function namespaceLevel(waivers: PodSecurityWaiver[]): PodSecurityLevel {
  return waivers.length ? "privileged" : "restricted";
}

/**
 * A namespace for one app or a group of them, labelled for Pod Security admission and closed by default: the
 * namespace-wide policies live here, each app's openings with the app.
 */
export class AppNamespace extends pulumi.ComponentResource {
  readonly name: string;
  /** The Namespace object, for the apps' objects to wait on. */
  readonly resource: k8s.core.v1.Namespace;

  constructor(name: string, args: AppNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:apps:AppNamespace", name, {}, opts);
    this.name = args.namespace;
    // Admission has no per-workload exemption: one member's waiver applies namespace-wide, so each is named with its reason.
    this.resource = new k8s.core.v1.Namespace(
      name,
      { metadata: { name: args.namespace, labels: podSecurityLabels(namespaceLevel(args.waivers)), annotations: waiverAnnotations(args.waivers) } },
      // Deleting a namespace deletes every claim in it, retained or not. Retained always, not only while the catalog
      // gives it storage: claims kept from earlier removals stay in the cluster after the catalog forgets them.
      { parent: this, retainOnDelete: true },
    );
    registerNetworkPolicies(name, args.namespace, namespacePolicies(), { parent: this, dependsOn: [this.resource] });
    this.registerOutputs({ name: this.name });
  }
}
