import { appNamespace } from "../config/catalog";
import { ServiceConfig } from "../config/schema";
import { NAMESPACE_NAME, REFLECTION } from "../contract/policyNames";

/** Namespaces that get a copy of the wildcard certificate's Secret, which is issued in Traefik's: apps that terminate TLS themselves. */
export function wildcardTargets(services: ServiceConfig[]): string[] {
  return [...new Set(services.filter((s) => s.terminatesTls).map(appNamespace))].sort();
}

/** Namespaces that get the internal CA's certificate: apps that call internal HTTPS names. */
export function caTargets(services: ServiceConfig[]): string[] {
  return [...new Set(services.filter((s) => s.trustsInternalCa).map(appNamespace))].sort();
}

/** Every namespace Reflector writes copies into, and so the only ones where it may create, patch or delete. */
export function reflectorTargets(services: ServiceConfig[]): string[] {
  return [...new Set([...wildcardTargets(services), ...caTargets(services)])].sort();
}

/**
 * Annotations that make Reflector copy an object into exactly these namespaces, and no others. Reflector reads an
 * empty list as "every namespace" (PatternListMatch in Mirroring/Core/MirroringPropertiesExtensions.cs, v9.1.31 and v10.0.63), so
 * no namespaces means reflection switched off, never an empty list.
 */
export function reflectionAnnotations(namespaces: string[]): Record<string, string> {
  const bad = namespaces.filter((n) => !NAMESPACE_NAME.test(n));
  if (bad.length) throw new Error(`reflection targets ${JSON.stringify(bad)} are not namespace names (lowercase letters, digits and '-', at most 63)`);
  if (namespaces.length === 0) return { [REFLECTION.allowed]: "false", [REFLECTION.autoEnabled]: "false" };
  const list = namespaces.join(",");
  return {
    [REFLECTION.allowed]: "true",
    [REFLECTION.allowedNamespaces]: list,
    [REFLECTION.autoEnabled]: "true",
    [REFLECTION.autoNamespaces]: list,
  };
}
