import { isDeeperThanWildcard } from "../config/catalog";
import { ServiceConfig } from "../config/schema";

/**
 * Names on the publicly trusted certificate: the wildcard and the apex, plus public names the wildcard cannot cover.
 * Certificate Transparency logs are public, so a vpn or lan name never appears here.
 */
export function publicCertificateNames(domain: string, services: ServiceConfig[]): string[] {
  const deeper = services.filter((s) => s.exposure === "public" && isDeeperThanWildcard(s.hostname, domain)).map((s) => s.hostname);
  return [`*.${domain}`, domain, ...[...new Set(deeper)].sort()];
}

/** Private names the wildcard cannot cover; they get a certificate from the internal CA instead. */
export function internalCertificateNames(domain: string, services: ServiceConfig[]): string[] {
  return services.filter((s) => s.exposure !== "public" && isDeeperThanWildcard(s.hostname, domain)).map((s) => s.hostname).sort();
}
