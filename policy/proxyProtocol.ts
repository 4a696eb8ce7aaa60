import { ANYWHERE, stackRule } from "./support";

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
    for (const chart of args.resources.filter((r) => r.type === CHART && r.props.chart === "traefik")) {
      const namespace: string = chart.props.namespace ?? "default";
      const trusting = Object.entries((chart.props.values?.ports ?? {}) as Record<string, TraefikPort>).filter(([, p]) => p.proxyProtocol?.insecure || p.proxyProtocol?.trustedIPs?.length);
      if (!trusting.length) continue;
      const guards = policies.filter((p) => p.props.metadata?.namespace === namespace && ((p.props.spec?.policyTypes ?? ["Ingress"]) as string[]).includes("Ingress"));
      for (const [name, port] of trusting) {
        const where = `Traefik entrypoint ${name} (${namespace}, port ${port.port})`;
        if (port.proxyProtocol?.insecure) report(`${where} trusts PROXY headers from any address (proxyProtocol.insecure)`, chart.urn);
        const anywhere = (port.proxyProtocol?.trustedIPs ?? []).filter((cidr) => ANYWHERE.includes(cidr));
        if (anywhere.length) report(`${where} trusts PROXY headers from ${anywhere.join(", ")}`, chart.urn);
        if (!guards.length) report(`${where} trusts PROXY headers, but no NetworkPolicy in ${namespace} restricts who reaches it`, chart.urn);
        for (const guard of guards) {
          const covering = ((guard.props.spec?.ingress ?? []) as IngressRule[]).filter((rule) => !rule.ports?.length || rule.ports.some((p) => p.port === port.port || p.port === name));
          for (const rule of covering) {
            const strangers = rule.from?.length ? rule.from.filter((peer) => !tunnelNamespaces.includes(peerNamespace(peer) ?? "")) : [{}];
            if (strangers.length) report(`NetworkPolicy ${namespace}/${guard.props.metadata?.name} admits ${where}, which trusts PROXY headers, from ${rule.from?.length ? JSON.stringify(strangers) : "anywhere"}; only ${tunnelNamespaces.join(", ")} may reach it`, guard.urn);
          }
        }
      }
    }
    for (const middleware of args.resources.filter((r) => r.type === MIDDLEWARE)) {
      const filter = ["ipAllowList", "ipWhiteList"].find((key) => middleware.props.spec?.[key]);
      if (filter) report(`Middleware ${middleware.props.metadata?.namespace}/${middleware.props.metadata?.name} decides on the client address (${filter}), which a PROXY header or the LB path's SNAT makes untrustworthy; bind entrypoints instead`, middleware.urn);
    }
  },
});
