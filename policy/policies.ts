import { dnsPolicies } from "./dns";
import { edgePolicies } from "./edge";

/** Every policy of the pack, in the order it reports them. */
export const allPolicies = [...edgePolicies, ...dnsPolicies];
