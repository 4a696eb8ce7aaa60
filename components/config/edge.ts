import { z } from "zod";
import { WIDEST_ADMIN_PREFIX } from "../contract/policyNames";
import { cidrContains, familiesCovered, isWholeInternet, parseCidr } from "../contract/cidr";
import { commonProblems, CommonConfig, commonShape, toCommon, WEB_PORTS } from "./common";
import { parseWith, Problem } from "./parsing";
import { anyCidr, boolean, integer, json, text } from "./values";

/** How the edge stack changes a running VPS: push the ruleset over SSH, or replace the server. */
export const EDGE_UPDATE_MODES = ["ssh", "replace"] as const;

const edgeShape = {
  vpsServerType: text().default("cx23"),
  vpsLocation: text().default("fsn1"),
  vpsImage: text().default("debian-12"),
  wanInterface: text().regex(/^[a-zA-Z0-9_.-]{1,15}$/, "must be a network interface name").default("eth0"),
  adminCidrs: json(z.array(anyCidr(), { error: "must be a list of CIDRs" }).min(1, "must list at least one CIDR")),
  /** Lets adminCidrs hold networks wider than /16 (IPv4) or /32 (IPv6); never the whole internet, even split up. */
  allowWideAdminCidrs: boolean().default(false),
  sshPort: integer(1, 65535),
  sshPublicKey: text().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/, "must be an OpenSSH public key line"),
  sshUser: text().default("root"),
  /** An SSH key already in the Hetzner project, by name or id, used instead of uploading sshPublicKey again. */
  hcloudSshKey: text().optional(),
  edgeUpdateMode: z.enum(EDGE_UPDATE_MODES, { error: `must be one of ${EDGE_UPDATE_MODES.join(", ")}` }).default("ssh"),
  commitConfirmSeconds: integer(15, 900).default(90),
  cloudflareZoneId: text().regex(/^[0-9a-f]{32}$/, "must be the zone's 32-character hex id"),
  /** Leaves the zone's Universal SSL alone; by default the stack turns it off, or its CAA records override the zone's. */
  cloudflareUniversalSsl: boolean().default(false),
  /** Secret; only checked for presence here, and never copied into the typed config. */
  sshPrivateKey: text().optional(),
};
const edgeSchema = z.object({ ...commonShape, ...edgeShape });

export interface EdgeConfig extends CommonConfig {
  vps: { serverType: string; location: string; image: string; wanInterface: string };
  ssh: { port: number; publicKey: string; user: string; adminCidrs: string[]; allowWideAdminCidrs: boolean; existingKey?: string };
  update: { mode: (typeof EDGE_UPDATE_MODES)[number]; commitConfirmSeconds: number };
  cloudflareZoneId: string;
  /** Whether the zone keeps Cloudflare's Universal SSL (and the CAA records it serves in place of the zone's own). */
  cloudflareUniversalSsl: boolean;
}

function edgeProblems(c: z.infer<typeof edgeSchema>): Problem[] {
  const problems: Problem[] = [];
  const admin = c.adminCidrs.map((text) => parseCidr(text)!);
  admin.forEach((cidr, i) => {
    if (isWholeInternet(cidr)) {
      problems.push({ key: `adminCidrs[${i}]`, message: `"${cidr.text}" opens SSH to the whole internet; list the networks you administer from` });
    } else if (!c.allowWideAdminCidrs && cidr.prefix < WIDEST_ADMIN_PREFIX[cidr.family]) {
      problems.push({ key: `adminCidrs[${i}]`, message: `"${cidr.text}" is wider than a /${WIDEST_ADMIN_PREFIX[cidr.family]} and opens SSH to much of the internet; list narrower networks, or set homelab:allowWideAdminCidrs to true if you mean it` });
    }
  });
  // One network inside another is redundant, and nft refuses the pair in one interval set ("conflicting intervals"),
  // so nftables.service would fail at first boot and leave the VPS with no ruleset at all.
  admin.forEach((inner, j) => {
    const i = admin.findIndex((outer, k) => k !== j && cidrContains(outer, inner) && (outer.prefix < inner.prefix || k < j));
    if (i < 0) return;
    const message = admin[i].prefix === inner.prefix ? `"${inner.text}" is listed twice (also adminCidrs[${i}]); list it once` : `"${inner.text}" lies inside "${admin[i].text}" (adminCidrs[${i}]), and nftables refuses a network inside another in one set; drop the narrower one`;
    problems.push({ key: `adminCidrs[${j}]`, message });
  });
  for (const family of familiesCovered(admin.filter((cidr) => !isWholeInternet(cidr)))) {
    problems.push({ key: "adminCidrs", message: `together cover every IPv${family} address, which opens SSH to the whole internet; list the networks you administer from` });
  }
  if (c.sshPort === 22) problems.push({ key: "sshPort", message: "22 is refused: pick a high port (1024-65535) so the edge does not sit on the scanned default" });
  else if (c.sshPort < 1024) problems.push({ key: "sshPort", message: `${c.sshPort} is a privileged port; pick one between 1024 and 65535` });
  if (c.edgeUpdateMode === "ssh" && !c.sshPrivateKey) {
    problems.push({ key: "sshPrivateKey", message: "not set, but required while homelab:edgeUpdateMode is ssh; set it with `pulumi config set --secret sshPrivateKey < key`, or use mode replace" });
  }
  const forwarded = new Set<number>([...WEB_PORTS, ...c.services.flatMap((s) => s.tcpPorts ?? [])]);
  if (forwarded.has(c.sshPort)) problems.push({ key: "sshPort", message: `${c.sshPort} is forwarded to the home cluster; pick a port nothing forwards` });
  return problems;
}

/** Parses the edge stack's config (project-level plus stack values, as strings keyed without namespace). */
export function parseEdgeConfig(raw: Record<string, unknown>): EdgeConfig {
  const c = parseWith(edgeSchema, raw, (v) => [...commonProblems(v), ...edgeProblems(v)]);
  return {
    ...toCommon(c),
    vps: { serverType: c.vpsServerType, location: c.vpsLocation, image: c.vpsImage, wanInterface: c.wanInterface },
    ssh: { port: c.sshPort, publicKey: c.sshPublicKey, user: c.sshUser, adminCidrs: c.adminCidrs, allowWideAdminCidrs: c.allowWideAdminCidrs, existingKey: c.hcloudSshKey },
    update: { mode: c.edgeUpdateMode, commitConfirmSeconds: c.commitConfirmSeconds },
    cloudflareZoneId: c.cloudflareZoneId,
    cloudflareUniversalSsl: c.cloudflareUniversalSsl,
  };
}
