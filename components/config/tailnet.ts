import { z } from "zod";
import { containsAddress, parseCidr } from "../contract/cidr";
import { CommonRaw } from "./common";
import { Problem } from "./parsing";
import { anyCidr, boolean, DNS_LABEL, domain, image, ipAddress, json, text } from "./values";

/** The home stack's keys for Headscale, its tailnet policy, the subnet router and Headplane. */
export const tailnetShape = {
  headscaleImage: image().default("docker.io/headscale/headscale:v0.29.3"),
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
  /** The router's image; containerboot before v1.96.0 needs a service-account token, which the router does not mount. */
  subnetRouterImage: image().default("docker.io/tailscale/tailscale:v1.102.5"),
  /** Runs the Headscale CLI in Headscale's pod through kubectl exec; needs kubectl, sh and jq. */
  headscaleBootstrapImage: image().default("docker.io/alpine/k8s:1.33.4"),
  /** Headplane, the web UI a component: headplane entry runs; refused against a Headscale no Headplane release supports. */
  headplaneImage: image().default("ghcr.io/tale/headplane:0.6.3"),
};
const tailnetSchema = z.object(tailnetShape);
/** The tailnet keys as parsed, beside the project-level ones they are checked against. */
export type TailnetRaw = CommonRaw & z.infer<typeof tailnetSchema>;

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

/** An image tag's version as [major, minor, patch], or undefined for a digest or another tag form. */
function tagVersion(image: string): number[] | undefined {
  const tag = /:v?(\d+)\.(\d+)\.(\d+)$/.exec(image);
  return tag ? tag.slice(1).map(Number) : undefined;
}

/** Negative, zero or positive as version a is older than, equal to or newer than b. */
function compareVersions(a: number[], b: number[]): number {
  const i = a.findIndex((part, j) => part !== b[j]);
  return i < 0 ? 0 : a[i] - b[i];
}

/** The first Tailscale release whose containerboot makes no kube client when TS_KUBE_SECRET is empty (commit 8890c3c41). */
const ROUTER_MIN_TAILSCALE = [1, 96, 0];

/** Why a router image tag would crash-loop without a service-account token, or undefined (a digest cannot be told). */
function routerImageProblem(image: string): string | undefined {
  const version = tagVersion(image);
  return version && compareVersions(version, ROUTER_MIN_TAILSCALE) < 0
    ? `"${image}" is older than Tailscale v${ROUTER_MIN_TAILSCALE.join(".")}: its containerboot opens the Kubernetes client whenever it runs in a pod, and exits without the service-account token the router does not mount. Use v${ROUTER_MIN_TAILSCALE.join(".")} or later`
    : undefined;
}

/**
 * Headplane releases against Headscale's, checked 2026-12-01 (tale/headplane CHANGELOG.md and
 * app/openapi-canonical-families.json at v0.6.3; v0.7.0-beta.4 is a pre-release that needs 0.27 or newer with no upper
 * bound and claims no 0.29 support): no release before
 * 0.6.3 is free of published advisories (GHSA-wrqq-v7qw-r5w7 fixed in 0.6.1, GHSA-vgj6-hcf2-fqf6 in 0.6.3), and the
 * newest, 0.6.3, knows Headscale 0.26.0 to 0.28.x.
 */
export const HEADPLANE_SUPPORT = { minHeadplane: [0, 6, 3], headscale: { from: [0, 26, 0], below: [0, 29, 0] } };

/** Why the catalog's Headplane entry may not run with these images, or undefined. */
function headplaneProblems(c: TailnetRaw): Problem[] {
  const entry = c.services.findIndex((s) => s.component === "headplane");
  if (entry < 0) return [];
  const problems: Problem[] = [];
  const headplane = tagVersion(c.headplaneImage);
  if (headplane && compareVersions(headplane, HEADPLANE_SUPPORT.minHeadplane) < 0) {
    problems.push({ key: "headplaneImage", message: `"${c.headplaneImage}" has published security advisories (GHSA-wrqq-v7qw-r5w7 before 0.6.1: session cookies expose the Headscale API key; GHSA-vgj6-hcf2-fqf6 before 0.6.3: an RBAC bypass). Use ${HEADPLANE_SUPPORT.minHeadplane.join(".")} or later` });
  }
  const headscale = tagVersion(c.headscaleImage);
  const { from, below } = HEADPLANE_SUPPORT.headscale;
  if (headscale && (compareVersions(headscale, from) < 0 || compareVersions(headscale, below) >= 0)) {
    problems.push({
      key: `services[${entry}].component`,
      message: `"headplane" runs Headplane, but no Headplane release supports Headscale ${headscale.join(".")} (homelab:headscaleImage); the newest, ${HEADPLANE_SUPPORT.minHeadplane.join(".")}, supports ${from.slice(0, 2).join(".")} up to but not including ${below.slice(0, 2).join(".")}. Remove this entry, and manage the tailnet with the headscale CLI, until a release supports it`,
    });
  }
  return problems;
}

