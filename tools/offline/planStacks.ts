import { createHash } from "node:crypto";
import { appSecretReads } from "../../components/apps/appSecret";
import { APP_SECRETS_KEY, resolveAppSecrets } from "../../components/config/appSecrets";
import { Advice, edgeAdvice, homeAdvice } from "../../components/config/advice";
import { Placeholder, placeholdersIn } from "../../components/config/placeholders";
import { parseEdgeConfig, parseHomeConfig, projectKeys } from "../../components/config/schema";
import { EDGE_SECRET_OUTPUTS } from "../../components/contract/edge";
import { buildStack } from "../../components/stacks";
import { allPolicies } from "../../policy/policies";
import { OfflineRun, RecordedResource, runOffline, StackReferenceState } from "./engine";
import { packConfigFor } from "./packConfig";
import { PackConfig, runPolicies, targetsOf, Violation } from "./policyRunner";
import { loadPlanConfig } from "./stackConfig";

export type PlannedStack = "edge" | "home";

export interface StackPlan {
  stack: PlannedStack;
  run: OfflineRun;
  /** What the policy pack reports for this stack's resources. */
  violations: Violation[];
  /** Operator-set secrets the stack does not set (app secrets by their path), planned with a stand-in; a real deploy needs each. */
  standIns: string[];
  /** The example's values still in the stack's config, which a real engine refuses. */
  placeholders: Placeholder[];
  /** What the config deploys without that an operator would expect; a real engine warns of each too. */
  advice: Advice[];
}

export interface Plan {
  stacks: StackPlan[];
  /** The pack config the catalog implies, as `--policy-pack-config` takes it. */
  packConfig: PackConfig;
}

/** The edge run's outputs, as the home stack's StackReference would read them. */
export function asStackReference(edge: OfflineRun): StackReferenceState {
  return {
    outputs: Object.fromEntries(Object.entries(edge.outputs).map(([k, o]) => [k, o.value])),
    secretOutputNames: Object.entries(edge.outputs)
      .filter(([, o]) => o.secret)
      .map(([k]) => k),
  };
}

/**
 * Plans the requested stacks from the config files in `dir`. Home always needs the edge's outputs, so planning home
 * plans the edge first.
 */
export async function planStacks(stacks: PlannedStack[], dir = process.cwd()): Promise<Plan> {
  const plans: StackPlan[] = [];
  const edgeConfig = loadPlanConfig("edge", dir);
  const homeConfig = loadPlanConfig("home", dir);
  const packConfig = packConfigFor(parseEdgeConfig(projectKeys(edgeConfig.config)), stacks.includes("home") ? parseHomeConfig(projectKeys(homeConfig.config)) : undefined);
  const withVerdicts = async (stack: PlannedStack, run: OfflineRun): Promise<StackPlan> => {
    const { standIns, config } = stack === "edge" ? edgeConfig : homeConfig;
    const raw = projectKeys(config);
    const home = stack === "home" ? parseHomeConfig(raw) : undefined;
    // The program stood in for the same keys: resolving them again here only names them.
    const appSecrets = home ? resolveAppSecrets(raw[APP_SECRETS_KEY], appSecretReads(home.services), { standIns: true }).standIns : [];
    const advice = home ? homeAdvice(home) : edgeAdvice(parseEdgeConfig(raw));
    return { stack, run, violations: await runPolicies(allPolicies, targetsOf(run.resources), packConfig), standIns: [...standIns, ...appSecrets], placeholders: placeholdersIn(raw), advice };
  };
  const edge = await runOffline({ stack: "edge", project: edgeConfig.project, config: edgeConfig.config, secretKeys: edgeConfig.secretKeys, program: () => buildStack("edge") });
  if (stacks.includes("edge")) plans.push(await withVerdicts("edge", edge));
  if (stacks.includes("home")) {
    const edgeStackName = homeConfig.config[`${homeConfig.project}:edgeStack`];
    const home = await runOffline({
      stack: "home",
      project: homeConfig.project,
      config: homeConfig.config,
      secretKeys: homeConfig.secretKeys,
      stackReferences: edgeStackName ? { [edgeStackName]: asStackReference(edge) } : {},
      program: () => buildStack("home"),
    });
    plans.push(await withVerdicts("home", home));
  }
  return { stacks: plans, packConfig };
}

/**
 * A masked secret that still changes when the value does, so a diff shows that a secret changed. Offline plans hold
 * only fake keys and placeholders, and 32 bits of a hash give nothing away about a value even then.
 */
export function maskSecret(value: unknown): string {
  return `[secret ${createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 8)}]`;
}

/** A resource as resources.json shows it: secret inputs masked, parent by type and name. */
export function describeResource(resource: RecordedResource, byUrn: Map<string, RecordedResource>) {
  const parent = resource.parent ? byUrn.get(resource.parent) : undefined;
  return {
    type: resource.type,
    name: resource.name,
    parent: parent ? `${parent.type}::${parent.name}` : undefined,
    inputs: Object.fromEntries(Object.entries(resource.inputs).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, resource.secretInputs.includes(k) ? maskSecret(v) : v])),
    secretInputs: resource.secretInputs.length ? [...resource.secretInputs].sort() : undefined,
    options: resource.options,
  };
}

/** resources.json: every resource, secrets masked, in a stable order so two plans of one tree are byte-identical. */
export function renderResourcesJson(run: OfflineRun): string {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const described = run.resources.map((r) => describeResource(r, byUrn));
  return `${JSON.stringify(described, null, 2)}\n`;
}

/** outputs.json: the stack outputs, secrets masked. */
export function renderOutputsJson(run: OfflineRun): string {
  const masked = Object.fromEntries(Object.entries(run.outputs).sort(([a], [b]) => a.localeCompare(b)).map(([k, o]) => [k, o.secret ? maskSecret(o.value) : o.value]));
  return `${JSON.stringify(masked, null, 2)}\n`;
}

/** The resource tree, grouped under each component, with counts. */
export function renderTree(run: OfflineRun): string {
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of run.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const lines: string[] = [];
  const walk = (urn: string | undefined, depth: number) => {
    for (const r of children.get(urn) ?? []) {
      const kids = children.get(r.urn)?.length ?? 0;
      const notes = [
        kids ? `${kids} children` : "",
        r.options.retainOnDelete ? "kept on delete" : "",
        r.options.deleteBeforeReplace ? "delete before replace" : "",
        r.options.ignoreChanges.length ? `ignores ${r.options.ignoreChanges.join(", ")}` : "",
      ].filter(Boolean);
      lines.push(`${"  ".repeat(depth)}${r.type} ${r.name}${notes.length ? `  (${notes.join("; ")})` : ""}`);
      walk(r.urn, depth + 1);
    }
  };
  walk(undefined, 0);
  const byType = new Map<string, number>();
  for (const r of run.resources) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  lines.push("", `${run.resources.length} resources:`);
  for (const [type, count] of [...byType].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${String(count).padStart(3)}  ${type}`);
  return `${lines.join("\n")}\n`;
}

/** Output keys the contract requires to be secret, where the run left them plain. */
export function contractSecretProblems(stack: PlannedStack, run: OfflineRun): string[] {
  if (stack !== "edge") return [];
  return EDGE_SECRET_OUTPUTS.filter((key) => run.outputs[key] && !run.outputs[key].secret).map((key) => `stack output "${key}" must be secret`);
}
