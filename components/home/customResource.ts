import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** The parts of a custom object this program sets: its type, a name, and a spec; status belongs to the controller. */
type Settable<M> = Omit<M, "status" | "metadata"> & { metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } };

/**
 * A CustomResource whose body is checked by tsc against the CRD's model interface (from @kubernetes-models/*), so a
 * misspelt field fails the build instead of the apply. `apiextensions.CustomResource` on its own accepts anything.
 */
export function typedCustomResource<M extends { apiVersion: string; kind: string }>(
  name: string,
  body: Settable<M>,
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(name, body as unknown as k8s.apiextensions.CustomResourceArgs, opts);
}
