// How Renovate 44.121.2 reads .github/renovate.json, for the unit tests that need no Renovate install. Each part names
// the upstream file it mirrors (lib/ paths of renovatebot/renovate at 44.121.2, read in the npm package's dist/);
// test/e2e/renovate.test.ts checks the model against the real `renovate --dry-run=extract`.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Pin } from "./pinScan";

export const ROOT = resolve(__dirname, "../..");
export const CONFIG_FILE = ".github/renovate.json";

export interface CustomManager {
  customType: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  matchStringsStrategy?: string;
  [template: string]: unknown;
}
export interface PackageRule {
  [key: string]: unknown;
}
export interface RenovateConfig {
  extends?: string[];
  ignorePaths?: string[];
  enabledManagers?: string[];
  customManagers: CustomManager[];
  packageRules: PackageRule[];
  [manager: string]: unknown;
}

/** One dependency as a manager extracts it; line is where its version (or digest) stands, 1-based. */
export interface Dep {
  manager: string;
  file: string;
  line?: number;
  depName: string;
  /** What matchPackageNames reads; the dependency name unless the manager sets another. */
  packageName?: string;
  currentValue?: string;
  currentDigest?: string;
  datasource: string;
  depType?: string;
  registryUrl?: string;
}

export const loadConfig = (): RenovateConfig => JSON.parse(readFileSync(join(ROOT, CONFIG_FILE), "utf8"));

/**
 * The files Renovate looks at: it lists the repository with git (lib/util/git/index.ts getFileList). One deleted in
 * the working tree but not yet in git is left out, as the commit that deletes it will.
 */
export const trackedFiles = (): string[] => execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter((file) => file && existsSync(join(ROOT, file)));

/** lib/config/presets/internal/default.preset.ts, ignoreModulesAndTests, which config:recommended extends. */
const RECOMMENDED_IGNORE_PATHS = ["**/node_modules/**", "**/bower_components/**", "**/vendor/**", "**/examples/**", "**/__tests__/**", "**/test/**", "**/tests/**", "**/__fixtures__/**"];

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "\u0000").replace(/\*\*/g, ".*").replace(/\*/g, "[^/]*").replace(/\u0000/g, "(?:.*/)?");
  return new RegExp(`^${body}$`);
}

/** lib/workers/repository/extract/file-match.ts filterIgnoredFiles: a substring or a glob (only `**` and `*` here). */
function ignored(config: RenovateConfig, file: string): boolean {
  const paths = [...(config.extends?.includes("config:recommended") ? RECOMMENDED_IGNORE_PATHS : []), ...(config.ignorePaths ?? [])];
  return paths.some((path) => file.includes(path) || globToRegExp(path).test(file));
}

/**
 * lib/util/string-match.ts matchRegexOrGlob: "/…/" (or "/…/i", "!/…/" to negate) is a regular expression, anything
 * else a minimatch glob. The config uses regular expressions and plain names (a glob without wildcards matches only
 * itself); the model refuses a wildcard glob rather than guess at minimatch.
 */
export function matchesPattern(input: string, pattern: string): boolean {
  const regex = /^(!?)\/(.*)\/(i?)$/.exec(pattern);
  if (regex) return new RegExp(regex[2], regex[3]).test(input) !== (regex[1] === "!");
  if (/[*?[\]{}!]/.test(pattern)) throw new Error(`the Renovate model reads "/regex/" patterns and plain names only; "${pattern}" is a glob`);
  return input === pattern;
}

/** lib/util/string-match.ts matchRegexOrGlobList: any positive pattern, and every negative one. */
function matchesList(input: string, patterns: string[]): boolean {
  const positive = patterns.filter((p) => !p.startsWith("!"));
  const negative = patterns.filter((p) => p.startsWith("!"));
  return (positive.length === 0 || positive.some((p) => matchesPattern(input, p))) && negative.every((p) => matchesPattern(input, p));
}

