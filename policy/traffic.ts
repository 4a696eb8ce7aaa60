import { BlockList, isIPv4 } from "node:net";
import { ResourceValidationPolicy } from "@pulumi/policy";
import { LB_ADDRESS_ANNOTATION } from "../components/contract/policyNames";
import { resourceRule, stackRule } from "./support";
import { CONTROLLER_EXEMPTIONS, NamespaceExemptions, workloadOf } from "./workloads";

const SERVICE = "kubernetes:core/v1:Service";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const CILIUM_POLICY = "kubernetes:cilium.io/v2:CiliumNetworkPolicy";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute";
const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";
const GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway";
const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";

const serviceSpec = (props: Record<string, any>) => (props.spec ?? {}) as { type?: string; externalIPs?: string[] };

export const noNodePort = resourceRule({
  id: "k8s-no-nodeport",
  description: "No Service of type NodePort: it opens a port on every node, past every entrypoint.",
  remediation: "Use ClusterIP behind Traefik, or the one LoadBalancer address from the pool.",
  types: [SERVICE],
  validate: (props, _args, report) => {
    if (serviceSpec(props).type === "NodePort") report("is of type NodePort");
  },
});

export const noExternalIps = resourceRule({
  id: "k8s-no-external-ips",
  description: "No Service claims externalIPs, which lets it capture traffic for any address.",
  remediation: "Remove spec.externalIPs; take an address from the LoadBalancer pool instead.",
  types: [SERVICE],
  validate: (props, _args, report) => {
    const ips = serviceSpec(props).externalIPs ?? [];
    if (ips.length) report(`claims externalIPs ${ips.join(", ")}`);
  },
});

/** Where LoadBalancer Services may live, and the pool their address must come from. */
export interface LoadBalancerConfig {
  allowedNamespaces: string[];
  /** The Cilium pool as a CIDR; empty skips the range check but not the need for a fixed address. */
  pool: string;
}

export const loadBalancerPlacement: ResourceValidationPolicy = {
  name: "k8s-loadbalancer-placement",
  description: "LoadBalancer Services exist only in the allowed namespaces, each with a fixed address from the pool.",
  enforcementLevel: "mandatory",
  remediationSteps: `Route through Traefik instead; a LoadBalancer that must exist gets the ${LB_ADDRESS_ANNOTATION} annotation with a pool address.`,
  configSchema: { properties: { allowedNamespaces: { type: "array", items: { type: "string" }, default: ["traefik"] }, pool: { type: "string", default: "" } } },
  validateResource: (args, report) => {
    if (args.type !== SERVICE || serviceSpec(args.props).type !== "LoadBalancer") return args.notApplicable("not a LoadBalancer Service");
    const config = args.getConfig<LoadBalancerConfig>();
    const namespace = args.props.metadata?.namespace ?? "default";
    if (!config.allowedNamespaces.includes(namespace)) report(`is a LoadBalancer in namespace ${namespace}; allowed: ${config.allowedNamespaces.join(", ")}`);
    const address = args.props.metadata?.annotations?.[LB_ADDRESS_ANNOTATION] as string | undefined;
    if (!address) {
      report(`has no fixed address (${LB_ADDRESS_ANNOTATION})`);
      return;
    }
    if (config.pool) {
      const [network, prefix] = config.pool.split("/");
      const pool = new BlockList();
      pool.addSubnet(network, Number(prefix), "ipv4");
      for (const ip of address.split(",").map((a) => a.trim())) {
        if (!isIPv4(ip) || !pool.check(ip, "ipv4")) report(`asks for ${ip}, outside the pool ${config.pool}`);
      }
    }
  },
};

type PolicyResourceLike = { type: string; props: Record<string, any> };
const isEmptySelector = (selector: Record<string, unknown> | undefined) => !selector || Object.values(selector).every((v) => !v || (typeof v === "object" && Object.keys(v).length === 0));

/** Whether a policy object puts every pod of its namespace under default deny, both ways. */
function deniesByDefault(resource: PolicyResourceLike): boolean {
  const spec = resource.props.spec ?? {};
  if (resource.type === NETWORK_POLICY) return isEmptySelector(spec.podSelector) && ["Ingress", "Egress"].every((t) => (spec.policyTypes ?? []).includes(t));
  if (resource.type === CILIUM_POLICY) return isEmptySelector(spec.endpointSelector) && (spec.ingress || spec.ingressDeny) !== undefined && (spec.egress || spec.egressDeny) !== undefined;
  return false;
}

export const namespaceDefaultDeny = stackRule({
  id: "k8s-default-deny",
  description: "Every namespace that runs workloads has a policy selecting all its pods for both ingress and egress, so whatever is not allowed is denied.",
  remediation: "Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress], then allow what the app needs.",
  configSchema: { properties: { exemptNamespaces: { type: "object", default: CONTROLLER_EXEMPTIONS } } },
  validate: (args, report) => {
    const exempt = args.getConfig<NamespaceExemptions>().exemptNamespaces;
    const covered = new Set(args.resources.filter(deniesByDefault).map((r) => r.props.metadata?.namespace ?? "default"));
    const workloadNamespaces = new Set(args.resources.map((r) => workloadOf(r.type, r.props)).filter((w) => w !== undefined).map((w) => w!.namespace ?? "default"));
    for (const namespace of [...workloadNamespaces].sort()) {
      if (!covered.has(namespace) && !exempt[namespace]) report(`namespace ${namespace} runs workloads but has no default-deny policy`);
    }
  },
});

