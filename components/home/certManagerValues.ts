import { WEBHOOK_CA_INJECTED } from "./webhooks";

const SMALL = { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } };

/** Helm values for cert-manager (chart v1.21.1): its CRDs kept on removal, and no way for a namespace user to request a certificate. */
export function renderCertManagerValues(): Record<string, unknown> {
  return {
    crds: { enabled: true, keep: true },
    resources: SMALL,
    cainjector: { resources: SMALL },
    webhook: { resources: SMALL, validatingWebhookConfigurationAnnotations: WEBHOOK_CA_INJECTED, mutatingWebhookConfigurationAnnotations: WEBHOOK_CA_INJECTED },
    // A Helm hook, which helm.v4.Chart never applies; the webhook annotations above gate the issuers instead.
    startupapicheck: { enabled: false },
    // The chart aggregates create on Certificates, CertificateRequests and Issuers into every namespace's edit and admin
    // roles (templates/rbac.yaml), which would let an editor of Traefik's namespace have its issuers sign any name.
    global: { rbac: { aggregateClusterRoles: false } },
    // ingress-shim makes a Certificate from any Ingress's cert-manager.io/issuer annotation, a way round that RBAC for
    // whoever may create an Ingress; the program makes its Certificates itself.
    extraArgs: ["--controllers=*,-ingress-shim"],
    // Split DNS at home can answer for the zone; DNS-01 checks must ask the public internet.
    dns01RecursiveNameserversOnly: true,
    dns01RecursiveNameservers: "1.1.1.1:53,9.9.9.9:53",
  };
}
