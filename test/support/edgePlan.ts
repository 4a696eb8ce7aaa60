import { OfflineRun } from "../../tools/offline/engine";
import { planStacks } from "../../tools/offline/planStacks";

let edge: Promise<OfflineRun> | undefined;

/** The offline plan of the repository's own edge stack config, run once and shared by the tests that read it. */
export function repoEdgePlan(): Promise<OfflineRun> {
  edge ??= planStacks(["edge"]).then((plan) => plan.stacks[0].run);
  return edge;
}
