import { stunListenAddress } from "../../components/home/headscaleConfig";
import { TUNNEL_ENTRYPOINTS } from "../../components/home/traefikValues";
import { OfflineRun } from "./engine";

/** Each address:port a ruleset DNATs a protocol to. */
function forwarded(ruleset: string, protocol: "tcp" | "udp"): Set<string> {
  const targets = new Set<string>();
  for (const m of ruleset.matchAll(new RegExp(`${protocol} dport (\\{ [^}]+ \\}|\\d+) dnat ip6? to (\\S+)`, "g"))) {
    for (const port of m[1].replace(/[{}]/g, "").split(",")) targets.add(`${m[2]}:${port.trim()}`);
  }
  return targets;
}

/** Each address:port HAProxy binds (IPv6 unbracketed). */
function haproxyBinds(config: string): Set<string> {
  return new Set([...config.matchAll(/^\s*bind \[?([^\]\s]+?)\]?:(\d+)\s*$/gm)].map((m) => `${m[1]}:${m[2]}`));
}

/**
 * Where Headscale's STUN answers inside the tunnel: its listener's port on every address of the derp peer in its pod.
 * A wildcard listener covers them all; a specific one only itself.
 */
function stunListeners(home: OfflineRun): Set<string> {
  const config = home.artifacts["headscale-config.yaml"];
  const wireguard = home.artifacts["derp-wg0.conf"];
  if (!config || !wireguard) return new Set();
  const listen = stunListenAddress(config);
  if (!listen) return new Set();
  const { host, port } = listen;
  const addresses = (/^Address = (.+)$/m.exec(wireguard)?.[1] ?? "").split(",").map((a) => a.trim().split("/")[0]);
  const wildcard = ["", "::", "0.0.0.0"].includes(host);
  return new Set(addresses.filter((a) => wildcard || a === host).map((a) => `${a}:${port}`));
}

/** Hostnames the home stack routes through the tunnel entrypoints, so the edge must publish them. */
function tunnelRouteHosts(home: OfflineRun): Set<string> {
  return new Set(
    home.resources
      .filter((r) => r.type === "kubernetes:traefik.io/v1alpha1:IngressRoute")
      .map((r) => r.inputs.spec as { entryPoints?: string[]; routes?: { match?: string }[] })
      .filter((spec) => (spec.entryPoints ?? []).some((e) => TUNNEL_ENTRYPOINTS.includes(e as never)))
      .flatMap((spec) => (spec.routes ?? []).flatMap((route) => [...(route.match ?? "").matchAll(/Host\(`([^`]+)`\)/g)].map((m) => m[1]))),
  );
}

/**
 * Checks a CrossGuard stack policy cannot make, seeing one stack at a time: every port the edge forwards into the
 * tunnel has a listener at home (TCP on the gateway's HAProxy, STUN on Headscale), the gateway listens on nothing the
 * edge does not forward, every route reachable through the tunnel has its CNAME, and every CNAME a route.
 */
export function crossStackProblems(edge: OfflineRun, home: OfflineRun): string[] {
  const nftables = edge.artifacts["nftables.conf"] ?? "";
  const tcp = forwarded(nftables, "tcp");
  const listening = haproxyBinds(home.artifacts["haproxy.cfg"] ?? "");
  const stun = stunListeners(home);
  const cnames = new Set(edge.resources.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && r.inputs.type === "CNAME").map((r) => String(r.inputs.name)));
  const routed = tunnelRouteHosts(home);
  return [
    ...[...routed].filter((host) => !cnames.has(host)).map((host) => `the home stack routes ${host} through the tunnel, but the edge publishes no CNAME for it`),
    ...[...cnames].filter((host) => !routed.has(host)).map((host) => `the edge publishes a CNAME for ${host}, but no home route answers it through the tunnel`),
    ...[...tcp].filter((t) => !listening.has(t)).map((t) => `the edge forwards tcp to ${t}, but nothing in the home stack listens there`),
    ...[...listening].filter((t) => !tcp.has(t)).map((t) => `the tunnel gateway listens on ${t}, which the edge never forwards to`),
    ...[...forwarded(nftables, "udp")].filter((t) => !stun.has(t)).map((t) => `the edge forwards udp to ${t}, but nothing in the home stack listens there`),
  ].sort();
}
