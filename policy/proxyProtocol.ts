import { StackValidationArgs } from "@pulumi/policy";
import { ANYWHERE, stackRule } from "./support";
import { containerArgs } from "./workloads";

const CHART = "kubernetes:helm.sh/v4:Chart";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const MIDDLEWARE = "kubernetes:traefik.io/v1alpha1:Middleware";

interface TraefikPort {
  port?: number;
  proxyProtocol?: { trustedIPs?: string[]; insecure?: boolean };
}
interface Peer {
  ipBlock?: unknown;
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
}
interface IngressRule {
  from?: Peer[];
  ports?: { port?: number | string }[];
}

/** The namespace a peer names by its metadata label, when it names exactly one and nothing else. */
const peerNamespace = (peer: Peer) => (!peer.ipBlock && peer.namespaceSelector ? peer.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"] : undefined);

type Resource = StackValidationArgs["resources"][number];
/** An entrypoint that takes PROXY headers, wherever the stack shows it. */
interface TrustingEntrypoint {
  namespace: string;
  name: string;
  port?: number;
  trust: { trustedIPs?: string[]; insecure?: boolean };
  urn: string;
}

/** From the Traefik Chart's values, which the offline plan records. */
const fromChartValues = (r: Resource): TrustingEntrypoint[] =>
  r.type === CHART && r.props.chart === "traefik"
    ? Object.entries((r.props.values?.ports ?? {}) as Record<string, TraefikPort>)
        .filter(([, p]) => p.proxyProtocol?.insecure || p.proxyProtocol?.trustedIPs?.length)
        .map(([name, p]) => ({ namespace: r.props.namespace ?? "default", name, port: p.port, trust: p.proxyProtocol!, urn: r.urn }))
    : [];

/** From the arguments of a rendered Traefik container (the chart's _podtemplate.tpl), which a real preview shows. */
function fromTraefikArgs(r: Resource): TrustingEntrypoint[] {
  const args = containerArgs(r.type, r.props);
  const found = new Map<string, TrustingEntrypoint>();
  const at = (name: string) => found.get(name) ?? found.set(name, { namespace: r.props.metadata?.namespace ?? "default", name, trust: {}, urn: r.urn }).get(name)!;
  for (const arg of args) {
    const trusted = /^--entryPoints\.([^.]+)\.proxyProtocol\.(trustedIPs=(.*)|insecure)$/.exec(arg);
    if (trusted) Object.assign(at(trusted[1]).trust, trusted[3] !== undefined ? { trustedIPs: trusted[3].split(",") } : { insecure: true });
  }
  for (const arg of args) {
    const address = /^--entryPoints\.([^.]+)\.address=[^:]*:(\d+)/.exec(arg);
    if (address && found.has(address[1])) found.get(address[1])!.port = Number(address[2]);
  }
  return [...found.values()];
}

/** Pack config of the rule: the namespaces whose pods may speak PROXY to Traefik. */
export interface ProxyProtocolConfig {
  tunnelNamespaces: string[];
}

export const proxyProtocolSources = stackRule({
  id: "home-proxy-protocol-sources",
  description:
    "Traefik entrypoints that trust PROXY headers are reachable only from the tunnel gateway's namespace (a NetworkPolicy admits nobody else, as Traefik's trustedIPs can name only CIDRs), never trust every address, and no Middleware decides on the client address.",
  remediation:
    "Keep a NetworkPolicy in Traefik's namespace whose only peer for the PROXY ports is a namespaceSelector on the tunnel namespace; drop proxyProtocol.insecure and whole-internet trustedIPs; route by entrypoint, not ipAllowList.",
  configSchema: { properties: { tunnelNamespaces: { type: "array", items: { type: "string" }, default: ["edge-tunnel"] } } },
  validate: (args, report) => {
    const { tunnelNamespaces } = args.getConfig<ProxyProtocolConfig>();
    const policies = args.resources.filter((r) => r.type === NETWORK_POLICY);
    const seen = new Set<string>();
    for (const entrypoint of [...args.resources.flatMap(fromChartValues), ...args.resources.flatMap(fromTraefikArgs)]) {
      const { namespace, name, port, trust, urn } = entrypoint;
      if (seen.has(`${namespace}/${name}`)) continue;
      seen.add(`${namespace}/${name}`);
      const where = `Traefik entrypoint ${name} (${namespace}, port ${port})`;
      if (trust.insecure) report(`${where} trusts PROXY headers from any address (proxyProtocol.insecure)`, urn);
      const anywhere = (trust.trustedIPs ?? []).filter((cidr) => ANYWHERE.includes(cidr));
      if (anywhere.length) report(`${where} trusts PROXY headers from ${anywhere.join(", ")}`, urn);
      const guards = policies.filter((p) => p.props.metadata?.namespace === namespace && ((p.props.spec?.policyTypes ?? ["Ingress"]) as string[]).includes("Ingress"));
      if (!guards.length) report(`${where} trusts PROXY headers, but no NetworkPolicy in ${namespace} restricts who reaches it`, urn);
      for (const guard of guards) {
        const covering = ((guard.props.spec?.ingress ?? []) as IngressRule[]).filter((rule) => !rule.ports?.length || rule.ports.some((p) => p.port === port || p.port === name));
        for (const rule of covering) {
          const strangers = rule.from?.length ? rule.from.filter((peer) => !tunnelNamespaces.includes(peerNamespace(peer) ?? "")) : [{}];
          if (strangers.length) report(`NetworkPolicy ${namespace}/${guard.props.metadata?.name} admits ${where}, which trusts PROXY headers, from ${rule.from?.length ? JSON.stringify(strangers) : "anywhere"}; only ${tunnelNamespaces.join(", ")} may reach it`, guard.urn);
        }
      }
    }
    for (const middleware of args.resources.filter((r) => r.type === MIDDLEWARE)) {
      const filter = ["ipAllowList", "ipWhiteList"].find((key) => middleware.props.spec?.[key]);
      if (filter) report(`Middleware ${middleware.props.metadata?.namespace}/${middleware.props.metadata?.name} decides on the client address (${filter}), which a PROXY header or the LB path's SNAT makes untrustworthy; bind entrypoints instead`, middleware.urn);
    }
  },
});
