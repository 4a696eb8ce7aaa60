import { RunError } from "@pulumi/pulumi";
import { StackRole } from "./config/schema";
import { buildEdgeStack } from "./edge/edgeStack";
import { buildHomeStack } from "./home/homeStack";
import { StackBuild } from "./stackBuild";

const BUILDERS: Record<StackRole, () => StackBuild> = { edge: buildEdgeStack, home: buildHomeStack };

/** `edge` and `<anything>-edge` build the edge graph, and likewise for home; any other name is a mistake. */
export function stackRole(stackName: string): StackRole {
  for (const role of Object.keys(BUILDERS) as StackRole[]) {
    if (stackName === role || stackName.endsWith(`-${role}`)) return role;
  }
  throw new RunError(`stack "${stackName}" is neither an edge nor a home stack: name it "edge" or "<name>-edge", "home" or "<name>-home"`);
}

/** Builds the graph for a stack name. */
export function buildStack(stackName: string): StackBuild {
  return BUILDERS[stackRole(stackName)]();
}
