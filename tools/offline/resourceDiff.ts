import { fakeId } from "./fakes";
import { forceNewFor, forcingChanges, valuesAt } from "./forceNew";

/** A resource as resources.json lists it. */
export interface PlannedResource {
  type: string;
  name: string;
  parent?: string;
  inputs: Record<string, unknown>;
  options?: Record<string, unknown>;
}

export interface ChangedResource {
  key: string;
  /** Each input or option path that differs, with both values (secrets arrive masked). */
  changes: { path: string; before: unknown; after: unknown }[];
}

/** A resource the change replaces: a new one is made and the old one deleted. */
export interface Replacement {
  key: string;
  /** Each force-new input that differs, or that takes the new id of a replaced dependency. */
  causes: string[];
  /** What replacing it costs, when it holds data or keys. */
  loss?: string;
}

/** A resource leaving the plan whose data either survives (kept) or does not (deleted). */
export interface DataFate {
  key: string;
  what: string;
  /** For a kept resource: the one command that deletes it on purpose. */
  deleteWith?: string;
}

export interface StackDiff {
  stack: string;
  added: string[];
  removed: string[];
  /** Every resource whose inputs or options differ, replaced ones included. */
  changed: ChangedResource[];
  replaced: Replacement[];
  /** Resources holding data or keys that the change deletes. */
  deleted: DataFate[];
  /** Resources leaving the plan that stay where they are (retainOnDelete), with what they hold. */
  kept: DataFate[];
  unchanged: number;
}

const keyOf = (r: PlannedResource) => `${r.type}::${r.name}`;

/**
 * The paths where two JSON values differ. Objects compare by key and equal-length arrays by index; when an array
 * grows or shrinks, index-by-index would report every later element, so it compares as a multiset instead and names
 * the elements removed and added.
 */
