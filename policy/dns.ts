import { BlockList, isIP } from "node:net";
import { resourceRule, stackRule, TYPES } from "./support";

/** Address space that must never be published: private, CGNAT, loopback, link-local, ULA and unspecified. */
const NON_PUBLIC: [string, number, "ipv4" | "ipv6"][] = [
  ["0.0.0.0", 8, "ipv4"],
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"],
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"],
  ["172.16.0.0", 12, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["fc00::", 7, "ipv6"],
  ["fe80::", 10, "ipv6"],
];

const nonPublic = new BlockList();
for (const [network, prefix, family] of NON_PUBLIC) nonPublic.addSubnet(network, prefix, family);

export const noPrivateAddress = resourceRule({
  id: "dns-no-private-address",
  description: "No A or AAAA record points at private, CGNAT, loopback, link-local or ULA space: public DNS would leak the home network's layout.",
  remediation: "Publish only the edge's public address; reach private services through the VPN's split DNS instead.",
  types: [TYPES.dnsRecord],
  validate: (props, args, report) => {
    const { type, content, name } = props as { type?: string; content?: string; name?: string };
    if (type !== "A" && type !== "AAAA") return args.notApplicable(`a ${type} record has no address`);
    const family = isIP(content ?? "");
    if (family === 0) {
      report(`${type} ${name} has "${content}", which is not an address`);
    } else if (nonPublic.check(content!, family === 4 ? "ipv4" : "ipv6")) {
      report(`${type} ${name} points at ${content}, which is not public address space`);
    }
  },
});

interface RecordProps {
  type?: string;
  name?: string;
  content?: string;
  data?: { tag?: string };
}

const recordsOf = (resources: { type: string; props: Record<string, unknown>; urn: string }[]) =>
  resources.filter((r) => r.type === TYPES.dnsRecord).map((r) => ({ ...(r.props as RecordProps), urn: r.urn }));

export const servicesAreCnames = stackRule({
  id: "dns-services-cname-to-edge",
  description: "The edge hostname is the only name with A/AAAA records; every service record is a CNAME to it, so moving the VPS changes one record.",
  remediation: "Give services exposure public in the catalog; the CloudflareDns component makes their CNAMEs.",
  validate: (args, report) => {
    const records = recordsOf(args.resources);
    const addressNames = [...new Set(records.filter((r) => r.type === "A" || r.type === "AAAA").map((r) => r.name))];
    if (addressNames.length > 1) report(`A/AAAA records exist for ${addressNames.join(", ")}; only the edge hostname may have them`);
    const edge = addressNames[0];
    for (const record of records.filter((r) => r.type === "CNAME")) {
      if (record.content !== edge) report(`CNAME ${record.name} points at ${record.content}, not the edge hostname ${edge ?? "(none)"}`, record.urn);
    }
  },
});

export const caaPresent = stackRule({
  id: "dns-caa-present",
  description: "A zone this stack writes records into has CAA issue records, so only the configured CA may issue for it.",
  remediation: "Keep the CAA records of the CloudflareDns component; set homelab:acmeCa to choose the CA.",
  validate: (args, report) => {
    const records = recordsOf(args.resources);
    if (records.length === 0) args.notApplicable("this stack writes no DNS records");
    for (const tag of ["issue", "issuewild"]) {
      if (!records.some((r) => r.type === "CAA" && r.data?.tag === tag)) report(`no CAA ${tag} record: any CA could issue ${tag === "issuewild" ? "wildcard " : ""}certificates for the zone`);
    }
  },
});

const ZONE_RESOURCE = /^com\.cloudflare\.api\.account\.zone\.[0-9a-f]{32}$/;

export const acmeTokenSingleZone = resourceRule({
  id: "dns-token-single-zone",
  description: "A Cloudflare API token this program creates is limited to one zone: no account scope, no wildcard, no second zone.",
  remediation: 'Scope every policy\'s resources to {"com.cloudflare.api.account.zone.<zone id>": "*"} with the one zone id.',
  types: [TYPES.apiToken],
  validate: (props, _args, report) => {
    const policies = (props.policies ?? []) as { resources?: string | Record<string, string> }[];
    const zones = new Set<string>();
    for (const policy of policies) {
      let resources: Record<string, string>;
      try {
        resources = typeof policy.resources === "string" ? JSON.parse(policy.resources) : (policy.resources ?? {});
      } catch {
        report(`a policy's resources are not JSON: ${policy.resources}`);
        continue;
      }
      for (const key of Object.keys(resources)) {
        if (ZONE_RESOURCE.test(key)) zones.add(key);
        else report(`a policy reaches "${key}", which is not a single zone`);
      }
    }
    if (zones.size > 1) report(`the token reaches ${zones.size} zones: ${[...zones].join(", ")}`);
    if (zones.size === 0 && policies.length > 0) report("the token names no zone");
  },
});

export const dnsPolicies = [noPrivateAddress, servicesAreCnames, caaPresent, acmeTokenSingleZone];