/** Host names a route answers for. */
function routeHosts(resource: PolicyResourceLike): string[] {
  if (resource.type === INGRESS) return (resource.props.spec?.rules ?? []).map((r: { host?: string }) => r.host).filter(Boolean);
  if (resource.type === INGRESS_ROUTE) return (resource.props.spec?.routes ?? []).flatMap((r: { match?: string }) => [...(r.match ?? "").matchAll(/Host\(`([^`]+)`\)/g)].map((m) => m[1]));
  return [];
}

export const routeTls = resourceRule({
  id: "k8s-route-tls",
  description: "Every route terminates TLS: an IngressRoute or Ingress without a tls section serves plain HTTP.",
  remediation: "Add spec.tls (the default TLS store's wildcard certificate is used when it names no secret).",
  types: [INGRESS, INGRESS_ROUTE],
  validate: (props, args, report) => {
    const tls = props.spec?.tls;
    if (!tls || (Array.isArray(tls) && tls.length === 0)) report(`serves ${routeHosts(args).join(", ") || "its routes"} without TLS`);
  },
});

interface Listener {
  name: string;
  protocol: string;
  tls?: { mode?: string; certificateRefs?: unknown[] };
}
interface ParentRef {
  name: string;
  namespace?: string;
  sectionName?: string;
}

/** Whether every rule of an HTTPRoute only redirects to https, the one thing a plain-HTTP listener may carry. */
const onlyRedirectsToHttps = (spec: { rules?: { filters?: { type: string; requestRedirect?: { scheme?: string } }[]; backendRefs?: unknown[] }[] }) =>
  (spec.rules ?? []).length > 0 &&
  (spec.rules ?? []).every((rule) => !rule.backendRefs?.length && (rule.filters ?? []).some((f) => f.type === "RequestRedirect" && f.requestRedirect?.scheme === "https"));

export const httpRouteTls = stackRule({
  id: "k8s-httproute-tls",
  description: "Every Gateway API HTTPRoute attaches only to HTTPS listeners that terminate TLS with a certificate (a route that only redirects to https may use plain HTTP); its Gateway must be in the stack to be checked.",
  remediation: "Set each parentRef's sectionName to an HTTPS listener with tls.certificateRefs, or make the route a RequestRedirect to https.",
  validate: (args, report) => {
    const gateways = new Map(args.resources.filter((r) => r.type === GATEWAY).map((r) => [`${r.props.metadata?.namespace ?? "default"}/${r.props.metadata?.name}`, (r.props.spec?.listeners ?? []) as Listener[]]));
    const terminates = (l: Listener) => l.protocol === "HTTPS" && (l.tls?.mode ?? "Terminate") === "Terminate" && (l.tls?.certificateRefs?.length ?? 0) > 0;
    for (const route of args.resources.filter((r) => r.type === HTTP_ROUTE)) {
      if (onlyRedirectsToHttps(route.props.spec ?? {})) continue;
      const namespace = route.props.metadata?.namespace ?? "default";
      for (const parent of (route.props.spec?.parentRefs ?? []) as ParentRef[]) {
        const gateway = `${parent.namespace ?? namespace}/${parent.name}`;
        const listeners = gateways.get(gateway);
        if (!listeners) {
          report(`${route.name} attaches to Gateway ${gateway}, which is not in this stack, so its TLS cannot be checked`, route.urn);
          continue;
        }
        const attached = parent.sectionName ? listeners.filter((l) => l.name === parent.sectionName) : listeners;
        const plain = attached.filter((l) => !terminates(l)).map((l) => `${l.name} (${l.protocol})`);
        if (!attached.length) report(`${route.name} names listener ${parent.sectionName}, which Gateway ${gateway} does not have`, route.urn);
        else if (plain.length) report(`${route.name} attaches to ${gateway} listener(s) ${plain.join(", ")} without TLS`, route.urn);
      }
    }
  },
});

/** Whether a certificate name covers a host: exactly, or as a wildcard one label deep. */
const covers = (name: string, host: string) => name === host || (name.startsWith("*.") && host.endsWith(name.slice(1)) && !host.slice(0, -name.length + 1).includes("."));

export const routesHaveCertificates = stackRule({
  id: "home-route-certificates",
  description: "Every hostname a route serves is covered by a certificate this stack issues.",
  remediation: "Keep routes inside the domain: one label deep for the wildcard, deeper names get their own SAN (public) or the internal CA (private).",
  validate: (args, report) => {
    const names = args.resources.filter((r) => r.type === CERTIFICATE).flatMap((r) => (r.props.spec?.dnsNames ?? []) as string[]);
    for (const route of args.resources.filter((r) => r.type === INGRESS || r.type === INGRESS_ROUTE)) {
      for (const host of routeHosts(route)) if (!names.some((n) => covers(n, host))) report(`${route.name} serves ${host}, which no certificate covers`, route.urn);
    }
  },
});

export const trafficPolicies = [noNodePort, loadBalancerPlacement, noExternalIps, namespaceDefaultDeny, routeTls, httpRouteTls, routesHaveCertificates];
