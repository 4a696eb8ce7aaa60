/** Where one forwarded port goes inside the cluster. */
export interface HaproxyRoute {
  /** The port the edge forwards, bound on the tunnel addresses. */
  port: number;
  /** Cluster DNS name of the Service behind it, resolved at run time. */
  host: string;
  targetPort: number;
  /** Send a PROXY v2 header, so the receiver learns the client's address (Traefik's tunnel entrypoints do). */
  sendProxy: boolean;
}

export interface HaproxySpec {
  /** The gateway's tunnel addresses; HAProxy binds only these. */
  listen: { ipv4: string; ipv6?: string };
  routes: HaproxyRoute[];
  /** Plain-HTTP port on the pod address for the readiness probe. */
  healthPort: number;
}

/** Path the readiness probe asks for. */
export const HEALTH_PATH = "/healthz";

const bindAddress = (address: string, port: number) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

/**
 * Renders haproxy.cfg for the tunnel gateway: TCP passthrough from the tunnel addresses to the cluster, with PROXY v2
 * where the receiver trusts it. Service names are resolved at run time through the pod's resolv.conf with
 * `init-addr none`, so HAProxy starts even before Traefik's Service exists.
 */
export function renderHaproxyConfig(spec: HaproxySpec): string {
  const lines = [
    "# Rendered by the homelab home stack.",
    "global",
    "  log stdout format raw local0",
    "  maxconn 4096",
    "",
    "defaults",
    "  log global",
    "  timeout connect 5s",
    "  timeout client 1h",
    "  timeout server 1h",
    "",
    "resolvers cluster",
    "  parse-resolv-conf",
    "  hold valid 10s",
    "",
    "frontend health",
    "  mode http",
    `  bind :${spec.healthPort}`,
    `  monitor-uri ${HEALTH_PATH}`,
  ];
  for (const route of [...spec.routes].sort((a, b) => a.port - b.port)) {
    const name = `port-${route.port}`;
    lines.push(
      "",
      `frontend ${name}`,
      "  mode tcp",
      "  option tcplog",
      `  bind ${bindAddress(spec.listen.ipv4, route.port)}`,
      ...(spec.listen.ipv6 ? [`  bind ${bindAddress(spec.listen.ipv6, route.port)}`] : []),
      `  default_backend ${name}`,
      "",
      `backend ${name}`,
      "  mode tcp",
      `  server upstream ${route.host}:${route.targetPort}${route.sendProxy ? " send-proxy-v2" : ""} resolvers cluster init-addr none check`,
    );
  }
  return `${lines.join("\n")}\n`;
}
