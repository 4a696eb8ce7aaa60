import { buildStack } from "../../components/stacks";
import { StackBuild } from "../../components/stackBuild";
import { OfflineRun, RecordedResource, runOffline } from "../../tools/offline/engine";
import { fakeId } from "../../tools/offline/fakes";
import { asStackReference } from "../../tools/offline/planStacks";
import { edgeStackConfig, validHomeRaw } from "./fixtures";
import { PROJECT } from "../../components/config/schema";

/** Runs the edge stack under the offline engine with the fixture config, some keys changed. */
export function runEdge(overrides: Record<string, string | undefined> = {}): Promise<OfflineRun> {
  const { config, secretKeys } = edgeStackConfig(overrides);
  return runOffline({ stack: "edge", config, secretKeys, program: () => buildStack("edge") });
}

/** Runs any program (a single component, say) under the offline engine, with no config at all. */
export function runProgram(program: () => StackBuild, stack = "test"): Promise<OfflineRun> {
  return runOffline({ stack, config: {}, program });
}

/** The resources of a type, optionally of one name. */
export function resourcesOf(run: OfflineRun, type: string, name?: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type && (name === undefined || r.name === name));
}

/** The one resource of a type and name; fails clearly when there is not exactly one. */
export function resourceOf(run: OfflineRun, type: string, name: string): RecordedResource {
  const found = resourcesOf(run, type, name);
  if (found.length !== 1) throw new Error(`expected one ${type} "${name}", found ${found.length}: ${run.resources.map((r) => `${r.type} ${r.name}`).join(", ")}`);
  return found[0];
}

/** Runs the home stack against an edge run's outputs (the fixture edge unless given), some home keys changed, some secret. */
export async function runHome(overrides: Record<string, string | undefined> = {}, edge?: OfflineRun, secretKeys: string[] = []): Promise<OfflineRun> {
  const edgeRun = edge ?? (await runEdge());
  const raw: Record<string, string | undefined> = { ...validHomeRaw(), ...overrides };
  const config = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined).map(([k, v]) => [`${PROJECT}:${k}`, v as string]));
  return runOffline({ stack: "home", config, secretKeys: secretKeys.map((k) => `${PROJECT}:${k}`), stackReferences: { [raw.edgeStack!]: asStackReference(edgeRun) }, program: () => buildStack("home") });
}

/** The fixture edge run, and the fixture home run against its outputs. */
export async function runFixtureStacks(): Promise<{ edge: OfflineRun; home: OfflineRun }> {
  const edge = await runEdge();
  return { edge, home: await runHome({}, edge) };
}

/** A Kubernetes resource's type token from its group/version:kind, e.g. "core/v1:Secret". */
export const kubernetesType = (kind: string) => `kubernetes:${kind}`;

/** The spec input of the one resource of a type and name. */
export const specOf = (run: OfflineRun, type: string, name: string) => resourceOf(run, type, name).inputs.spec as Record<string, any>;

/** The id the engine gave a resource: what other resources' inputs refer to it by. */
export function idOf(run: OfflineRun, type: string, name: string): string {
  resourceOf(run, type, name);
  return fakeId(type, name);
}
