// Stand-ins for traefik-helm-chart (v37.1.1 and v41.3.0) and Traefik v3, checked against `helm template` of the chart at each tag.

/** The Traefik chart version the fixtures mirror: the pin in Pulumi.home.yaml (a test holds them equal). */
export const TRAEFIK_CHART_VERSION = "41.3.0";
export const chartMajor = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1]);

/** The part of the chart's `ports` values these mirrors read. */
interface HttpSettings {
  tls?: { enabled?: boolean };
  redirections?: { entryPoint?: { to: string; scheme?: string; permanent?: boolean } };
}
export type TraefikPorts = Record<string, HttpSettings & { port: number; exposedPort?: number; protocol?: string; asDefault?: boolean; proxyProtocol?: { trustedIPs?: string[]; insecure?: boolean }; http?: HttpSettings }>;

/** The ports the chart's values.yaml (v37.1.1 and v41.3.0) adds to the program's: `traefik` (internal, never a default) and `metrics`. */
export const TRAEFIK_CHART_PORTS: TraefikPorts = { metrics: { port: 9100, exposedPort: 9100 }, traefik: { port: 8080, exposedPort: 8080 } };

/**
 * The entrypoint arguments the chart writes, mirroring traefik/templates/_podtemplate.tpl: the `range .Values.ports`
 * block (address, asDefault; v37.1.1 lines 191-197, v41.3.0 lines 223-225), then per entrypoint its redirections
 * (v37.1.1 652-672, v41.3.0 669-688), TLS (678-680, 698-699) and PROXY protocol trust (721-727, 739-745), failing
 * where the template calls `fail`. Up to chart 38 the HTTP settings sit on the port, from 39 under its `http`.
 */
export function chartEntrypointArgs(ports: TraefikPorts, chartMajor: number): string[] {
  const httpOf = (config: TraefikPorts[string]): HttpSettings => (chartMajor >= 39 ? (config.http ?? {}) : config);
  const entries = Object.entries(ports).sort(([a], [b]) => a.localeCompare(b));
  const args = entries.flatMap(([name, config]) => [`--entryPoints.${name}.address=:${config.port}/${(config.protocol ?? "tcp").toLowerCase()}`, ...(config.asDefault ? [`--entryPoints.${name}.asDefault=true`] : [])]);
  for (const [name, config] of entries) {
    const redirect = httpOf(config).redirections?.entryPoint;
    if (redirect) {
      const target = ports[redirect.to];
      if (!target) throw new Error(`ERROR: Cannot redirect ${name} to ${redirect.to}: entryPoint not found`);
      if (httpOf(target).tls?.enabled && redirect.scheme && redirect.scheme !== "https") throw new Error(`ERROR: Cannot redirect ${name} to ${redirect.to} without setting scheme to https`);
      args.push(`--entryPoints.${name}.http.redirections.entryPoint.to=:${target.exposedPort}`);
      if (redirect.scheme) args.push(`--entryPoints.${name}.http.redirections.entryPoint.scheme=${redirect.scheme}`);
      if (redirect.permanent !== undefined) args.push(`--entryPoints.${name}.http.redirections.entryPoint.permanent=${redirect.permanent}`);
    }
    if (httpOf(config).tls?.enabled) args.push(`--entryPoints.${name}.http.tls=true`);
    if (config.proxyProtocol?.trustedIPs?.length) args.push(`--entryPoints.${name}.proxyProtocol.trustedIPs=${config.proxyProtocol.trustedIPs.join(",")}`);
    if (config.proxyProtocol?.insecure) args.push(`--entryPoints.${name}.proxyProtocol.insecure`);
  }
  return args;
}

/**
 * The entrypoints a router that names none attaches to, mirroring getDefaultsEntrypoints in traefik/traefik
 * cmd/traefik/traefik.go (v3.5): the asDefault ones if any is flagged, else every one; never UDP, never `traefik`.
 */
export function traefikDefaultEntrypoints(ports: TraefikPorts): string[] {
  const flagged = Object.values(ports).some((p) => p.asDefault);
  return Object.entries(ports)
    .filter(([name, p]) => (!flagged || p.asDefault) && (p.protocol ?? "TCP").toUpperCase() !== "UDP" && name !== "traefik")
    .map(([name]) => name)
    .sort();
}
