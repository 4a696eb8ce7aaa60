import * as pulumi from "@pulumi/pulumi";
import { buildStack } from "./components/stacks";

// The stack's name decides which graph this program builds; see components/stacks.ts.
export = buildStack(pulumi.getStack()).outputs;
