import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { RecordedResource } from "./engine";

/** A Kubernetes object as the API server would receive it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Kubernetes resource types that are not objects in the cluster: the Helm and YAML components and the provider. */
const NOT_OBJECTS = /^(kubernetes:helm\.sh\/|kubernetes:yaml\/|pulumi:providers:)/;

/** Replaces every string inside a value, keeping its shape, so a masked object still matches its schema. */
function maskLeaves(value: unknown, mask: string): unknown {
  if (typeof value === "string") return mask;
  if (Array.isArray(value)) return value.map((v) => maskLeaves(v, mask));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskLeaves(v, mask)]));
  return value;
}

/** The object a recorded Kubernetes resource stands for, secrets masked; undefined for anything else. */
export function manifestOf(resource: RecordedResource, mask: string): Manifest | undefined {
  const match = /^kubernetes:([^/]+)\/([^:]+):(.+)$/.exec(resource.type);
  if (!match || NOT_OBJECTS.test(resource.type)) return undefined;
  // A read (Secret.get) only names an existing object; it creates nothing.
  if (Object.keys(resource.inputs).length === 0) return undefined;
  const [, group, version, kind] = match;
  const body = Object.fromEntries(Object.entries(resource.inputs).map(([key, value]) => [key, resource.secretInputs.includes(key) ? maskLeaves(value, mask) : value]));
  return { ...body, apiVersion: group === "core" ? version : `${group}/${version}`, kind } as Manifest;
}

/** The Helm charts a run installs, with their values. */
export function chartsOf(resources: RecordedResource[]): { name: string; chart: unknown; repo: unknown; version: unknown; namespace: unknown; values: unknown }[] {
  return resources
    .filter((r) => r.type === "kubernetes:helm.sh/v4:Chart")
    .map((r) => ({
      name: r.name,
      chart: r.inputs.chart,
      repo: (r.inputs.repositoryOpts as { repo?: string } | undefined)?.repo,
      version: r.inputs.version,
      namespace: r.inputs.namespace,
      values: r.inputs.values,
    }));
}

/** Where each API group's models live; everything else is core Kubernetes. */
const MODEL_PACKAGES: Record<string, string> = {
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "cilium.io": "@kubernetes-models/cilium",
  "traefik.io": "@kubernetes-models/traefik",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

// The model packages are ES modules with import-only exports; CommonJS can reach them only by a native import().
const importModule = new Function("url", "return import(url)") as (url: string) => Promise<Record<string, unknown>>;

function packageDir(name: string): string {
  for (const dir of module.paths) if (existsSync(join(dir, name, "package.json"))) return join(dir, name);
  throw new Error(`package ${name} is not installed`);
}

/**
 * Checks an object against its kind's OpenAPI schema (kubernetes-models and @kubernetes-models/*): types, required
 * fields and formats. Returns the problems, or one saying no schema is known for the kind.
 */
export async function validateManifest(manifest: Manifest): Promise<string[]> {
  const [group, version] = manifest.apiVersion.includes("/") ? manifest.apiVersion.split("/") : ["", manifest.apiVersion];
  const pkg = MODEL_PACKAGES[group] ?? "kubernetes-models";
  // Both kinds of package lay their models out by API group directory, then version.
  const subpath = group ? `${group}/${version}` : version;
  const file = join(packageDir(pkg), subpath, "index.js");
  if (!existsSync(file)) return [`no schema known for ${manifest.apiVersion} ${manifest.kind}`];
  const Model = (await importModule(pathToFileURL(file).href))[manifest.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (!Model) return [`no schema known for ${manifest.apiVersion} ${manifest.kind}`];
  try {
    new Model(manifest).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** One object as a YAML document. */
export function renderManifest(manifest: Manifest): string {
  return stringify(manifest, { lineWidth: 0, sortMapEntries: true });
}
