import { TUNNEL_ENTRYPOINTS } from "../../components/home/traefikValues";
import { OfflineRun } from "./engine";

/** Each address:port a ruleset DNATs TCP to. */
function forwardedTcp(ruleset: string): Set<string> {
  const targets = new Set<string>();
  for (const m of ruleset.matchAll(/tcp dport (\{ [^}]+ \}|\d+) dnat ip6? to (\S+)/g)) {
    for (const port of m[1].replace(/[{}]/g, "").split(",")) targets.add(`${m[2]}:${port.trim()}`);
  }
  return targets;
}

/** Each address:port HAProxy binds (IPv6 unbracketed). */
function haproxyBinds(config: string): Set<string> {
  return new Set([...config.matchAll(/^\s*bind \[?([^\]\s]+?)\]?:(\d+)\s*$/gm)].map((m) => `${m[1]}:${m[2]}`));
}

/** Hostnames the home stack routes through the tunnel entrypoints, so the edge must publish them. */
function tunnelRouteHosts(home: OfflineRun): string[] {
  return home.resources
    .filter((r) => r.type === "kubernetes:traefik.io/v1alpha1:IngressRoute")
    .map((r) => r.inputs.spec as { entryPoints?: string[]; routes?: { match?: string }[] })
    .filter((spec) => (spec.entryPoints ?? []).some((e) => TUNNEL_ENTRYPOINTS.includes(e as never)))
    .flatMap((spec) => (spec.routes ?? []).flatMap((route) => [...(route.match ?? "").matchAll(/Host\(`([^`]+)`\)/g)].map((m) => m[1])));
}

/**
 * Checks a CrossGuard stack policy cannot make, seeing one stack at a time: every TCP port the edge forwards into the
 * tunnel has a listener on the gateway, the gateway listens on nothing the edge does not forward, and every route
 * reachable through the tunnel has its CNAME. STUN's listener is Headscale's, which the home stack does not run yet, so
 * UDP forwards are not checked here; nor, for the same reason, CNAMEs without a route (Headscale's).
 */
export function crossStackProblems(edge: OfflineRun, home: OfflineRun): string[] {
  const forwarded = forwardedTcp(edge.artifacts["nftables.conf"] ?? "");
  const listening = haproxyBinds(home.artifacts["haproxy.cfg"] ?? "");
  const cnames = new Set(edge.resources.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && r.inputs.type === "CNAME").map((r) => r.inputs.name));
  return [
    ...tunnelRouteHosts(home).filter((host) => !cnames.has(host)).map((host) => `the home stack routes ${host} through the tunnel, but the edge publishes no CNAME for it`),
    ...[...forwarded].filter((t) => !listening.has(t)).map((t) => `the edge forwards tcp to ${t}, but nothing in the home stack listens there`),
    ...[...listening].filter((t) => !forwarded.has(t)).map((t) => `the tunnel gateway listens on ${t}, which the edge never forwards to`),
  ].sort();
}
