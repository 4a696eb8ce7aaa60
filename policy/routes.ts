import { StackValidationArgs } from "@pulumi/policy";
import { ENTRYPOINTS, EXPOSURE_LABEL, TUNNEL_FED_ENTRYPOINTS } from "../components/contract/policyNames";
import { stackRule } from "./support";
import { containerArgs } from "./workloads";

const INGRESS_ROUTE_KINDS = ["IngressRoute", "IngressRouteTCP", "IngressRouteUDP"].map((kind) => `kubernetes:traefik.io/v1alpha1:${kind}`);
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const HTTP_ROUTES = ["v1", "v1beta1"].map((version) => `kubernetes:gateway.networking.k8s.io/${version}:HTTPRoute`);
const GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway";
const CHART = "kubernetes:helm.sh/v4:Chart";
/** Traefik's Ingress provider reads the entrypoints of an Ingress from this annotation only. */
export const INGRESS_ENTRYPOINTS_ANNOTATION = "traefik.ingress.kubernetes.io/router.entrypoints";

/** The hosts a route can answer for: a list, or every host. */
type Hosts = string[] | "any";
const union = (a: Hosts, b: Hosts): Hosts => (a === "any" || b === "any" ? "any" : [...new Set([...a, ...b])]);
const intersection = (a: Hosts, b: Hosts): Hosts => (a === "any" ? b : b === "any" ? a : a.filter((h) => b.includes(h)));

/**
 * The hosts a Traefik v3 rule can match. Host(`h`) and HostSNI(`h`) name hosts; `&&` keeps what both sides allow,
 * `||` what either does; every other matcher, a negation, HostRegexp and HostSNI(`*`) allow any host.
 */
