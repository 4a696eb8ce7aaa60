import { parse, stringify } from "yaml";
import { BUILTIN_TAILNET_HOSTS, ServiceConfig, SUBNET_ROUTER_USER, TailnetConfig } from "../config/schema";

/** Where Headscale keeps its state (the PVC) and reads its files (the ConfigMap). */
export const HEADSCALE_PATHS = {
  data: "/var/lib/headscale",
  config: "/etc/headscale",
  socketDir: "/var/run/headscale",
} as const;
export const HEADSCALE_METRICS_PORT = 9090;
/** The address range Tailscale clients accept; Headscale hands out addresses from it. */
export const TAILNET_PREFIXES = { v4: "100.64.0.0/10", v6: "fd7a:115c:a1e0::/48" } as const;
/** Where Tailscale serves its public DERP map, used only when this program runs no DERP server of its own. */
export const TAILSCALE_DERP_MAP_HOST = "controlplane.tailscale.com";
export const TAILSCALE_DERP_MAP = `https://${TAILSCALE_DERP_MAP_HOST}/derpmap/default`;

export interface HeadscaleConfigSpec {
  /** https:// URL of the catalog's headscale hostname. */
  serverUrl: string;
  /** The catalog entry's port, which Traefik's route targets. */
  listenPort: number;
  baseDomain: string;
  nameservers: string[];
  overrideLocalDns: boolean;
  splitDns?: Record<string, string[]>;
  /** MagicDNS records for the private catalog names. */
  extraRecords: DnsRecord[];
  /** The VPS's public addresses, which the embedded DERP server announces; absent when DERP is off. */
  derp?: { ipv4: string; ipv6?: string };
}

export interface DnsRecord {
  name: string;
  type: "A" | "AAAA";
  value: string;
}

/** Every vpn and lan catalog name, pointing at Traefik's LAN address: nothing is listed by hand. */
export function splitDnsRecords(services: ServiceConfig[], traefikAddress: string): DnsRecord[] {
  return services.filter((s) => s.exposure !== "public").map((s) => ({ name: s.hostname, type: "A", value: traefikAddress }));
}

/**
 * Headscale's config.yaml, as an object, with only keys the pinned release reads (v0.29.3 hscontrol/types/config.go, unchanged since v0.29.2): Traefik terminates TLS, sqlite and every key live on
 * the claim, the embedded DERP server's STUN listens on [::]:3478 (answered through the derp tunnel peer), and
 * MagicDNS serves the private catalog names.
 */
export function headscaleConfig(spec: HeadscaleConfigSpec): Record<string, unknown> {
  const data = HEADSCALE_PATHS.data;
  return {
    server_url: spec.serverUrl,
    listen_addr: `0.0.0.0:${spec.listenPort}`,
    metrics_listen_addr: `0.0.0.0:${HEADSCALE_METRICS_PORT}`,
    // The CLI goes through the unix socket; gRPC stays on loopback.
    grpc_listen_addr: "127.0.0.1:50443",
    grpc_allow_insecure: false,
    noise: { private_key_path: `${data}/noise_private.key` },
    prefixes: { ...TAILNET_PREFIXES, allocation: "sequential" },
    derp: {
      server: {
        enabled: spec.derp !== undefined,
        region_id: 999,
        region_code: "homelab",
        region_name: "Homelab embedded DERP",
        // Only nodes this Headscale knows may relay through it.
        verify_clients: true,
        stun_listen_addr: "[::]:3478",
        private_key_path: `${data}/derp_server_private.key`,
        automatically_add_embedded_derp_region: true,
        ...(spec.derp ? { ipv4: spec.derp.ipv4, ...(spec.derp.ipv6 ? { ipv6: spec.derp.ipv6 } : {}) } : {}),
      },
      // With a DERP server of its own, the tailnet relays through nothing else. Without one, Headscale fetches
      // Tailscale's map at start and refuses to serve an empty one: its namespace lets it reach that host (headscale.ts).
      urls: spec.derp ? [] : [TAILSCALE_DERP_MAP],
      paths: [],
      auto_update_enabled: spec.derp === undefined,
      update_frequency: "24h",
    },
    disable_check_updates: true,
    node: { ephemeral: { inactivity_timeout: "30m" } },
    database: { type: "sqlite", sqlite: { path: `${data}/db.sqlite`, write_ahead_log: true } },
    tls_cert_path: "",
    tls_key_path: "",
    log: { format: "json", level: "info" },
    policy: { mode: "file", path: `${HEADSCALE_PATHS.config}/policy.json` },
    dns: {
      magic_dns: true,
      base_domain: spec.baseDomain,
      override_local_dns: spec.overrideLocalDns,
      nameservers: { global: spec.nameservers, split: spec.splitDns ?? {} },
      search_domains: [],
      extra_records: spec.extraRecords,
    },
    unix_socket: `${HEADSCALE_PATHS.socketDir}/headscale.sock`,
    unix_socket_permission: "0770",
    logtail: { enabled: false },
  };
}

/** The same, as the YAML file Headscale reads. */
export function renderHeadscaleConfig(spec: HeadscaleConfigSpec): string {
  return stringify(headscaleConfig(spec), { lineWidth: 0 });
}

/** Where a rendered config's STUN listener binds (host unbracketed, "" for any), or undefined while DERP is off. */
export function stunListenAddress(configYaml: string): { host: string; port: number } | undefined {
  const server = (parse(configYaml) as { derp?: { server?: { enabled?: boolean; stun_listen_addr?: string } } }).derp?.server;
  const match = server?.enabled ? /^\[?([^\]]*)\]?:(\d+)$/.exec(server.stun_listen_addr ?? "") : null;
  return match ? { host: match[1], port: Number(match[2]) } : undefined;
}

/** Policy v2 writes users with a trailing "@". */
const userRef = (user: string) => `${user}@`;

/** One ACL destination: a host with its ports; `services` alone means Traefik's web ports, any other host every port. */
function destination(target: string): string {
  const [host, ports] = target.split(":");
  if (ports !== undefined) return `${host}:${ports}`;
  return host === "services" ? "services:80,443" : `${host}:*`;
}

export interface TailnetPolicySpec {
  tailnet: TailnetConfig;
  lanCidr: string;
  traefikAddress: string;
}

/**
 * Headscale's policy (v2), built from config: groups of users, named hosts (the LAN, Traefik's address, and any the
 * operator names), one accept rule per configured rule, and the subnet router's LAN route auto-approved. Anything no
 * rule allows is denied. Every private service sits behind the same Traefik address, so per-app access is Traefik's
 * (forward-auth), not the tailnet's.
 */
export function tailnetPolicy(spec: TailnetPolicySpec): Record<string, unknown> {
  const builtin: Record<(typeof BUILTIN_TAILNET_HOSTS)[number], string> = { lan: spec.lanCidr, services: `${spec.traefikAddress}/32` };
  return {
    groups: Object.fromEntries(Object.entries(spec.tailnet.groups).map(([group, users]) => [`group:${group}`, users.map(userRef)])),
    hosts: { ...builtin, ...spec.tailnet.hosts },
    tagOwners: {},
    acls: spec.tailnet.acls.map((rule) => ({ action: "accept", src: rule.from.map((g) => `group:${g}`), dst: rule.to.map(destination) })),
    autoApprovers: { routes: { [spec.lanCidr]: [userRef(SUBNET_ROUTER_USER)] } },
  };
}

/** The policy as the JSON file Headscale reads. */
export function renderTailnetPolicy(spec: TailnetPolicySpec): string {
  return `${JSON.stringify(tailnetPolicy(spec), null, 2)}\n`;
}
