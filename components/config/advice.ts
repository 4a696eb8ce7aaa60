import { EdgeConfig, HomeConfig } from "./schema";

/** A config that deploys, but leaves undone something an operator would expect done, with what to do about it. */
export interface Advice {
  /** The key to change, with the project namespace. */
  key: string;
  message: string;
}

/**
 * What the home config deploys without: today, alerts with no one to receive them. The monitoring entry alone probes
 * every public hostname and fires PublicEndpointDown, which with no receiver only Alertmanager's own page shows.
 */
export function homeAdvice(config: Pick<HomeConfig, "services" | "alerting">): Advice[] {
  const monitoring = config.services.some((s) => s.component === "prometheus");
  if (!monitoring || config.alerting.receivers.length) return [];
  return [
    {
      key: "homelab:alertReceivers",
      message: "no receiver is set, so the alerts the monitoring entry raises (PublicEndpointDown when a public hostname stops answering, among them) reach no one; add one (README: Alerting)",
    },
  ];
}

/**
 * What the edge config deploys without: the DNS-01-only CAA restriction, when the zone keeps Universal SSL. Cloudflare
 * then serves its own CAA records in place of the zone's (CVE-2026-14440, CISA VA-26-183-01), so a CA sees no
 * validationmethods and whoever holds the VPS can pass HTTP-01 for every public name.
 */
export function edgeAdvice(config: Pick<EdgeConfig, "cloudflareUniversalSsl">): Advice[] {
  if (!config.cloudflareUniversalSsl) return [];
  return [
    {
      key: "homelab:cloudflareUniversalSsl",
      message: "true keeps the zone's Universal SSL, and with it Cloudflare serves its own CAA records in place of the zone's (CVE-2026-14440), so CAs do not see validationmethods=dns-01 and the VPS could obtain certificates by HTTP-01; set it to false unless other names of the zone are proxied through Cloudflare (README: Cloudflare DNS)",
    },
  ];
}
