import { ServiceConfig } from "./schema";

/** Where the monitoring stack runs, and so where Prometheus scrapes from. */
export const MONITORING_NAMESPACE = "monitoring";
/** Where Headscale runs. */
export const HEADSCALE_NAMESPACE = "headscale";
/** Where Headplane, Headscale's web UI, runs: apart from Headscale, so Pod Security stays restricted for it. */
export const HEADPLANE_NAMESPACE = "headplane";

/** The namespace a catalog service lives in: its component's, else its group's, else its own name. */
export function appNamespace(service: Pick<ServiceConfig, "name" | "group" | "component">): string {
  if (service.component === "prometheus") return MONITORING_NAMESPACE;
  if (service.component === "headscale") return HEADSCALE_NAMESPACE;
  if (service.component === "headplane") return HEADPLANE_NAMESPACE;
  return service.group ?? service.name;
}

/** Whether a hostname sits more than one label below the domain ("a.b.example.com"), out of the wildcard's reach. */
export function isDeeperThanWildcard(hostname: string, domain: string): boolean {
  return hostname.endsWith(`.${domain}`) && hostname.slice(0, -domain.length - 1).includes(".");
}
