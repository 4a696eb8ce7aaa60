import type { EnforcementLevel, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { RecordedResource } from "./engine";
import { providerState } from "./fakes";

/** A resource as a policy sees it. */
export interface PolicyTarget {
  type: string;
  name: string;
  urn: string;
  /** What resource policies see: the inputs. */
  props: Record<string, unknown>;
  /** A component's registered outputs; stack policies see these, and a custom resource's provider state, as the engine does. */
  outputs?: Record<string, unknown>;
  parent?: string;
  options?: Partial<RecordedResource["options"]>;
}

export interface Violation {
  policy: string;
  level: EnforcementLevel;
  message: string;
  /** The resource it concerns, when the policy named one. */
  urn?: string;
}

/** Per-policy config as `--policy-pack-config` gives it: any of the policy's own keys, and enforcementLevel. */
export type PackConfig = Record<string, Record<string, unknown> & { enforcementLevel?: EnforcementLevel }>;

type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;

class NotApplicable extends Error {}

function configFor(policy: AnyPolicy, config: PackConfig): Record<string, unknown> {
  const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).map(([key, schema]) => [key, (schema as { default?: unknown }).default]));
  return { ...defaults, ...(config[policy.name] ?? {}) };
}

const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

function policyResource(target: PolicyTarget): PolicyResource {
  return {
    type: target.type,
    name: target.name,
    urn: target.urn,
    props: target.props,
    opts: {
      protect: Boolean(target.options?.protect),
      ignoreChanges: target.options?.ignoreChanges ?? [],
      deleteBeforeReplace: target.options?.deleteBeforeReplace,
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: target.options?.additionalSecretOutputs ?? [],
      parent: target.parent,
    },
    dependencies: [],
    propertyDependencies: {},
    isType: (cls: unknown) => (cls as { __pulumiType?: string }).__pulumiType === target.type,
    asType: (cls: unknown) => ((cls as { __pulumiType?: string }).__pulumiType === target.type ? (target.props as never) : undefined),
  };
}

/**
 * Runs policies in process the way the CLI's analyzer calls them (@pulumi/policy 1.21 argument shapes, with
 * notApplicable and stackTags), and returns what they report. Nothing here starts a PolicyPack.
 */
export async function runPolicies(policies: AnyPolicy[], targets: PolicyTarget[], config: PackConfig = {}): Promise<Violation[]> {
  const violations: Violation[] = [];
  const stackTags = new Map<string, string>();
  const resources = targets.map(policyResource);
  const stackResources = targets.map((target) => policyResource({ ...target, props: target.outputs ?? providerState(target.type, target.props) }));
  for (const policy of policies) {
    const level = config[policy.name]?.enforcementLevel ?? policy.enforcementLevel ?? "advisory";
    if (level === "disabled") continue;
    const getConfig = <T>() => configFor(policy, config) as T;
    const report = (message: string, urn?: string) => violations.push({ policy: policy.name, level, message, urn });
    try {
      if ("validateStack" in policy) {
        await policy.validateStack({ resources: stackResources, stackTags, getConfig, notApplicable }, report);
        continue;
      }
      const validations = [policy.validateResource ?? []].flat();
      for (const resource of resources) {
        const { type, name, urn, props, opts, isType } = resource;
        // asType differs only in its declared return type between the stack and resource forms.
        const asType = resource.asType as unknown as ResourceValidationArgs["asType"];
        const args: ResourceValidationArgs = { type, name, urn, props, opts, isType, asType, stackTags, getConfig, notApplicable };
        for (const validate of validations) {
          try {
            await validate(args, (message, reportedUrn) => report(message, reportedUrn ?? urn));
          } catch (err) {
            if (!(err instanceof NotApplicable)) throw err;
          }
        }
      }
    } catch (err) {
      if (!(err instanceof NotApplicable)) throw err;
    }
  }
  return violations;
}

/** The engine's records as policy targets. */
export function targetsOf(resources: RecordedResource[]): PolicyTarget[] {
  return resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, outputs: r.outputs, parent: r.parent, options: r.options }));
}

/** Violations grouped by policy, one line each, for the plan's output. */
export function renderViolations(violations: Violation[]): string {
  const byPolicy = new Map<string, Violation[]>();
  for (const v of violations) byPolicy.set(v.policy, [...(byPolicy.get(v.policy) ?? []), v]);
  return [...byPolicy]
    .map(([policy, list]) => [`[${list[0].level}] ${policy}`, ...list.map((v) => `  - ${v.message}${v.urn ? `  (${v.urn.split("::").pop()})` : ""}`)].join("\n"))
    .join("\n");
}