export function differingPaths(before: unknown, after: unknown, path = ""): { path: string; before: unknown; after: unknown }[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (Array.isArray(before) && Array.isArray(after) && before.length !== after.length) {
    const remaining = after.map((v) => JSON.stringify(v));
    const removed: unknown[] = [];
    for (const item of before) {
      const at = remaining.indexOf(JSON.stringify(item));
      if (at >= 0) remaining.splice(at, 1);
      else removed.push(item);
    }
    return [...removed.map((item) => ({ path, before: item, after: undefined })), ...remaining.map((item) => ({ path, before: undefined, after: JSON.parse(item) }))];
  }
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort((a, b) => (Array.isArray(before) ? Number(a) - Number(b) : a.localeCompare(b)));
    return keys.flatMap((k) => differingPaths(before[k], after[k], Array.isArray(before) ? `${path}[${k}]` : path ? `${path}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path, before, after }];
}

/** Compares two plans of one stack, resource by resource, and says what is replaced, deleted for good, or kept. */
export function diffStack(stack: string, base: PlannedResource[], head: PlannedResource[]): StackDiff {
  const before = new Map(base.map((r) => [keyOf(r), r]));
  const after = new Map(head.map((r) => [keyOf(r), r]));
  const changed: ChangedResource[] = [];
  for (const [key, resource] of after) {
    const old = before.get(key);
    if (!old) continue;
    const changes = differingPaths({ inputs: old.inputs, options: old.options, parent: old.parent }, { inputs: resource.inputs, options: resource.options, parent: resource.parent });
    if (changes.length) changed.push({ key, changes });
  }
  const replaced = replacements(before, after);
  // A resource replaced only through a dependency's new id shows no input change of its own; say which input moves.
  for (const r of replaced) {
    if (changed.some((c) => c.key === r.key)) continue;
    changed.push({ key: r.key, changes: r.causes.map((cause) => ({ path: `inputs.${cause.split(" ")[0]}`, before: "(id of the old one)", after: "(id of the new one)" })) });
  }
  const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
  const fates = removed.map((key) => fateOf(before.get(key)!, base, removed)).filter((f): f is DataFate & { kept: boolean } => Boolean(f));
  return {
    stack,
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    removed,
    changed: changed.sort((a, b) => a.key.localeCompare(b.key)),
    replaced: replaced.map((r) => ({ ...r, ...lossOf(before.get(r.key)!, base) })).sort((a, b) => a.key.localeCompare(b.key)),
    deleted: fates.filter((f) => !f.kept).map(({ kept, ...f }) => f),
    kept: fates.filter((f) => f.kept).map(({ kept, ...f }) => f),
    unchanged: [...after.keys()].filter((k) => before.has(k) && !changed.some((c) => c.key === k)).length,
  };
}

/**
 * Resources whose force-new inputs differ, then, until nothing more moves, those whose force-new inputs carry the
 * id of a replaced resource they depend on (a new resource has a new id: a new SSH key means a new server), and those
 * a replaced provider manages (a new cluster means every object in it is new).
 */
function replacements(before: Map<string, PlannedResource>, after: Map<string, PlannedResource>): Replacement[] {
  const found = new Map<string, string[]>();
  for (const [key, resource] of after) {
    const old = before.get(key);
    const causes = old ? forcingChanges(resource.type, old.inputs, resource.inputs, ignoredOf(resource)) : [];
    if (causes.length) found.set(key, causes);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [key, resource] of after) {
      if (!before.has(key)) continue;
      const dependsOn = (resource.options?.dependsOn as string[] | undefined) ?? [];
      const known = found.get(key) ?? [];
      const causes = [...found.keys()].flatMap((replacedKey) => {
        const dependency = after.get(replacedKey)!;
        if (!dependsOn.some((urn) => urnNames(urn, replacedKey))) return [];
        const id = new RegExp(`(^|[^0-9A-Za-z-])${escape(fakeId(dependency.type, dependency.name))}([^0-9A-Za-z-]|$)`);
        return (forceNewFor(resource.type)?.paths ?? []).filter((path) => !ignoredOf(resource).includes(path) && id.test(JSON.stringify(valuesAt(resource.inputs, path)))).map((path) => `${path} (takes the new id of ${replacedKey})`);
      });
      const provider = resource.options?.provider as string | undefined;
      const replacedProvider = provider && [...found.keys()].find((replacedKey) => urnNames(provider, replacedKey));
      if (replacedProvider) causes.push(`its provider ${replacedProvider} is replaced`);
      const added = causes.filter((cause) => !known.includes(cause));
      if (added.length) {
        found.set(key, [...known, ...added]);
        grew = true;
      }
    }
  }
  return [...found].map(([key, causes]) => ({ key, causes }));
}

/** Whether a URN is that of the resource keyed `type::name`, at the top level or under a parent. */
const urnNames = (urn: string, key: string) => urn.endsWith(`$${key}`) || urn.endsWith(`::${key}`);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const ignoredOf = (r: PlannedResource) => (r.options?.ignoreChanges as string[] | undefined) ?? [];
const retained = (r: PlannedResource) => Boolean(r.options?.retainOnDelete);
const meta = (r: PlannedResource) => (r.inputs.metadata ?? {}) as { name?: string; namespace?: string };
const isKind = (r: PlannedResource, kind: string) => r.type === `kubernetes:core/v1:${kind}`;
/** The claims a namespace holds in the base plan. */
const claimsIn = (namespace: string | undefined, base: PlannedResource[]) => base.filter((r) => isKind(r, "PersistentVolumeClaim") && meta(r).namespace === namespace).map((r) => meta(r).name);
const holds = (claims: (string | undefined)[]) => (claims.length ? ` holding PVC ${claims.join(", ")}` : "");

/** What a resource holds that a new one would not: data, an address, or keys. Undefined for the rest. */
function statefulWhat(r: PlannedResource, base: PlannedResource[]): string | undefined {
  if (r.type === "hcloud:index/server:Server") return "the VPS and its disk";
  if (r.type === "hcloud:index/primaryIp:PrimaryIp") return `the public ${r.inputs.type ?? "IP"} address`;
  if (isKind(r, "PersistentVolumeClaim")) return `the data of PVC ${meta(r).namespace}/${meta(r).name}`;
  if (isKind(r, "Namespace") && claimsIn(meta(r).name, base).length) return `namespace ${meta(r).name}${holds(claimsIn(meta(r).name, base))}`;
  if (isKind(r, "Secret")) return `the keys in Secret ${meta(r).namespace}/${meta(r).name}`;
  if (r.type.startsWith("tls:") || r.type.startsWith("random:")) return `the key material of ${r.name}`;
  return undefined;
}

function lossOf(r: PlannedResource, base: PlannedResource[]): { loss?: string } {
  const what = statefulWhat(r, base);
  if (!what) return {};
  // Kubernetes replaces a named object by deleting it first; a retained one stays and keeps its name taken.
  return { loss: retained(r) ? `retainOnDelete keeps the old one (${what}); a new one of the same name cannot be created until it is moved away` : `${what} is deleted` };
}

/** Whether a removed resource's data survives: kept (retained, and not inside a namespace that goes) or deleted. */
function fateOf(r: PlannedResource, base: PlannedResource[], removed: string[]): (DataFate & { kept: boolean }) | undefined {
  const key = keyOf(r);
  const { name, namespace } = meta(r);
  if (isKind(r, "PersistentVolumeClaim")) {
    const home = base.find((n) => isKind(n, "Namespace") && meta(n).name === namespace);
    if (home && removed.includes(keyOf(home)) && !retained(home)) return { key, kept: false, what: `PVC ${namespace}/${name}: Kubernetes deletes it with namespace ${namespace}, whatever its retainOnDelete says` };
  }
  const what = statefulWhat(r, base);
  if (!retained(r)) return what ? { key, kept: false, what: `${what} is deleted` } : undefined;
  if (isKind(r, "Namespace")) return { key, kept: true, what: `namespace ${name}${holds(claimsIn(name, base))} stays in the cluster`, deleteWith: `kubectl delete namespace ${name}` };
  const kind = r.type.startsWith("kubernetes:") ? r.type.split(":").pop()!.toLowerCase() : undefined;
  return { key, kept: true, what: `${what ?? key} stays, no longer managed`, ...(kind && name ? { deleteWith: `kubectl delete ${kind} ${namespace ? `-n ${namespace} ` : ""}${name}` } : {}) };
}

/** A finding of the policy pack on the new state. */
export interface Verdict {
  policy: string;
  level: string;
  message: string;
}

const show = (value: unknown) => (value === undefined ? "(absent)" : JSON.stringify(value));
const MAX_SHOWN = 200;
/** "before => after", or "- removed" / "+ added" for an element of a list that grew or shrank. */
const describeChange = (before: unknown, after: unknown) =>
  before === undefined && after !== undefined ? `+ ${clip(show(after))}` : after === undefined && before !== undefined ? `- ${clip(show(before))}` : `${clip(show(before))} => ${clip(show(after))}`;
const clip = (text: string) => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);

/** The lines read first: each replacement, each deletion of data or keys, and what stays behind with its delete command. */
function stateLines(diffs: StackDiff[], md: boolean): string[] {
  const item = md ? "- " : "  ";
  const lines = diffs.flatMap((d) => [
    ...d.replaced.map((r) => `${item}${d.stack}: REPLACE ${r.key}: ${r.causes.join(", ")} forces a new resource${r.loss ? `; ${r.loss}` : ""}`),
    ...d.deleted.map((f) => `${item}${d.stack}: DELETE ${f.key}: ${f.what}`),
    ...d.kept.map((f) => `${item}${d.stack}: KEEP ${f.key}: ${f.what}${f.deleteWith ? `; to delete it on purpose: ${f.deleteWith}` : ""}`),
  ]);
  if (!lines.length) return [];
  return [md ? "#### Replaced, deleted with their data, and kept" : "Replaced, deleted with their data, and kept:", ...(md ? [""] : []), ...lines, ""];
}

/** The review text: plain, or Markdown for a pull-request comment. */
export function renderDiff(diffs: StackDiff[], verdicts: Record<string, Verdict[]>, format: "text" | "markdown", baseRef: string): string {
  const md = format === "markdown";
  const lines: string[] = [md ? `### Plan diff against \`${baseRef}\`` : `Plan diff against ${baseRef}`, ""];
  const nothing = diffs.every((d) => !d.added.length && !d.removed.length && !d.changed.length);
  if (nothing) lines.push(`No changes: both plans are identical (${diffs.map((d) => `${d.stack}: ${d.unchanged} resources`).join(", ")}).`, "");
  lines.push(...stateLines(diffs, md));
  for (const d of diffs) {
    if (!d.added.length && !d.removed.length && !d.changed.length) continue;
    const counts = `${d.stack}: ${d.added.length} to add, ${d.changed.length - d.replaced.length} to change, ${d.replaced.length} to replace, ${d.removed.length} to remove`;
    lines.push(md ? `#### ${counts}` : counts);
    if (md) lines.push("", "```diff");
    for (const key of d.added) lines.push(`+ ${key}`);
    for (const key of d.removed) lines.push(`- ${key}`);
    for (const c of d.changed) {
      lines.push(`${d.replaced.some((r) => r.key === c.key) ? "+-" : "~"} ${c.key}`);
      for (const change of c.changes) lines.push(`    ${change.path}: ${describeChange(change.before, change.after)}`);
    }
    if (md) lines.push("```");
    lines.push("");
  }
  lines.push(md ? "#### Policy verdicts on the new state" : "Policy verdicts on the new state:");
  for (const d of diffs) {
    const found = verdicts[d.stack] ?? [];
    const mandatory = found.filter((v) => v.level === "mandatory");
    lines.push(`${md ? "- " : "  "}${d.stack}: ${mandatory.length ? `${mandatory.length} mandatory violation(s)` : "no mandatory violation"}${found.length > mandatory.length ? `, ${found.length - mandatory.length} advisory finding(s)` : ""}`);
    for (const v of found) lines.push(`${md ? "  - " : "    "}[${v.level}] ${v.policy}: ${v.message}`);
  }
  return `${lines.join("\n")}\n`;
}

