import { IIngressRoute } from "@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute";
import { IMiddleware } from "@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware";
import * as pulumi from "@pulumi/pulumi";
import { EXPOSURE_LABEL } from "../contract/policyNames";
import { ForwardAuthConfig, ServiceConfig } from "../config/schema";
import { typedCustomResource } from "../home/customResource";
import { LAN_ENTRYPOINTS, TUNNEL_ENTRYPOINTS } from "../home/traefikValues";

/** The entrypoints a route binds: public services are reachable through the edge too, private ones only on the LAN. */
export function routeEntrypoints(exposure: ServiceConfig["exposure"]): string[] {
  return exposure === "public" ? [...LAN_ENTRYPOINTS, ...TUNNEL_ENTRYPOINTS] : [...LAN_ENTRYPOINTS];
}

/** Traefik's forwardAuth middleware spec from the shared settings. */
export function forwardAuthMiddleware(settings: ForwardAuthConfig): NonNullable<IMiddleware["spec"]> {
  return { forwardAuth: { address: settings.address, trustForwardHeader: settings.trustForwardHeader, authResponseHeaders: settings.responseHeaders } };
}

export interface RouteSpec {
  /** The catalog entry: its hostname, exposure and forward-auth switch. */
  service: Pick<ServiceConfig, "name" | "hostname" | "exposure" | "forwardAuth">;
  namespace: string;
  /** The Kubernetes Service behind the route, and its port. */
  backend: { name: string; port: number };
  /** Forward-auth settings; required when the entry turns it on. */
  forwardAuth?: ForwardAuthConfig;
  /** Middlewares of the component's own, each named `<service>-<suffix>`, applied after forward-auth. */
  middlewares?: { suffix: string; spec: NonNullable<IMiddleware["spec"]> }[];
  /** Path prefixes of a public entry served on the LAN entrypoints only, never through the tunnel: an admin API, say. */
  lanOnlyPaths?: string[];
}

const pathPrefix = (path: string) => `PathPrefix(\`${path}\`)`;

/**
 * Registers a catalog entry's IngressRoute, with its Middlewares: forward-auth when asked, then any of its own.
 * Exposure is enforced by the entrypoints bound, never by source addresses; TLS comes from the default store's
 * wildcard certificate.
 */
export function registerRoute(name: string, spec: RouteSpec, opts: pulumi.CustomResourceOptions): void {
  const { service, namespace } = spec;
  if (service.forwardAuth && !spec.forwardAuth) throw new Error(`route ${name}: "${service.name}" asks for forward-auth but no settings were given`);
  const wanted = [...(service.forwardAuth ? [{ suffix: "forward-auth", spec: forwardAuthMiddleware(spec.forwardAuth!) }] : []), ...(spec.middlewares ?? [])];
  const middlewares = wanted.map((middleware) => {
    const metadata = { name: `${service.name}-${middleware.suffix}`, namespace };
    typedCustomResource<IMiddleware>(`${name}-${middleware.suffix}`, { apiVersion: "traefik.io/v1alpha1", kind: "Middleware", metadata, spec: middleware.spec }, opts);
    return metadata;
  });
  const host = `Host(\`${service.hostname}\`)`;
  const lanOnly = service.exposure === "public" ? (spec.lanOnlyPaths ?? []) : [];
  const ingressRoute = (resourceName: string, routeName: string, entryPoints: string[], match: string) =>
    typedCustomResource<IIngressRoute>(
      resourceName,
      {
        apiVersion: "traefik.io/v1alpha1",
        kind: "IngressRoute",
        // The label states the catalog exposure; the policy pack holds the entrypoints bound to it.
        metadata: { name: routeName, namespace, labels: { [EXPOSURE_LABEL]: service.exposure } },
        spec: { entryPoints, routes: [{ match, kind: "Rule", services: [spec.backend], ...(middlewares.length ? { middlewares } : {}) }], tls: {} },
      },
      opts,
    );
  ingressRoute(`${name}-route`, service.name, routeEntrypoints(service.exposure), [host, ...lanOnly.map((path) => `!${pathPrefix(path)}`)].join(" && "));
  if (lanOnly.length) ingressRoute(`${name}-lan-only-route`, `${service.name}-lan-only`, [...LAN_ENTRYPOINTS], `${host} && (${lanOnly.map(pathPrefix).join(" || ")})`);
}
