import { NAMESPACE_NAME, REFLECTION } from "../components/contract/policyNames";
import { resourceRule } from "./support";

const SECRET = "kubernetes:core/v1:Secret";
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";

/**
 * What Reflector would do with these annotations that the object does not spell out. Reflector reads an absent or
 * empty namespace list as every namespace, each entry as an anchored regular expression, and from v10 adds every
 * namespace a label selector matches (MirroringPropertiesExtensions.cs MatchNamespace, v10.0.63), so an enabled switch
 * needs a list of plain namespace names and no selector.
 */
function implicitTargets(annotations: Record<string, string>): string[] {
  const on = (key: string) => (annotations[key] ?? "").trim().toLowerCase() === "true";
  const problems: string[] = [];
  for (const [switchKey, listKey, selectorKey] of [
    [REFLECTION.allowed, REFLECTION.allowedNamespaces, REFLECTION.allowedNamespacesSelector],
    [REFLECTION.autoEnabled, REFLECTION.autoNamespaces, REFLECTION.autoNamespacesSelector],
  ]) {
    if (!on(switchKey)) continue;
    const entries = (annotations[listKey] ?? "").split(",").map((e) => e.trim()).filter(Boolean);
    const selector = (annotations[selectorKey] ?? "").trim();
    if (selector) problems.push(`sets ${selectorKey} "${selector}": Reflector adds every namespace whose labels match, not one named`);
    else if (entries.length === 0) problems.push(`sets ${switchKey} with no ${listKey}, which Reflector reads as every namespace`);
    const patterns = entries.filter((e) => !NAMESPACE_NAME.test(e));
    if (patterns.length) problems.push(`lists ${patterns.join(", ")} in ${listKey}: Reflector matches a pattern, not a namespace name`);
  }
  return problems;
}

export const reflectionExplicit = resourceRule({
  id: "k8s-reflection-explicit",
  description: "Every object Reflector may copy (a Secret, a ConfigMap, or a Certificate's secretTemplate) names each target namespace, with no label selector; an empty list means every namespace to Reflector.",
  remediation: `List the namespaces by name in ${REFLECTION.allowedNamespaces} and ${REFLECTION.autoNamespaces}, drop ${REFLECTION.allowedNamespacesSelector} and ${REFLECTION.autoNamespacesSelector}, or set ${REFLECTION.allowed}: "false" when there are none.`,
  types: [SECRET, CONFIG_MAP, CERTIFICATE],
  validate: (props, args, report) => {
    const annotations = (args.type === CERTIFICATE ? props.spec?.secretTemplate?.annotations : props.metadata?.annotations) ?? {};
    for (const problem of implicitTargets(annotations)) report(problem);
  },
});