export function ruleHosts(rule: string): Hosts {
  const tokens = rule.match(/&&|\|\||!|\(|\)|[A-Za-z]+\((?:`[^`]*`|[^)`])*\)/g) ?? [];
  let at = 0;
  const primary = (): Hosts => {
    const token = tokens[at++];
    if (token === "!") {
      primary();
      return "any";
    }
    if (token === "(") {
      const inner = or();
      at++;
      return inner;
    }
    const call = /^(Host|HostSNI)\((.*)\)$/.exec(token ?? "");
    if (!call) return "any";
    const names = [...call[2].matchAll(/`([^`]*)`/g)].map((m) => m[1].toLowerCase());
    return names.length === 0 || names.includes("*") ? "any" : names;
  };
  // One precedence level: operands joined by one operator, folded left.
  const level = (operand: () => Hosts, operator: string, combine: (a: Hosts, b: Hosts) => Hosts) => (): Hosts => {
    let hosts = operand();
    while (tokens[at] === operator) {
      at++;
      hosts = combine(hosts, operand());
    }
    return hosts;
  };
  const or: () => Hosts = level(level(primary, "&&", intersection), "||", union);
  return tokens.length ? or() : "any";
}

/** What a route object binds: the Traefik entrypoints (none when it names none) and the hosts it answers for. */
interface Binding {
  entrypoints: string[];
  hosts: Hosts;
  /** Set when the entrypoints cannot be known from this stack. */
  unknown?: string;
}

type Resource = StackValidationArgs["resources"][number];

function ingressRouteBinding(props: Record<string, any>): Binding {
  const matches = ((props.spec?.routes ?? []) as { match?: string }[]).map((r) => (r.match ? ruleHosts(r.match) : ("any" as const)));
  return { entrypoints: props.spec?.entryPoints ?? [], hosts: matches.length ? matches.reduce(union) : "any" };
}

function ingressBinding(props: Record<string, any>): Binding {
  const annotation = (props.metadata?.annotations?.[INGRESS_ENTRYPOINTS_ANNOTATION] ?? "") as string;
  const rules = (props.spec?.rules ?? []) as { host?: string }[];
  const hosts: Hosts = rules.length && rules.every((r) => r.host && !r.host.startsWith("*")) ? rules.map((r) => r.host!.toLowerCase()) : "any";
  return { entrypoints: annotation.split(",").map((e) => e.trim()).filter(Boolean), hosts };
}

/** An HTTPRoute binds the entrypoints of its Gateway listeners: Traefik ties a listener to the entrypoint on its port. */
function httpRouteBinding(route: Resource, gateways: Map<string, { name: string; port: number }[]>): Binding {
  const namespace = route.props.metadata?.namespace ?? "default";
  const byPort = new Map(Object.entries(ENTRYPOINTS).map(([name, e]) => [e.port as number, name]));
  const entrypoints: string[] = [];
  for (const parent of (route.props.spec?.parentRefs ?? []) as { name: string; namespace?: string; sectionName?: string; port?: number }[]) {
    const gateway = `${parent.namespace ?? namespace}/${parent.name}`;
    const listeners = gateways.get(gateway);
    if (!listeners) return { entrypoints, hosts: "any", unknown: `attaches to Gateway ${gateway}, which is not in this stack` };
    for (const l of listeners.filter((l) => (!parent.sectionName || l.name === parent.sectionName) && (!parent.port || l.port === parent.port))) {
      const entrypoint = byPort.get(l.port);
      if (entrypoint && !entrypoints.includes(entrypoint)) entrypoints.push(entrypoint);
    }
  }
  const hostnames = (route.props.spec?.hostnames ?? []) as string[];
  return { entrypoints, hosts: hostnames.length && hostnames.every((h) => !h.startsWith("*")) ? hostnames.map((h) => h.toLowerCase()) : "any" };
}

/** What a Traefik install makes of a route that names no entrypoint, and whether it serves Ingresses. */
interface TraefikDefaults {
  what: string;
  urn: string;
  /** Entrypoints flagged asDefault; none flagged makes every one a default (getDefaultsEntrypoints, cmd/traefik). */
  flagged: string[];
  servesIngress: boolean;
}

function traefikDefaults(r: Resource): TraefikDefaults | undefined {
  if (r.type === CHART && r.props.chart === "traefik") {
    const ports = (r.props.values?.ports ?? {}) as Record<string, { asDefault?: boolean }>;
    return {
      what: `Traefik chart ${r.props.namespace ?? "default"}/${r.name}`,
      urn: r.urn,
      flagged: Object.keys(ports).filter((name) => ports[name].asDefault),
      // The chart turns the Ingress provider on unless the values say otherwise (values.yaml).
      servesIngress: r.props.values?.providers?.kubernetesIngress?.enabled !== false,
    };
  }
  const args = containerArgs(r.type, r.props);
  if (!args.some((a) => a.startsWith("--entryPoints."))) return undefined;
  return {
    what: `Traefik ${r.type.split(":").pop()} ${r.props.metadata?.namespace ?? "default"}/${r.props.metadata?.name}`,
    urn: r.urn,
    flagged: args.map((a) => /^--entryPoints\.([^.]+)\.asDefault=true$/.exec(a)?.[1]).filter((n): n is string => n !== undefined),
    servesIngress: args.some((a) => a === "--providers.kubernetesingress" || a.startsWith("--providers.kubernetesingress=")),
  };
}

/** Pack config of the rule: the hostnames of the catalog's public services. */
export interface RouteEntrypointsConfig {
  publicHosts?: string[];
}

export const routeEntrypoints = stackRule({
  id: "k8s-route-entrypoints",
  description:
    "Every route object (IngressRoute, IngressRouteTCP/UDP, Ingress, HTTPRoute) names its Traefik entrypoints, and binds one the tunnel feeds only for hosts that are public in the catalog (publicHosts in the pack config; without it, only routes labelled public by the program); Traefik itself defaults only to entrypoints the tunnel does not feed, and serves no Ingress.",
  remediation: `Name the entrypoints (spec.entryPoints; on an Ingress the ${INGRESS_ENTRYPOINTS_ANNOTATION} annotation; an HTTPRoute's Gateway listeners); bind ${TUNNEL_FED_ENTRYPOINTS.join(" or ")} only for a host whose catalog entry is public, matched by Host() with no wider alternative; pass the pack config \`npm run plan\` writes. In Traefik's values set asDefault on web and websecure only, and providers.kubernetesIngress.enabled: false.`,
  configSchema: { properties: { publicHosts: { type: "array", items: { type: "string" } } } },
  validate: (args, report) => {
    const { publicHosts } = args.getConfig<RouteEntrypointsConfig>();
    const gateways = new Map(
      args.resources.filter((r) => r.type === GATEWAY).map((r) => [`${r.props.metadata?.namespace ?? "default"}/${r.props.metadata?.name}`, (r.props.spec?.listeners ?? []) as { name: string; port: number }[]]),
    );
    for (const traefik of args.resources.map(traefikDefaults).filter((t): t is TraefikDefaults => t !== undefined)) {
      const tunnelDefaults = traefik.flagged.filter((e) => (TUNNEL_FED_ENTRYPOINTS as readonly string[]).includes(e));
      if (!traefik.flagged.length) report(`${traefik.what} flags no entrypoint asDefault, so a route naming none attaches to every one, ${TUNNEL_FED_ENTRYPOINTS.join(" and ")} included`, traefik.urn);
      if (tunnelDefaults.length) report(`${traefik.what} makes ${tunnelDefaults.join(", ")} a default entrypoint, which routes naming none then bind`, traefik.urn);
      if (traefik.servesIngress) report(`${traefik.what} serves Ingresses (providers.kubernetesIngress), which whoever may create one can put on any entrypoint, unseen by this pack`, traefik.urn);
    }
    for (const route of args.resources) {
      const binding = INGRESS_ROUTE_KINDS.includes(route.type)
        ? ingressRouteBinding(route.props)
        : route.type === INGRESS
          ? ingressBinding(route.props)
          : HTTP_ROUTES.includes(route.type)
            ? httpRouteBinding(route, gateways)
            : undefined;
      if (!binding) continue;
      const what = `${route.type.split(":").pop()} ${route.props.metadata?.namespace ?? "default"}/${route.props.metadata?.name}`;
      if (binding.unknown) {
        report(`${what} ${binding.unknown}, so the entrypoints it binds cannot be checked`, route.urn);
        continue;
      }
      if (binding.entrypoints.length === 0) {
        report(`${what} names no entrypoint, so Traefik would attach it to its default ones`, route.urn);
        continue;
      }
      const tunnel = binding.entrypoints.filter((e) => (TUNNEL_FED_ENTRYPOINTS as readonly string[]).includes(e));
      if (tunnel.length === 0) continue;
      const bound = `binds ${tunnel.join(", ")}`;
      if (binding.hosts === "any") report(`${what} ${bound} for any host; a tunnel route must match only public hosts by Host()`, route.urn);
      else if (publicHosts) {
        const allowed = publicHosts.map((h) => h.toLowerCase());
        for (const host of binding.hosts.filter((h) => !allowed.includes(h))) report(`${what} ${bound} for ${host}, which is not a public catalog host`, route.urn);
      } else if (route.props.metadata?.labels?.[EXPOSURE_LABEL] !== "public") report(`${what} ${bound} but is not labelled ${EXPOSURE_LABEL}: public, and no publicHosts are configured`, route.urn);
    }
  },
});
