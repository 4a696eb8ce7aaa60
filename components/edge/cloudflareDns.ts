import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { DnsPlanSpec, planDnsRecords } from "./dnsRecords";

export interface CloudflareDnsArgs extends DnsPlanSpec<pulumi.Input<string>> {
  /** Cloudflare zone id of the domain. */
  zoneId: string;
  /** Leave the zone's Universal SSL on (false turns it off, so CAs see the zone's own CAA records). */
  universalSsl: boolean;
}

/** Cloudflare's fixed scope for permission groups that act on zones. */
export const ZONE_SCOPE = "com.cloudflare.api.account.zone";
/** What cert-manager's DNS-01 solver needs: read the zone, edit its TXT records. */
export const ACME_TOKEN_PERMISSIONS = ["Zone Read", "DNS Write"] as const;

/** Picks the one permission group of that name, or says clearly why it cannot. */
export function pickPermissionGroup(name: string, results: { id: string; name: string }[]): string {
  const matches = results.filter((r) => r.name === name);
  if (matches.length !== 1) {
    throw new Error(`Cloudflare returned ${matches.length} permission groups named "${name}" in scope ${ZONE_SCOPE}; expected exactly one`);
  }
  return matches[0].id;
}

/** The zone's public records, and a DNS-01 token that can touch only this zone. */
export class CloudflareDns extends pulumi.ComponentResource {
  /** Secret: the API token cert-manager uses for DNS-01. */
  readonly acmeDnsToken: pulumi.Output<string>;
  readonly recordNames: string[];

  constructor(name: string, args: CloudflareDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:edge:CloudflareDns", name, {}, opts);
    const plan = planDnsRecords(args);
    for (const record of plan) {
      new cloudflare.DnsRecord(
        `${name}-${record.key}`,
        {
          zoneId: args.zoneId,
          name: record.name,
          type: record.type,
          content: record.content,
          data: record.data,
          // DNS-only: the edge must see the client itself, and raw TCP and STUN cannot pass Cloudflare's proxy.
          proxied: record.type === "CAA" ? undefined : false,
          ttl: 300,
          comment: "managed by the homelab edge stack",
        },
        { parent: this },
      );
    }
    this.recordNames = plan.map((r) => `${r.type} ${r.name}`);
    if (!args.universalSsl) {
      // While Universal SSL is on, Cloudflare answers CAA queries with records of its own in place of the zone's
      // (CVE-2026-14440), dropping validationmethods. Nothing here is proxied, so nothing needs its certificates. The
      // provider's delete only forgets the setting (terraform-provider-cloudflare v5.22.0 universal_ssl_setting), so
      // a destroyed stack leaves it off.
      new cloudflare.UniversalSslSetting(`${name}-universal-ssl`, { zoneId: args.zoneId, enabled: false }, { parent: this });
    }

    const permissionGroupIds = ACME_TOKEN_PERMISSIONS.map((permission) =>
      cloudflare
        .getApiTokenPermissionGroupsListOutput({ name: permission, scope: ZONE_SCOPE }, { parent: this })
        .apply((list) => pickPermissionGroup(permission, list.results)),
    );
    const token = new cloudflare.ApiToken(
      `${name}-acme-dns01`,
      {
        name: `cert-manager DNS-01 for ${args.domain}`,
        policies: [
          {
            effect: "allow",
            permissionGroups: permissionGroupIds.map((id) => ({ id })),
            resources: JSON.stringify({ [`${ZONE_SCOPE}.${args.zoneId}`]: "*" }),
          },
        ],
      },
      { parent: this },
    );
    // The provider marks it secret already; under mocks that is not applied, so say it here too.
    this.acmeDnsToken = pulumi.secret(token.value);
    this.registerOutputs({ recordNames: this.recordNames });
  }
}
