import { RunError } from "@pulumi/pulumi";
import { z } from "zod";
import { addressRangeOverlaps, Cidr, cidrContains, cidrsOverlap, containsAddress, hostAddress, isWholeInternet, parseAddress, parseCidr } from "./cidr";

/** The Pulumi project name, and so the namespace of every config key this program reads. */
export const PROJECT = "homelab";

/** Which graph a stack builds. */
export type StackRole = "edge" | "home";

/**
 * Thrown for any invalid config value; the message lists every problem found, each naming its key.
 * A RunError, so `pulumi up` prints the message alone instead of a stack trace.
 */
export class ConfigError extends RunError {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Ports the edge always claims, so a catalog entry or the SSH port may not reuse them. */
export const WEB_PORTS = [80, 443] as const;
/** STUN, served by Headscale's embedded DERP server. */
export const STUN_PORT = 3478;

/** Config arrives from Pulumi as strings; these accept the string forms the CLI writes. */
const integer = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z.number({ error: "must be a whole number" }).int("must be a whole number").min(min, `must be between ${min} and ${max}`).max(max, `must be between ${min} and ${max}`),
  );
const boolean = () =>
  z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: "must be true or false" }));
const json = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }, schema);
const text = () => z.string({ error: "must be a string" }).trim().min(1, "must not be empty");

const ipAddress = () => text().refine((v) => parseAddress(v) !== undefined, "must be an IP address");

const domain = () => text().regex(DOMAIN_PATTERN, 'must be a lower-case DNS name such as "example.com"');

