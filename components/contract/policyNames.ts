// Names the program writes and the policy pack reads. The pack loads this file alone, so it imports nothing.

/** The annotation that exempts a workload from one policy rule; its value is the reason, and must not be empty. */
export const exemptionAnnotation = (ruleId: string) => `policy.homelab.dev/exempt-${ruleId}`;

/** The label a catalog route carries: the exposure of the catalog entry it was made from. */
export const EXPOSURE_LABEL = "homelab.dev/exposure";

/** The annotation Cilium's LB IPAM takes a fixed address from. */
export const LB_ADDRESS_ANNOTATION = "lbipam.cilium.io/ips";

/** Traefik's entrypoints: container port (what Gateway listeners name) and the port their Service exposes. */
export const ENTRYPOINTS = {
  web: { port: 8000, exposedPort: 80 },
  websecure: { port: 8443, exposedPort: 443 },
  tunnelweb: { port: 8081, exposedPort: 8081 },
  tunnelwebsecure: { port: 8444, exposedPort: 8444 },
} as const;
export type EntrypointName = keyof typeof ENTRYPOINTS;

/** Every entrypoint the tunnel gateway feeds from the internet. */
export const TUNNEL_FED_ENTRYPOINTS: readonly EntrypointName[] = ["tunnelweb", "tunnelwebsecure"];

/**
 * Reflector's annotations (src/ES.Kubernetes.Reflector/Mirroring/Core/Annotations.cs, v10.0.63). The selectors, new
 * in v10, add every namespace whose labels match to the named ones.
 */
export const REFLECTION = {
  allowed: "reflector.v1.k8s.emberstack.com/reflection-allowed",
  allowedNamespaces: "reflector.v1.k8s.emberstack.com/reflection-allowed-namespaces",
  allowedNamespacesSelector: "reflector.v1.k8s.emberstack.com/reflection-allowed-namespaces-selector",
  autoEnabled: "reflector.v1.k8s.emberstack.com/reflection-auto-enabled",
  autoNamespaces: "reflector.v1.k8s.emberstack.com/reflection-auto-namespaces",
  autoNamespacesSelector: "reflector.v1.k8s.emberstack.com/reflection-auto-namespaces-selector",
} as const;

/** A Kubernetes namespace name (RFC 1123 label). Reflector reads a list entry as an anchored regular expression; one of this form matches only itself. */
export const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The widest SSH admin networks the program and the pack accept, by address family, unless the operator sets
 * homelab:allowWideAdminCidrs: an ISP's block at most, never a continent's.
 */
export const WIDEST_ADMIN_PREFIX = { 4: 16, 6: 32 } as const;

/**
 * The edge's component and the plain outputs it exports of the files it writes onto the server. The pack checks
 * these, not the server's userData: the hcloud provider keeps only a hash of that in its outputs, and in ssh mode
 * ignoreChanges freezes it at the first deploy while the files that really travel are pushed.
 */
export const VPS_COMPONENT = "homelab:edge:Vps";
export const VPS_FILE_OUTPUTS = { ruleset: "ruleset", sshdDropIn: "sshdDropIn", tunnelPeerAddresses: "tunnelPeerAddresses" } as const;