/** The files of a manager: included by any of its patterns (file-match.ts getMatchingFiles), minus the ignored ones. */
export const filesOf = (config: RenovateConfig, patterns: string[], files: string[]) => files.filter((file) => !ignored(config, file) && patterns.some((p) => matchesPattern(file, p)));

const FIELDS = ["depName", "currentValue", "currentDigest", "datasource", "registryUrl", "depType"] as const;

/** A template the model can fill: literal text and {{{group}}} or {{group}} only (Handlebars in lib/util/template). */
function fill(template: string, groups: Record<string, string | undefined>): string {
  if (/\{\{[#/^>!]/.test(template)) throw new Error(`the Renovate model fills only plain {{{group}}} templates, not "${template}"`);
  return template.replace(/\{\{\{?\s*(\w+)\s*\}?\}\}/g, (_, name: string) => groups[name] ?? "");
}

const lineAt = (content: string, index: number) => content.slice(0, index).split("\n").length;

/**
 * lib/modules/manager/custom/regex/strategies.ts handleAny: each matchString compiled with the "g" flag and run over
 * the whole file (so ^ and $ are the file's ends); a field comes from its template if set (utils.ts createDependency),
 * else from the named group; a dependency needs a name, a version or digest, and a datasource (isValidDependency).
 */
export function extractCustom(config: RenovateConfig, manager: CustomManager, files: string[], read = (file: string) => readFileSync(join(ROOT, file), "utf8")): Dep[] {
  if (manager.customType !== "regex" || (manager.matchStringsStrategy ?? "any") !== "any") throw new Error("the Renovate model reads regex managers with the any strategy only");
  const deps: Dep[] = [];
  for (const file of filesOf(config, manager.managerFilePatterns, files)) {
    const content = read(file);
    for (const matchString of manager.matchStrings) {
      for (const match of content.matchAll(new RegExp(matchString, "gd"))) {
        const groups = match.groups ?? {};
        const field = (name: (typeof FIELDS)[number]) => (typeof manager[`${name}Template`] === "string" ? fill(manager[`${name}Template`] as string, groups) : groups[name]) || undefined;
        const dep = { manager: "regex", file, depName: field("depName"), currentValue: field("currentValue"), currentDigest: field("currentDigest"), datasource: field("datasource"), registryUrl: field("registryUrl"), depType: field("depType") };
        if (!dep.depName || !(dep.currentValue || dep.currentDigest) || !dep.datasource) continue;
        const at = match.indices?.groups?.currentValue ?? match.indices?.groups?.currentDigest ?? match.indices![0];
        deps.push({ ...dep, depName: dep.depName, datasource: dep.datasource, line: lineAt(content, at[0]) });
      }
    }
  }
  return deps;
}

/**
 * The built-in managers the config relies on: their default managerFilePatterns (lib/modules/manager/npm/index.ts and
 * lib/modules/manager/github-actions/index.ts) and the dependency each extracts from a pin the scan found (their
 * extract.ts: npm's dependency sections and engines; an action's `uses`, any step's `*-version` input, a runner).
 */
const BUILT_IN: Record<string, { patterns: string[]; dep: (pin: Pin) => Omit<Dep, "manager" | "file" | "line"> | undefined }> = {
  npm: {
    patterns: ["/(^|/)package\\.json$/", "/(^|/)pnpm-workspace\\.yaml$/", "/(^|/)\\.yarnrc\\.yml$/"],
    dep: (pin) =>
      pin.section === "engines" ? { depName: "node", datasource: "node-version", depType: "engines" }
      : pin.kind === "npm" ? { depName: pin.name!, datasource: "npm", depType: pin.section }
      : undefined,
  },
  "github-actions": {
    patterns: ["/(^|/)(workflow-templates|\\.(?:github|gitea|forgejo)/(?:workflows|actions))/.+\\.ya?ml$/", "/(^|/)action\\.ya?ml$/"],
    dep: (pin) =>
      pin.section === "uses" ? { depName: pin.name!, datasource: "github-tags", depType: "action" }
      : pin.section === "with" && pin.kind === "runtime" ? { depName: pin.name!, packageName: `actions/${pin.name}-versions`, datasource: "github-releases", depType: "uses-with" }
      : pin.section === "runs-on" ? { depName: pin.name!, datasource: "github-runners", depType: "github-runner" }
      : undefined,
  },
};

/** Whether a built-in manager runs: enabledManagers names it (when set) and its own block does not turn it off. */
export const managerEnabled = (config: RenovateConfig, manager: string) =>
  (!config.enabledManagers || config.enabledManagers.includes(manager)) && (config[manager] as { enabled?: boolean } | undefined)?.enabled !== false;

/** The matchers the model evaluates, each as lib/util/package-rules/*.ts does for a plain name or "/regex/" list. */
const MATCHERS: Record<string, (dep: Dep, patterns: string[], updateType?: string) => boolean> = {
  matchManagers: (dep, p) => p.includes(dep.manager),
  matchDatasources: (dep, p) => p.includes(dep.datasource),
  matchDepTypes: (dep, p) => dep.depType !== undefined && p.includes(dep.depType),
  matchDepNames: (dep, p) => matchesList(dep.depName, p),
  matchPackageNames: (dep, p) => matchesList(dep.packageName ?? dep.depName, p),
  // An update's type (major, minor, patch…) exists only once a newer release is found; the caller names one.
  matchUpdateTypes: (_dep, p, updateType) => updateType !== undefined && p.includes(updateType),
};

/**
 * lib/util/package-rules/index.ts applyPackageRules: every rule whose matchers all match is merged over the result, in
 * order, so a later rule wins. A matcher the model does not know fails loudly instead of matching everything.
 */
export function applyRules(config: RenovateConfig, dep: Dep, updateType?: string): Record<string, unknown> {
  let result: Record<string, unknown> = {};
  for (const rule of config.packageRules) {
    const matchers = Object.keys(rule).filter((key) => key.startsWith("match"));
    for (const key of matchers) if (!MATCHERS[key]) throw new Error(`the Renovate model does not evaluate ${key}`);
    if (matchers.every((key) => MATCHERS[key](dep, rule[key] as string[], updateType))) {
      const { description: _description, ...settings } = rule;
      result = { ...result, ...Object.fromEntries(Object.entries(settings).filter(([key]) => !key.startsWith("match"))) };
    }
  }
  return result;
}

/** The dependency a built-in manager extracts at a pin, if one runs on its file and extracts that kind of pin. */
export function builtInDep(config: RenovateConfig, pin: Pin): Dep | undefined {
  for (const [manager, { patterns, dep }] of Object.entries(BUILT_IN)) {
    const extracted = managerEnabled(config, manager) && filesOf(config, patterns, [pin.file]).length ? dep(pin) : undefined;
    if (extracted) return { ...extracted, manager, file: pin.file, line: pin.line, currentValue: pin.value };
  }
  return undefined;
}

/** Every dependency the config's managers extract, custom and built-in, and the pins none of them extracts. */
export function coverage(config: RenovateConfig, files: string[], pins: Pin[]): { deps: Dep[]; uncovered: Pin[] } {
  const custom = config.customManagers.flatMap((manager) => extractCustom(config, manager, files));
  const builtIn = pins.flatMap((pin) => builtInDep(config, pin) ?? []);
  const deps = [...custom, ...builtIn].filter((dep) => applyRules(config, dep).enabled !== false);
  const extracts = (dep: Dep, pin: Pin) =>
    dep.file === pin.file && dep.line === pin.line && (dep.currentValue === pin.value || dep.currentDigest === pin.value) && (pin.kind !== "image" || dep.depName === pin.name);
  return { deps, uncovered: pins.filter((pin) => !deps.some((dep) => extracts(dep, pin))) };
}
