import { appNamespace } from "../config/catalog";
import { ServiceConfig } from "../config/schema";

const PREFIX = "reflector.v1.k8s.emberstack.com";

/** Namespaces that get the wildcard certificate's Secret: Traefik's, and apps that terminate TLS themselves. */
export function wildcardTargets(traefikNamespace: string, services: ServiceConfig[]): string[] {
  return [traefikNamespace, ...services.filter((s) => s.terminatesTls).map(appNamespace).sort()];
}

/** Namespaces that get the internal CA's certificate: apps that call internal HTTPS names. */
export function caTargets(services: ServiceConfig[]): string[] {
  return services.filter((s) => s.trustsInternalCa).map(appNamespace).sort();
}

/** Annotations that make Reflector copy an object into exactly these namespaces, and no others. */
export function reflectionAnnotations(namespaces: string[]): Record<string, string> {
  const list = namespaces.join(",");
  return {
    [`${PREFIX}/reflection-allowed`]: "true",
    [`${PREFIX}/reflection-allowed-namespaces`]: list,
    [`${PREFIX}/reflection-auto-enabled`]: "true",
    [`${PREFIX}/reflection-auto-namespaces`]: list,
  };
}
