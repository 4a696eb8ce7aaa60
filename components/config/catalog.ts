import { ServiceConfig } from "./schema";

/** The namespace an app lives in: its own, named after it. */
export function appNamespace(service: Pick<ServiceConfig, "name">): string {
  return service.name;
}

/** Whether a hostname sits more than one label below the domain ("a.b.example.com"), out of the wildcard's reach. */
export function isDeeperThanWildcard(hostname: string, domain: string): boolean {
  return hostname.endsWith(`.${domain}`) && hostname.slice(0, -domain.length - 1).includes(".");
}