/**
 * What Headscale's policy parser (hscontrol/policy/v2/utils.go parsePortRange) would refuse in a destination's ports,
 * and so crash-loop on: "*", or ports and first-last ranges of 1-65535 (0 is refused since 0.27), first not above last.
 */
function portsProblem(ports: string): string | undefined {
  if (ports === "*") return undefined;
  for (const part of ports.split(",")) {
    const bounds = part.split("-");
    if (bounds.length > 2 || !bounds.every((b) => /^\d{1,5}$/.test(b))) return "must be host, host:port, host:port,port or host:first-last";
    const [first, last = first] = bounds.map(Number);
    if (first < 1 || last > 65535) return `has port ${first < 1 ? first : last}, outside 1-65535`;
    if (first > last) return `has the range ${part}, whose first port is above its last`;
  }
  return undefined;
}

/** Whether a destination ("host", "host:ports") lets a client reach the address on port 53, as the policy renders it. */
function reachesDns(target: string, address: string, hosts: Record<string, string>, lanCidr: string): boolean {
  const [host, ports] = target.split(":");
  const cidr = parseCidr(host === "lan" ? lanCidr : (hosts[host] ?? ""));
  if (!cidr || !containsAddress(cidr, address)) return false;
  if (ports === undefined || ports === "*") return true;
  return ports.split(",").some((part) => {
    const [first, last = first] = part.split("-").map(Number);
    return first <= 53 && 53 <= last;
  });
}

/**
 * Split DNS sends every query under a domain to its resolvers. One on the home LAN is reached through the subnet
 * router, so the policy must let each group that has rules reach it on port 53, or their lookups there go unanswered
 * (public names under the domain included: Tailscale forwards whatever is not an extra record).
 */
function splitDnsProblems(c: TailnetRaw): Problem[] {
  const lan = parseCidr(c.lanCidr);
  const { hosts, acls } = c.tailnet;
  const groups = [...new Set(acls.flatMap((rule) => rule.from))];
  const problems: Problem[] = [];
  for (const [domain, resolvers] of Object.entries(c.headscaleSplitDns ?? {})) {
    resolvers.forEach((resolver, i) => {
      if (!lan || !containsAddress(lan, resolver)) return;
      const unreached = groups.filter((group) => !acls.some((rule) => rule.from.includes(group) && rule.to.some((target) => reachesDns(target, resolver, hosts, c.lanCidr))));
      if (unreached.length === 0) return;
      problems.push({
        key: `headscaleSplitDns.${domain}[${i}]`,
        message: `"${resolver}" is on the home LAN, which tailnet clients reach only through the subnet router, and no tailnet.acls rule lets ${unreached.map((g) => `group ${g}`).join(", ")} reach it on port 53: their ${domain} lookups would go unanswered. Add a host for it to tailnet.hosts and a rule to "<host>:53" for each group`,
      });
    });
  }
  return problems;
}

/** Headscale's own rules, and the tailnet policy's references, checked before Headscale would refuse them. */
export function headscaleProblems(c: TailnetRaw): Problem[] {
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
  problems.push(...splitDnsProblems(c), ...headplaneProblems(c));
  const routerImage = routerImageProblem(c.subnetRouterImage);
  if (routerImage) problems.push({ key: "subnetRouterImage", message: routerImage });
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
      else if (ports !== undefined) {
        const problem = portsProblem(ports);
        if (problem) problems.push({ key: `tailnet.acls[${i}].to[${j}]`, message: `"${target}" ${problem}` });
      }
    });
  });
  return problems;
}

/** The typed Headscale settings. */
export function headscaleSettings(c: TailnetRaw): HeadscaleSettings {
  return {
    image: c.headscaleImage,
    baseDomain: c.headscaleBaseDomain ?? `ts.${c.domain}`,
    nameservers: c.headscaleNameservers,
    overrideLocalDns: c.headscaleOverrideLocalDns,
    splitDns: c.headscaleSplitDns,
    storageSize: c.headscaleStorageSize,
    storageClass: c.headscaleStorageClass,
    tailnet: c.tailnet,
    images: { subnetRouter: c.subnetRouterImage, bootstrap: c.headscaleBootstrapImage, headplane: c.headplaneImage },
  };
}
