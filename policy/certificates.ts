import type { PolicyResource } from "@pulumi/policy";
import { stackRule } from "./support";

const CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer";
const REQUESTERS = ["kubernetes:cert-manager.io/v1:Certificate", "kubernetes:cert-manager.io/v1:CertificateRequest"];
const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
/** The user-facing roles every namespace grant is made from; a ClusterRole with one of these labels adds to them. */
const AGGREGATE_LABELS = ["edit", "admin"].map((role) => `rbac.authorization.k8s.io/aggregate-to-${role}`);
const ISSUING_RESOURCES = ["certificates", "certificaterequests", "issuers"];
const WRITE_VERBS = ["create", "update", "patch", "*"];

/** A ClusterIssuer that signs with nothing but its own key: a self-signed certificate proves nothing to anyone. */
const selfSignedOnly = (spec: Record<string, unknown> = {}) => Object.keys(spec).every((k) => k === "selfSigned");

/** What an aggregated ClusterRole lets every namespace editor do to cert-manager's issuing objects. */
function issuingGrants(rules: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[] = []): string[] {
  return rules
    .filter((r) => (r.apiGroups ?? []).some((g) => g === "cert-manager.io" || g === "*"))
    .filter((r) => (r.verbs ?? []).some((v) => WRITE_VERBS.includes(v)))
    .flatMap((r) => (r.resources ?? []).filter((res) => ISSUING_RESOURCES.includes(res) || res === "*"));
}

const nameOf = (r: PolicyResource) => (r.props.metadata?.namespace ? `${r.props.metadata.namespace}/` : "") + (r.props.metadata?.name ?? r.name);

export const certificateIssuance = stackRule({
  id: "k8s-certificate-issuance",
  description:
    "Only the namespaces that hold an issuer can have certificates signed: no ClusterIssuer signs with a CA key or an ACME account (it would sign for a Certificate in any namespace), no Certificate or CertificateRequest asks a ClusterIssuer other than a self-signed one of the stack, and no ClusterRole aggregated into edit or admin lets namespace users create Certificates, CertificateRequests or Issuers.",
  remediation:
    "Make each issuer a namespaced Issuer in the namespace whose certificates it signs, reference it with issuerRef.kind Issuer, and install cert-manager with global.rbac.aggregateClusterRoles false.",
  validate: (args, report) => {
    const clusterIssuers = args.resources.filter((r) => r.type === CLUSTER_ISSUER);
    for (const issuer of clusterIssuers) {
      const signers = Object.keys(issuer.props.spec ?? {}).filter((k) => k !== "selfSigned");
      if (signers.length) report(`ClusterIssuer ${nameOf(issuer)} signs with ${signers.join(", ")} for a Certificate in any namespace`);
    }
    const harmless = new Set(clusterIssuers.filter((i) => selfSignedOnly(i.props.spec)).map((i) => i.props.metadata?.name));
    for (const requester of args.resources.filter((r) => REQUESTERS.includes(r.type))) {
      const ref = requester.props.spec?.issuerRef ?? {};
      const certManagerGroup = ref.group === undefined || ref.group === "cert-manager.io";
      if (ref.kind === "ClusterIssuer" && certManagerGroup && !harmless.has(ref.name)) {
        report(`${requester.type.split(":").pop()} ${nameOf(requester)} asks ClusterIssuer ${ref.name}, which no namespace boundary limits`);
      }
    }
    for (const role of args.resources.filter((r) => r.type === CLUSTER_ROLE)) {
      const labels: Record<string, string> = role.props.metadata?.labels ?? {};
      const into = AGGREGATE_LABELS.filter((l) => labels[l] === "true").map((l) => l.split("aggregate-to-")[1]);
      const grants = issuingGrants(role.props.rules);
      if (into.length && grants.length) report(`ClusterRole ${nameOf(role)} adds writes on ${[...new Set(grants)].join(", ")} to every namespace's ${into.join(" and ")} role`);
    }
  },
});
