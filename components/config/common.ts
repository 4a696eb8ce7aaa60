import { z } from "zod";
import { cidrContains, cidrsOverlap, parseCidr } from "../contract/cidr";
import { parseWith, Problem } from "./parsing";
import { COMPONENTS, RESERVED_NAMESPACES, ServiceConfig, serviceSchema } from "./services";
import { boolean, cidr, domain, integer, isWithin, json, text } from "./values";
import { wizardProblems } from "./wizards";

// The project-level keys both stacks read: the domain, the network plan, the ACME CA and the catalog.

/** Ports the edge always claims, so a catalog entry or the SSH port may not reuse them. */
export const WEB_PORTS = [80, 443] as const;
/** STUN, served by Headscale's embedded DERP server. */
export const STUN_PORT = 3478;

/** The ACME CAs cert-manager may use, with the CAA issuer domain that lets them issue. */
export const ACME_CAS = {
  letsencrypt: { directory: "https://acme-v02.api.letsencrypt.org/directory", caaIssuer: "letsencrypt.org" },
  "letsencrypt-staging": { directory: "https://acme-staging-v02.api.letsencrypt.org/directory", caaIssuer: "letsencrypt.org" },
} as const;
export type AcmeCa = keyof typeof ACME_CAS;

/** Keys set once in Pulumi.yaml for every stack. */
export const commonShape = {
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

const commonSchema = z.object(commonShape);

/** The project-level keys as parsed, before the typed config is built from them. */
export type CommonRaw = z.infer<typeof commonSchema>;

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

/** Cross-field rules of the common part: the network plan and the catalog. */
export function commonProblems(c: CommonRaw): Problem[] {
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
  problems.push(...wizardProblems(c.services));
  return problems;
}

/** The typed project-level config. */
export function toCommon(c: CommonRaw): CommonConfig {
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

/** Parses only the project-level part, for tools that need the catalog without a stack. */
export function parseCommonConfig(raw: Record<string, unknown>): CommonConfig {
  return toCommon(parseWith(commonSchema, raw, commonProblems));
}
