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

export interface StackDiff {
  stack: string;
  added: string[];
  removed: string[];
  changed: ChangedResource[];
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

/** Compares two plans of one stack, resource by resource. */
export function diffStack(stack: string, base: PlannedResource[], head: PlannedResource[]): StackDiff {
  const before = new Map(base.map((r) => [keyOf(r), r]));
  const after = new Map(head.map((r) => [keyOf(r), r]));
  const changed: ChangedResource[] = [];
  let unchanged = 0;
  for (const [key, resource] of after) {
    const old = before.get(key);
    if (!old) continue;
    const changes = differingPaths({ inputs: old.inputs, options: old.options, parent: old.parent }, { inputs: resource.inputs, options: resource.options, parent: resource.parent });
    if (changes.length) changed.push({ key, changes });
    else unchanged++;
  }
  return {
    stack,
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
    changed: changed.sort((a, b) => a.key.localeCompare(b.key)),
    unchanged,
  };
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

/** The review text: plain, or Markdown for a pull-request comment. */
export function renderDiff(diffs: StackDiff[], verdicts: Record<string, Verdict[]>, format: "text" | "markdown", baseRef: string): string {
  const md = format === "markdown";
  const lines: string[] = [md ? `### Plan diff against \`${baseRef}\`` : `Plan diff against ${baseRef}`, ""];
  const nothing = diffs.every((d) => !d.added.length && !d.removed.length && !d.changed.length);
  if (nothing) lines.push(`No changes: both plans are identical (${diffs.map((d) => `${d.stack}: ${d.unchanged} resources`).join(", ")}).`, "");
  for (const d of diffs) {
    if (!d.added.length && !d.removed.length && !d.changed.length) continue;
    lines.push(md ? `#### ${d.stack}: ${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove` : `${d.stack}: ${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove`);
    if (md) lines.push("", "```diff");
    for (const key of d.added) lines.push(`+ ${key}`);
    for (const key of d.removed) lines.push(`- ${key}`);
    for (const c of d.changed) {
      lines.push(`~ ${c.key}`);
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

