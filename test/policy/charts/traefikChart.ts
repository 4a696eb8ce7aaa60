// Stand-ins for traefik-helm-chart v37.1.1 and Traefik v3.5, checked against `helm template` of the chart at its tag.

/** The part of the chart's `ports` values these mirrors read. */
export type TraefikPorts = Record<string, { port: number; exposedPort?: number; protocol?: string; asDefault?: boolean; tls?: { enabled?: boolean }; proxyProtocol?: { trustedIPs?: string[]; insecure?: boolean }; redirections?: { entryPoint?: { to: string; scheme?: string; permanent?: boolean } } }>;

/** The ports the chart's values.yaml (v37.1.1) adds to the program's: `traefik` (internal, never a default) and `metrics`. */
export const TRAEFIK_CHART_PORTS: TraefikPorts = { metrics: { port: 9100, exposedPort: 9100 }, traefik: { port: 8080, exposedPort: 8080 } };

/**
 * The entrypoint arguments traefik-helm-chart v37.1.1 writes, mirroring traefik/templates/_podtemplate.tpl: the
 * `range .Values.ports` block (address, asDefault; lines 191-197), then per entrypoint its redirections (lines
 * 652-672), TLS (678-680) and PROXY protocol trust (721-727), failing where the template calls `fail`.
 */
export function chartEntrypointArgs(ports: TraefikPorts): string[] {
  const entries = Object.entries(ports).sort(([a], [b]) => a.localeCompare(b));
  const args = entries.flatMap(([name, config]) => [`--entryPoints.${name}.address=:${config.port}/${(config.protocol ?? "tcp").toLowerCase()}`, ...(config.asDefault ? [`--entryPoints.${name}.asDefault=true`] : [])]);
  for (const [name, config] of entries) {
    const redirect = config.redirections?.entryPoint;
    if (redirect) {
      const target = ports[redirect.to];
      if (!target) throw new Error(`ERROR: Cannot redirect ${name} to ${redirect.to}: entryPoint not found`);
      if (target.tls?.enabled && redirect.scheme && redirect.scheme !== "https") throw new Error(`ERROR: Cannot redirect ${name} to ${redirect.to} without setting scheme to https`);
      args.push(`--entryPoints.${name}.http.redirections.entryPoint.to=:${target.exposedPort}`);
      if (redirect.scheme) args.push(`--entryPoints.${name}.http.redirections.entryPoint.scheme=${redirect.scheme}`);
      if (redirect.permanent !== undefined) args.push(`--entryPoints.${name}.http.redirections.entryPoint.permanent=${redirect.permanent}`);
    }
    if (config.tls?.enabled) args.push(`--entryPoints.${name}.http.tls=true`);
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