function cidr(family: 4 | 6, extra?: (c: Cidr) => string | undefined) {
  const familyName = family === 4 ? "an IPv4" : "an IPv6";
  return text().superRefine((value, ctx) => {
    const parsed = parseCidr(value);
    if (!parsed || parsed.family !== family) {
      ctx.addIssue({ code: "custom", message: `must be ${familyName} CIDR with host bits zero, such as ${family === 4 ? '"10.10.10.0/24"' : '"fd10:10:10::/64"'}` });
      return;
    }
    const problem = extra?.(parsed);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

const anyCidr = () =>
  text().superRefine((value, ctx) => {
    if (!parseCidr(value)) ctx.addIssue({ code: "custom", message: 'must be a CIDR with host bits zero, such as "198.51.100.7/32" or "2001:db8::/48"' });
  });

/** A container image pinned by tag (not "latest") or digest. */
const image = () =>
  text().superRefine((value, ctx) => {
    const digest = /@sha256:[0-9a-f]{64}$/.test(value);
    const tag = /:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(value.replace(/@sha256:[0-9a-f]{64}$/, ""))?.[1];
    if (!digest && (!tag || tag === "latest")) ctx.addIssue({ code: "custom", message: 'must be pinned: "repository:tag" (not latest) or "repository@sha256:<digest>"' });
  });

/** Where a catalog service is reachable from. */
export const EXPOSURES = ["public", "vpn", "lan"] as const;
export type Exposure = (typeof EXPOSURES)[number];

/** Catalog entries run by a component of this program rather than from an image. */
export const COMPONENTS = ["headscale", "headplane", "prometheus"] as const;
export type ServiceComponent = (typeof COMPONENTS)[number];

/** Namespaces the program owns; an app or group may not take one. */
export const RESERVED_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "traefik", "cert-manager", "reflector", "edge-tunnel", "monitoring", "node-exporter", "headscale", "headplane", "tailnet-router"] as const;

const serviceSchema = z.strictObject({
  /** Kubernetes-style name: a DNS label. */
  name: text().regex(DNS_LABEL, "must be a DNS label: lower-case letters, digits and '-', at most 63 characters"),
  hostname: domain(),
  exposure: z.enum(EXPOSURES, { error: `must be one of ${EXPOSURES.join(", ")}` }),
  /** The port the app listens on inside the cluster. */
  port: integer(1, 65535),
  /** Raw TCP ports forwarded through the edge as-is (public services only), e.g. a game server. */
  tcpPorts: z.array(integer(1, 65535)).optional(),
  /** The app terminates TLS itself, so the wildcard certificate's Secret is reflected into its namespace. */
  terminatesTls: boolean().optional(),
  /** The app calls internal HTTPS names, so the internal CA's certificate (never its key) is reflected to it. */
  trustsInternalCa: boolean().optional(),
  /** Container image, pinned; every entry has either an image or a component. */
  image: image().optional(),
  /** Run by a component of this program instead of an image: headscale, headplane (its web UI), or prometheus (the monitoring stack). */
  component: z.enum(COMPONENTS, { error: `must be one of ${COMPONENTS.join(", ")}` }).optional(),
  /** Namespace shared with the other apps of the same group; the app's own name when unset. */
  group: text().regex(DNS_LABEL, "must be a DNS label: lower-case letters, digits and '-', at most 63 characters").optional(),
  /** Put Traefik's forward-auth middleware (homelab:forwardAuth) in front of the app. */
  forwardAuth: boolean().optional(),
  /** Plain environment; secrets go in secretEnv, by reference. */
  env: z.record(z.string(), z.string()).optional(),
  /** Environment from Secrets the operator creates: variable → { secret, key }. */
  secretEnv: z.record(z.string(), z.strictObject({ secret: text(), key: text() })).optional(),
  /** Persistent volumes; an app with storage runs as a StatefulSet and its claims outlive it. */
  storage: z
    .array(
      z.strictObject({
        name: text().regex(DNS_LABEL, "must be a DNS label"),
        mountPath: text().regex(/^\//, "must be an absolute path"),
        size: text().regex(/^\d+(Mi|Gi|Ti)$/, 'must be a size such as "10Gi"'),
        storageClass: text().optional(),
        accessMode: z.enum(["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]).default("ReadWriteOnce"),
      }),
    )
    .optional(),
  /** Paths the app writes to besides its storage; each gets an emptyDir, the root filesystem stays read-only. */
  writablePaths: z.array(text().regex(/^\//, "must be an absolute path")).optional(),
  /** The non-root user (and group) the app runs as; 1000 when unset. */
  runAsUser: integer(1, 2147483647).optional(),
  /** Resource requests, and the memory limit. */
  resources: z.strictObject({ cpu: text().default("50m"), memory: text().default("128Mi"), memoryLimit: text().default("512Mi") }).optional(),
  /** HTTP path for the probes; without it they open a TCP connection to the port. */
  healthPath: text().regex(/^\//, "must start with /").optional(),
  /** Port Prometheus scrapes, admitted from the monitoring namespace. */
  metricsPort: integer(1, 65535).optional(),
  /** Egress the app needs beyond DNS: "internet", CIDRs or FQDNs with ports, or another catalog service by name. */
  egress: z
    .array(
      z.union([
        z.literal("internet"),
        z.strictObject({ cidr: anyCidr(), ports: z.array(integer(1, 65535)).min(1) }),
        z.strictObject({ fqdn: domain(), ports: z.array(integer(1, 65535)).min(1) }),
        z.strictObject({ service: text() }),
      ]),
    )
    .optional(),
  /** Route all of the app's traffic through a Gluetun VPN sidecar in its pod, with the kill switch on. */
  vpn: z
    .strictObject({
      /** Gluetun's VPN_SERVICE_PROVIDER, e.g. "mullvad", "protonvpn". */
      provider: text(),
      /** WireGuard runs in kernel mode and needs no /dev/net/tun; OpenVPN does, an explicit exemption. */
      type: z.enum(["wireguard", "openvpn"], { error: "must be wireguard or openvpn" }).default("wireguard"),
      region: text().optional(),
      /** Secret in the app's namespace: wireguard_private_key and wireguard_addresses, or openvpn_user and openvpn_password. */
      credentialsSecret: text().optional(),
      portForwarding: boolean().default(false),
      /** Ports the VPN endpoints listen on; the pod may reach nothing else. */
      endpointPorts: z.array(integer(1, 65535)).optional(),
    })
    .optional(),
});
export type ServiceConfig = z.infer<typeof serviceSchema>;

/** The ACME CAs cert-manager may use, with the CAA issuer domain that lets them issue. */
export const ACME_CAS = {
  letsencrypt: { directory: "https://acme-v02.api.letsencrypt.org/directory", caaIssuer: "letsencrypt.org" },
  "letsencrypt-staging": { directory: "https://acme-staging-v02.api.letsencrypt.org/directory", caaIssuer: "letsencrypt.org" },
} as const;
export type AcmeCa = keyof typeof ACME_CAS;

const commonShape = {
  domain: domain(),
  edgeHostname: domain().optional(),
  lanCidr: cidr(4),
  tunnelCidr: cidr(4, (c) => (c.prefix < 16 || c.prefix > 29 ? "must have a prefix length between /16 and /29" : undefined)),
  ipv6: boolean().default(true),
  tunnelCidrV6: cidr(6, (c) => {
    if (c.prefix !== 64) return "must be a /64";
    if (!cidrContains(parseCidr("fc00::/7")!, c)) return "must be a unique local (ULA) network inside fc00::/7";
    return undefined;
  }).optional(),
  wireguardPort: integer(1, 65535).default(51820),
  tunnelMtu: integer(1280, 1420).default(1420),
  derp: boolean().default(true),
  acmeCa: z.enum(Object.keys(ACME_CAS) as [AcmeCa, ...AcmeCa[]], { error: `must be one of ${Object.keys(ACME_CAS).join(", ")}` }).default("letsencrypt"),
  acmeEmail: text().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "must be an e-mail address"),
  services: json(z.array(serviceSchema, { error: "must be a list of services" })),
};

export const EDGE_UPDATE_MODES = ["ssh", "replace"] as const;

const edgeShape = {
  vpsServerType: text().default("cx23"),
  vpsLocation: text().default("fsn1"),
  vpsImage: text().default("debian-12"),
  wanInterface: text().regex(/^[a-zA-Z0-9_.-]{1,15}$/, "must be a network interface name").default("eth0"),
  adminCidrs: json(z.array(anyCidr(), { error: "must be a list of CIDRs" }).min(1, "must list at least one CIDR")),
  sshPort: integer(1, 65535),
  sshPublicKey: text().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line"),
  sshUser: text().default("root"),
  edgeUpdateMode: z.enum(EDGE_UPDATE_MODES, { error: `must be one of ${EDGE_UPDATE_MODES.join(", ")}` }).default("ssh"),
  commitConfirmSeconds: integer(15, 900).default(90),
  cloudflareZoneId: text().regex(/^[0-9a-f]{32}$/, "must be the zone's 32-character hex id"),
  /** Secret; only checked for presence here, and never copied into the typed config. */
  sshPrivateKey: text().optional(),
};

const hostOrAddress = () => text().regex(/^[A-Za-z0-9.:-]+$/, "must be a host name or an IP address");
const chartVersion = () => text().regex(/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'must be an exact chart version such as "1.18.2"');

const homeShape = {
  edgeStack: text(),
  /** Path of the kubeconfig; the provider's default (KUBECONFIG, ~/.kube/config) when unset. */
  kubeconfig: text().optional(),
  kubeContext: text(),
  k8sServiceHost: hostOrAddress(),
  k8sServicePort: integer(1, 65535).default(6443),
  podCidr: cidr(4).default("10.42.0.0/16"),
  lbPool: cidr(4, (c) => (c.prefix < 24 || c.prefix > 32 ? "must be between /24 and /32" : undefined)),
  dhcpRange: text().regex(/^\d+\.\d+\.\d+\.\d+-\d+\.\d+\.\d+\.\d+$/, 'must be "first-last", e.g. "192.168.1.100-192.168.1.199"').optional(),
  traefikAddress: text().optional(),
  l2Interfaces: json(z.array(text(), { error: "must be a list of interface name patterns" }).min(1, "must list at least one interface pattern")).default(["^eth[0-9]+", "^en.+"]),
  gatewayApi: boolean().default(false),
  gatewayApiVersion: chartVersion().default("v1.3.0"),
  ciliumVersion: chartVersion().default("1.18.2"),
  traefikVersion: chartVersion().default("37.1.1"),
  certManagerVersion: chartVersion().default("v1.18.2"),
  reflectorVersion: chartVersion().default("9.1.31"),
  /** Brings up kernel WireGuard in the gateway pod; needs wg-quick, ip and bash. */
  gatewayWireguardImage: image().default("lscr.io/linuxserver/wireguard:1.0.20250521"),
  gatewayHaproxyImage: image().default("docker.io/library/haproxy:3.2.4-alpine"),
  /** The cluster's Service network; Gluetun's kill switch lets traffic to it through, so cluster DNS keeps working. */
  serviceCidr: cidr(4).default("10.43.0.0/16"),
  gluetunImage: image().default("docker.io/qmcgaw/gluetun:v3.40.0"),
  /** The storage classes the cluster offers; when set, a volume naming any other is refused. */
  storageClasses: json(z.array(text().regex(DNS_LABEL, "must be a storage class name"), { error: "must be a list of storage class names" }).min(1, "must list at least one class")).optional(),
  /** Traefik forward-auth: where to ask whether a request may pass, and the answer headers handed to the app. */
  forwardAuth: json(
    z.strictObject(
      {
        address: text().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL such as "http://authelia.auth.svc.cluster.local:9091/api/authz/forward-auth"'),
        responseHeaders: z.array(text()).default([]),
        trustForwardHeader: boolean().default(false),
      },
      { error: "must be an object with address, and optionally responseHeaders and trustForwardHeader" },
    ),
  ).optional(),
  prometheusRetention: text().regex(/^\d+[hdwy]$/, 'must be a duration such as "15d"').default("15d"),
  prometheusStorageSize: text().regex(/^\d+(Mi|Gi|Ti)$/, 'must be a size such as "20Gi"').default("20Gi"),
  prometheusStorageClass: text().optional(),
  headscaleImage: image().default("docker.io/headscale/headscale:v0.26.1"),
  /** MagicDNS's own domain; Headscale refuses one that contains its server_url host. */
  headscaleBaseDomain: domain().optional(),
  /** Resolvers the tailnet forwards to; with headscaleOverrideLocalDns they answer every query a client makes. */
  headscaleNameservers: json(z.array(ipAddress(), { error: "must be a list of IP addresses" })).default(["1.1.1.1", "1.0.0.1"]),
  headscaleOverrideLocalDns: boolean().default(true),
  /** Domain → resolvers, sent to clients as split DNS. */
  headscaleSplitDns: json(z.record(domain(), z.array(ipAddress()).min(1, "must list at least one resolver"), { error: "must map domains to lists of resolver addresses" })).optional(),
  headscaleStorageSize: text().regex(/^\d+(Mi|Gi|Ti)$/, 'must be a size such as "1Gi"').default("1Gi"),
  headscaleStorageClass: text().optional(),
  /** Who may reach what over the tailnet: users, groups of them, named hosts, and rules from groups to hosts. */
  tailnet: json(
    z.strictObject(
      {
        users: z.array(text().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be a user name: lower-case letters, digits, '.', '_' and '-'")).default([]),
        groups: z.record(text().regex(DNS_LABEL, "must be a DNS label"), z.array(text())).default({}),
        hosts: z.record(text().regex(DNS_LABEL, "must be a DNS label"), anyCidr()).default({}),
        acls: z.array(z.strictObject({ from: z.array(text()).min(1, "must name at least one group"), to: z.array(text()).min(1, "must name at least one host") })).default([]),
      },
      { error: "must be an object with users, groups, hosts and acls" },
    ),
  ).default({ users: [], groups: {}, hosts: {}, acls: [] }),
  subnetRouterImage: image().default("docker.io/tailscale/tailscale:v1.86.2"),
  /** Runs the Headscale CLI in Headscale's pod through kubectl exec; needs kubectl, sh and jq. */
  headscaleBootstrapImage: image().default("docker.io/alpine/k8s:1.33.4"),
  /** Headplane, the web UI a component: headplane entry runs; 0.6.0 is the release made for Headscale 0.26. */
  headplaneImage: image().default("ghcr.io/tale/headplane:0.6.0"),
  kubePrometheusStackVersion: chartVersion().default("77.5.0"),
  blackboxExporterVersion: chartVersion().default("11.3.1"),
};

/** Keys declared `secret: true`; their values never pass through the schema as plain text. */
export const SECRET_KEYS = { edge: ["sshPrivateKey"], home: [] } as const satisfies Record<StackRole, readonly string[]>;

const commonSchema = z.object(commonShape);
const edgeSchema = z.object({ ...commonShape, ...edgeShape });
const homeSchema = z.object({ ...commonShape, ...homeShape });

type CommonRaw = z.infer<typeof commonSchema>;

/** The network plan with every derived address worked out once. */
export interface NetworkPlan {
  lanCidr: string;
  tunnelCidr: string;
  tunnelCidrV6?: string;
  ipv6: boolean;
  wireguardPort: number;
  tunnelMtu: number;
  derp: boolean;
}

export interface CommonConfig {
  domain: string;
  edgeHostname: string;
  network: NetworkPlan;
  acme: { ca: AcmeCa; email: string; directory: string; caaIssuer: string };
  services: ServiceConfig[];
}

export interface EdgeConfig extends CommonConfig {
  vps: { serverType: string; location: string; image: string; wanInterface: string };
  ssh: { port: number; publicKey: string; user: string; adminCidrs: string[] };
  update: { mode: (typeof EDGE_UPDATE_MODES)[number]; commitConfirmSeconds: number };
  cloudflareZoneId: string;
}

export interface HomeConfig extends CommonConfig {
  edgeStack: string;
  cluster: { kubeconfig?: string; context: string; serviceHost: string; servicePort: number; podCidr: string; serviceCidr: string };
  loadBalancer: { pool: string; traefikAddress: string; interfaces: string[] };
  gatewayApi: { enabled: boolean; version: string };
  charts: { cilium: string; traefik: string; certManager: string; reflector: string };
  gatewayImages: { wireguard: string; haproxy: string };
  gluetunImage: string;
  storageClasses?: string[];
  forwardAuth?: ForwardAuthConfig;
  monitoringCharts: { kubePrometheusStack: string; blackboxExporter: string };
  prometheus: { retention: string; storageSize: string; storageClass?: string };
  headscale: HeadscaleSettings;
}

/** The tailnet's access policy as configured: users, their groups, named hosts and group → host rules. */
export interface TailnetConfig {
  users: string[];
  groups: Record<string, string[]>;
  hosts: Record<string, string>;
  acls: { from: string[]; to: string[] }[];
}

/** Headscale and the tailnet around it. */
export interface HeadscaleSettings {
  image: string;
  baseDomain: string;
  nameservers: string[];
  overrideLocalDns: boolean;
  splitDns?: Record<string, string[]>;
  storageSize: string;
  storageClass?: string;
  tailnet: TailnetConfig;
  images: { subnetRouter: string; bootstrap: string; headplane: string };
}

/** Hosts every tailnet policy knows: the whole home LAN, and Traefik's address (every private service, ports 80 and 443). */
export const BUILTIN_TAILNET_HOSTS = ["lan", "services"] as const;
/** The Headscale user the subnet router registers as. */
export const SUBNET_ROUTER_USER = "subnet-router";

/** Traefik's forwardAuth settings, shared by every app that turns it on. */
export interface ForwardAuthConfig {
  address: string;
  responseHeaders: string[];
  trustForwardHeader: boolean;
}

type Problem = { key: string; message: string };

function keyName(path: PropertyKey[]): string {
  const [head, ...rest] = path;
  return `${PROJECT}:${String(head)}${rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`;
}

function valueAt(raw: Record<string, unknown>, path: PropertyKey[]): unknown {
  let value: unknown = raw[String(path[0])];
  if (typeof value === "string" && path.length > 1) {
    try {
      value = JSON.parse(value);
    } catch {
      return value;
    }
  }
  for (const step of path.slice(1)) value = (value as Record<PropertyKey, unknown> | undefined)?.[step];
  return value;
}

/** Shows a value as the operator wrote it: numbers and booleans bare even though the CLI passes them as strings. */
function showValue(value: unknown): string {
  if (typeof value === "string" && /^(-?\d+(\.\d+)?|true|false)$/.test(value.trim())) return value.trim();
  return JSON.stringify(value);
}

function describeIssue(raw: Record<string, unknown>, issue: z.core.$ZodIssue): string {
  const key = keyName(issue.path);
  const value = valueAt(raw, issue.path);
  if (issue.code === "unrecognized_keys") {
    const unknown = `${key}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    const isCatalogEntry = issue.path.length === 2 && issue.path[0] === "services";
    return isCatalogEntry ? `${unknown}; allowed fields are ${Object.keys(serviceSchema.shape).join(", ")}` : unknown;
  }
  if (value === undefined) return `${key} is required but not set`;
  return `${key}: ${showValue(value)} ${issue.message}`;
}

/** Cross-field rules of the common part: the network plan and the catalog. */
function commonProblems(c: CommonRaw): Problem[] {
  const problems: Problem[] = [];
  const lan = parseCidr(c.lanCidr)!;
  const tunnel = parseCidr(c.tunnelCidr)!;
  if (cidrsOverlap(lan, tunnel)) {
    problems.push({ key: "tunnelCidr", message: `"${c.tunnelCidr}" overlaps the home LAN ${c.lanCidr}; pick a range the LAN does not use` });
  }
  if (c.ipv6 && !c.tunnelCidrV6) {
    problems.push({ key: "tunnelCidrV6", message: "not set, but required while homelab:ipv6 is true (a ULA /64 such as \"fd10:10:10::/64\")" });
  }
  const edgeHostname = c.edgeHostname ?? `edge.${c.domain}`;
  if (!isWithin(edgeHostname, c.domain)) {
    problems.push({ key: "edgeHostname", message: `"${edgeHostname}" is outside the domain ${c.domain}` });
  }
  const names = new Map<string, number>();
  const hostnames = new Map<string, number>([[edgeHostname, -1]]);
  c.services.forEach((s, i) => {
    const at = `services[${i}]`;
    if (!isWithin(s.hostname, c.domain)) problems.push({ key: `${at}.hostname`, message: `"${s.hostname}" is outside the domain ${c.domain}` });
    if (names.has(s.name)) problems.push({ key: `${at}.name`, message: `"${s.name}" is used twice (also services[${names.get(s.name)}]); service names must be unique` });
    names.set(s.name, i);
    if (hostnames.has(s.hostname)) {
      const other = hostnames.get(s.hostname)!;
      problems.push({ key: `${at}.hostname`, message: `"${s.hostname}" is used twice (also ${other < 0 ? "homelab:edgeHostname" : `services[${other}]`}); hostnames must be unique` });
    }
    hostnames.set(s.hostname, i);
    if (s.metricsPort !== undefined && s.metricsPort === s.port) {
      problems.push({ key: `${at}.metricsPort`, message: `${s.metricsPort} collides with the app's port; metrics need a port of their own` });
    }
    if (s.vpn && !s.vpn.credentialsSecret) {
      problems.push({ key: `${at}.vpn.credentialsSecret`, message: `is required: a VPN sidecar without credentials cannot connect, and the kill switch would cut "${s.name}" off` });
    }
    if (s.vpn && s.egress?.length) {
      problems.push({ key: `${at}.egress`, message: `"${s.name}" sends everything through its VPN; declare no egress of its own` });
    }
    if (!s.image === !s.component) {
      problems.push({ key: `${at}`, message: `"${s.name}" must set exactly one of image (an app) or component (${COMPONENTS.join(", ")})` });
    }
    if (s.component && s.group) problems.push({ key: `${at}.group`, message: `"${s.name}" is run by the ${s.component} component, whose namespace is fixed` });
    if (s.component === "headscale" && s.exposure !== "public") {
      problems.push({ key: `${at}.exposure`, message: `"${s.exposure}" is refused for Headscale: clients register with it from anywhere, so it must be public` });
    }
    if (s.component === "headscale" && s.forwardAuth) {
      problems.push({ key: `${at}.forwardAuth`, message: "is refused for Headscale: Tailscale clients cannot pass a login page" });
    }
    if (s.component === "headplane" && s.exposure !== "vpn") {
      problems.push({ key: `${at}.exposure`, message: `"${s.exposure}" is refused for Headplane: it administers the tailnet, so it is reached only over the tailnet (vpn)` });
    }
    const namespace = s.group ?? s.name;
    if (s.image && (RESERVED_NAMESPACES as readonly string[]).includes(namespace)) {
      problems.push({ key: `${at}.${s.group ? "group" : "name"}`, message: `"${namespace}" would put the app in a namespace the program owns; pick another` });
    }
    (s.egress ?? []).forEach((rule, j) => {
      if (typeof rule !== "object" || !("service" in rule)) return;
      if (rule.service === s.name) problems.push({ key: `${at}.egress[${j}].service`, message: `"${rule.service}" is the app itself; same-namespace traffic is always allowed` });
      else if (!c.services.some((other) => other.name === rule.service)) {
        problems.push({ key: `${at}.egress[${j}].service`, message: `"${rule.service}" is not in the catalog; known services are ${c.services.map((o) => o.name).join(", ")}` });
      }
    });
    if (s.tcpPorts?.length && s.exposure !== "public") {
      problems.push({ key: `${at}.tcpPorts`, message: `only public services forward raw TCP ports through the edge; "${s.name}" is ${s.exposure}` });
    }
  });
  const headplane = c.services.findIndex((s) => s.component === "headplane");
  if (headplane >= 0 && !c.services.some((s) => s.component === "headscale")) {
    problems.push({ key: `services[${headplane}].component`, message: '"headplane" is the web UI of Headscale, but the catalog has no entry with component: headscale; add one or remove this entry' });
  }
  if (c.derp && !c.services.some((s) => s.component === "headscale")) {
    problems.push({ key: "derp", message: "is true, which forwards STUN to Headscale, but the catalog has no entry with component: headscale; add one or set derp to false" });
  }
  for (const component of COMPONENTS) {
    const runs = c.services.flatMap((s, i) => (s.component === component ? [i] : []));
    if (runs.length > 1) problems.push({ key: `services[${runs[1]}].component`, message: `"${component}" is already services[${runs[0]}]; the catalog runs at most one` });
  }
  const claimed = new Map<number, string>(WEB_PORTS.map((p) => [p, "the web entrypoints"]));
  c.services.forEach((s, i) =>
    (s.tcpPorts ?? []).forEach((port, j) => {
      if (claimed.has(port)) problems.push({ key: `services[${i}].tcpPorts[${j}]`, message: `${port} is already forwarded for ${claimed.get(port)}` });
      claimed.set(port, `services[${i}] (${s.name})`);
    }),
  );
  return problems;
}

function isWithin(hostname: string, domain: string): boolean {
  return hostname === domain || hostname.endsWith(`.${domain}`);
}

function edgeProblems(c: z.infer<typeof edgeSchema>): Problem[] {
  const problems: Problem[] = [];
  c.adminCidrs.forEach((text, i) => {
    if (isWholeInternet(parseCidr(text)!)) {
      problems.push({ key: `adminCidrs[${i}]`, message: `"${text}" opens SSH to the whole internet; list the networks you administer from` });
    }
  });
  if (c.sshPort === 22) problems.push({ key: "sshPort", message: "22 is refused: pick a high port (1024-65535) so the edge does not sit on the scanned default" });
  else if (c.sshPort < 1024) problems.push({ key: "sshPort", message: `${c.sshPort} is a privileged port; pick one between 1024 and 65535` });
  if (c.edgeUpdateMode === "ssh" && !c.sshPrivateKey) {
    problems.push({ key: "sshPrivateKey", message: "not set, but required while homelab:edgeUpdateMode is ssh; set it with `pulumi config set --secret sshPrivateKey < key`, or use mode replace" });
  }
  const forwarded = new Set<number>([...WEB_PORTS, ...c.services.flatMap((s) => s.tcpPorts ?? [])]);
  if (forwarded.has(c.sshPort)) problems.push({ key: "sshPort", message: `${c.sshPort} is forwarded to the home cluster; pick a port nothing forwards` });
  return problems;
}

function parseWith<S extends z.ZodTypeAny>(schema: S, raw: Record<string, unknown>, crossChecks: (value: z.infer<S>) => Problem[]): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => describeIssue(raw, issue)));
  const problems = crossChecks(result.data);
  if (problems.length) throw new ConfigError(problems.map((p) => `${PROJECT}:${p.key}: ${p.message}`));
  return result.data;
}

function toCommon(c: CommonRaw): CommonConfig {
  const ca = ACME_CAS[c.acmeCa];
  return {
    domain: c.domain,
    edgeHostname: c.edgeHostname ?? `edge.${c.domain}`,
    network: {
      lanCidr: c.lanCidr,
      tunnelCidr: c.tunnelCidr,
      tunnelCidrV6: c.ipv6 ? c.tunnelCidrV6 : undefined,
      ipv6: c.ipv6,
      wireguardPort: c.wireguardPort,
      tunnelMtu: c.tunnelMtu,
      derp: c.derp,
    },
    acme: { ca: c.acmeCa, email: c.acmeEmail, directory: ca.directory, caaIssuer: ca.caaIssuer },
    services: c.services,
  };
}

/** Strips the project namespace, so `homelab:domain` becomes `domain`; keys of other namespaces are not ours to check. */
export function projectKeys(config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith(`${PROJECT}:`))
      .map(([key, value]) => [key.slice(PROJECT.length + 1), value]),
  );
}

/** Parses the edge stack's config (project-level plus stack values, as strings keyed without namespace). */
export function parseEdgeConfig(raw: Record<string, unknown>): EdgeConfig {
  const c = parseWith(edgeSchema, raw, (v) => [...commonProblems(v), ...edgeProblems(v)]);
  return {
    ...toCommon(c),
    vps: { serverType: c.vpsServerType, location: c.vpsLocation, image: c.vpsImage, wanInterface: c.wanInterface },
    ssh: { port: c.sshPort, publicKey: c.sshPublicKey, user: c.sshUser, adminCidrs: c.adminCidrs },
    update: { mode: c.edgeUpdateMode, commitConfirmSeconds: c.commitConfirmSeconds },
    cloudflareZoneId: c.cloudflareZoneId,
  };
}

/** The address Traefik's Service takes when none is configured: the pool's first host (its network address if a /32). */
function defaultTraefikAddress(pool: string): string {
  const parsed = parseCidr(pool)!;
  return hostAddress(parsed, parsed.prefix >= 31 ? 0 : 1);
}

function homeProblems(c: z.infer<typeof homeSchema>): Problem[] {
  const problems: Problem[] = [];
  const lan = parseCidr(c.lanCidr)!;
  const pool = parseCidr(c.lbPool)!;
  const pods = parseCidr(c.podCidr)!;
  if (!cidrContains(lan, pool)) problems.push({ key: "lbPool", message: `"${c.lbPool}" is outside the home LAN ${c.lanCidr}; L2 announcements only answer for LAN addresses` });
  if (c.dhcpRange) {
    const [first, last] = c.dhcpRange.split("-").map((a) => parseAddress(a));
    if (!first || !last || first.family !== 4 || last.family !== 4 || first.value > last.value) {
      problems.push({ key: "dhcpRange", message: `"${c.dhcpRange}" must be two IPv4 addresses, the first not above the last` });
    } else if (addressRangeOverlaps(pool, first.value, last.value)) {
      problems.push({ key: "lbPool", message: `"${c.lbPool}" overlaps the DHCP range ${c.dhcpRange}; the router would hand out addresses the cluster announces` });
    }
  }
  for (const [key, other] of [["lanCidr", lan], ["tunnelCidr", parseCidr(c.tunnelCidr)!]] as const) {
    if (cidrsOverlap(pods, other)) problems.push({ key: "podCidr", message: `"${c.podCidr}" overlaps homelab:${key} ${other.text}` });
  }
  const services = parseCidr(c.serviceCidr)!;
  for (const [key, other] of [["lanCidr", lan], ["tunnelCidr", parseCidr(c.tunnelCidr)!], ["podCidr", pods]] as const) {
    if (cidrsOverlap(services, other)) problems.push({ key: "serviceCidr", message: `"${c.serviceCidr}" overlaps homelab:${key} ${other.text}` });
  }
  c.services.forEach((s, i) => {
    if (s.forwardAuth && !c.forwardAuth) problems.push({ key: `services[${i}].forwardAuth`, message: `"${s.name}" asks for forward-auth, but homelab:forwardAuth is not set` });
    if (!c.storageClasses) return;
    (s.storage ?? []).forEach((volume, j) => {
      if (volume.storageClass && !c.storageClasses!.includes(volume.storageClass)) {
        problems.push({ key: `services[${i}].storage[${j}].storageClass`, message: `"${volume.storageClass}" is not a class the cluster offers; homelab:storageClasses lists ${c.storageClasses!.join(", ")}` });
      }
    });
  });
  for (const key of ["prometheusStorageClass", "headscaleStorageClass"] as const) {
    const storageClass = c[key];
    if (c.storageClasses && storageClass && !c.storageClasses.includes(storageClass)) {
      problems.push({ key, message: `"${storageClass}" is not a class the cluster offers; homelab:storageClasses lists ${c.storageClasses.join(", ")}` });
    }
  }
  problems.push(...headscaleProblems(c));
  const address = c.traefikAddress ?? defaultTraefikAddress(c.lbPool);
  if (!containsAddress(pool, address)) {
    problems.push({ key: "traefikAddress", message: `"${address}" must be an IPv4 address inside homelab:lbPool ${c.lbPool}` });
  }
  return problems;
}

/** Headscale's own rules, and the tailnet policy's references, checked before Headscale would refuse them. */
function headscaleProblems(c: z.infer<typeof homeSchema>): Problem[] {
  const problems: Problem[] = [];
  const server = c.services.find((s) => s.component === "headscale");
  if (!server) return problems;
  const baseDomain = c.headscaleBaseDomain ?? `ts.${c.domain}`;
  if (server.hostname === baseDomain || server.hostname.endsWith(`.${baseDomain}`)) {
    problems.push({ key: "headscaleBaseDomain", message: `"${baseDomain}" contains Headscale's own host ${server.hostname}; Headscale refuses it, as MagicDNS would answer for its server. Use a domain of its own, such as "ts.${c.domain}"` });
  }
  const privateNames = c.services.filter((s) => s.exposure !== "public").map((s) => s.hostname);
  const globalDns = c.headscaleOverrideLocalDns && c.headscaleNameservers.length > 0;
  const splitCovers = (hostname: string) => Object.keys(c.headscaleSplitDns ?? {}).some((d) => hostname === d || hostname.endsWith(`.${d}`));
  const unreached = privateNames.filter((name) => !globalDns && !splitCovers(name));
  if (unreached.length) {
    problems.push({
      key: "headscaleOverrideLocalDns",
      message: `is off and homelab:headscaleSplitDns does not cover ${unreached.join(", ")}; Tailscale clients would never ask the tailnet for these names. Turn it on (with homelab:headscaleNameservers), or add a split entry for ${c.domain}`,
    });
  }
  const { users, groups, hosts, acls } = c.tailnet;
  users.forEach((user, i) => {
    if (user === SUBNET_ROUTER_USER) problems.push({ key: `tailnet.users[${i}]`, message: `"${user}" is reserved for the subnet router` });
  });
  for (const [group, members] of Object.entries(groups)) {
    members.forEach((member, i) => {
      if (!users.includes(member)) problems.push({ key: `tailnet.groups.${group}[${i}]`, message: `"${member}" is not a user; tailnet.users lists ${users.join(", ") || "none"}` });
    });
  }
  for (const name of Object.keys(hosts)) {
    if ((BUILTIN_TAILNET_HOSTS as readonly string[]).includes(name)) problems.push({ key: `tailnet.hosts.${name}`, message: `"${name}" is built in (${BUILTIN_TAILNET_HOSTS.join(", ")}); pick another name` });
  }
  const knownHosts = [...BUILTIN_TAILNET_HOSTS, ...Object.keys(hosts)];
  acls.forEach((rule, i) => {
    rule.from.forEach((group, j) => {
      if (!groups[group]) problems.push({ key: `tailnet.acls[${i}].from[${j}]`, message: `"${group}" is not a group; tailnet.groups has ${Object.keys(groups).join(", ") || "none"}` });
    });
    rule.to.forEach((target, j) => {
      const [host, ports] = target.split(":");
      if (!knownHosts.includes(host)) problems.push({ key: `tailnet.acls[${i}].to[${j}]`, message: `"${host}" is not a host; known hosts are ${knownHosts.join(", ")}` });
      else if (ports !== undefined && !/^(\*|\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*)$/.test(ports)) {
        problems.push({ key: `tailnet.acls[${i}].to[${j}]`, message: `"${target}" must be host, host:port, host:port,port or host:first-last` });
      }
    });
  });
  return problems;
}

/** Parses the home stack's config. */
export function parseHomeConfig(raw: Record<string, unknown>): HomeConfig {
  const c = parseWith(homeSchema, raw, (v) => [...commonProblems(v), ...homeProblems(v)]);
  return {
    ...toCommon(c),
    edgeStack: c.edgeStack,
    cluster: { kubeconfig: c.kubeconfig, context: c.kubeContext, serviceHost: c.k8sServiceHost, servicePort: c.k8sServicePort, podCidr: c.podCidr, serviceCidr: c.serviceCidr },
    loadBalancer: { pool: c.lbPool, traefikAddress: c.traefikAddress ?? defaultTraefikAddress(c.lbPool), interfaces: c.l2Interfaces },
    gatewayApi: { enabled: c.gatewayApi, version: c.gatewayApiVersion },
    charts: { cilium: c.ciliumVersion, traefik: c.traefikVersion, certManager: c.certManagerVersion, reflector: c.reflectorVersion },
    gatewayImages: { wireguard: c.gatewayWireguardImage, haproxy: c.gatewayHaproxyImage },
    gluetunImage: c.gluetunImage,
    storageClasses: c.storageClasses,
    forwardAuth: c.forwardAuth,
    monitoringCharts: { kubePrometheusStack: c.kubePrometheusStackVersion, blackboxExporter: c.blackboxExporterVersion },
    prometheus: { retention: c.prometheusRetention, storageSize: c.prometheusStorageSize, storageClass: c.prometheusStorageClass },
    headscale: {
      image: c.headscaleImage,
      baseDomain: c.headscaleBaseDomain ?? `ts.${c.domain}`,
      nameservers: c.headscaleNameservers,
      overrideLocalDns: c.headscaleOverrideLocalDns,
      splitDns: c.headscaleSplitDns,
      storageSize: c.headscaleStorageSize,
      storageClass: c.headscaleStorageClass,
      tailnet: c.tailnet,
      images: { subnetRouter: c.subnetRouterImage, bootstrap: c.headscaleBootstrapImage, headplane: c.headplaneImage },
    },
  };
}

/** Parses only the project-level part, for tools that need the catalog without a stack. */
export function parseCommonConfig(raw: Record<string, unknown>): CommonConfig {
  return toCommon(parseWith(commonSchema, raw, commonProblems));
}
