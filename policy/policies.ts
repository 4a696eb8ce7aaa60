import { certificateIssuance } from "./certificates";
import { dnsPolicies } from "./dns";
import { edgePolicies } from "./edge";
import { kubernetesWorkloadPolicies } from "./kubernetes";
import { proxyProtocolSources } from "./proxyProtocol";
import { reflectionExplicit } from "./reflection";
import { routeEntrypoints } from "./routes";
import { secretsExist } from "./secrets";
import { trafficPolicies } from "./traffic";

/** Every policy of the pack, in the order it reports them. */
export const allPolicies = [...edgePolicies, ...dnsPolicies, ...kubernetesWorkloadPolicies, ...trafficPolicies, routeEntrypoints, proxyProtocolSources, reflectionExplicit, secretsExist, certificateIssuance];
