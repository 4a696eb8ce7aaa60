/**
 * `npm run test:isolation`: proves no test depends on what another left behind. It runs every test file of a mocha
 * config alone, then the whole suite in reverse file order, and fails when a test fails in either run or ends in a
 * different state (passed, failed, pending) in the two. Usage: ts-node test/support/isolation.ts [.mocharc.json]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");

interface MochaConfig {
  require: string[];
  extension: string[];
  spec: string[];
  ignore?: string[];
  timeout: number;
}

type State = "passed" | "failed" | "pending";

/** A mocha glob as a regular expression: `**` matches any number of directories, none included, `*` one name's part. */
export function globPattern(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  const marked = escaped.replace(/\*\*\//g, "\u0000").replace(/\*\*/g, "\u0001").replace(/\*/g, "[^/]*");
  return new RegExp(`^${marked.replace(/\u0000/g, "(?:.*/)?").replace(/\u0001/g, ".*")}$`);
}

/** The spec files a config selects, in the order mocha would load them. */
export function specFiles(config: MochaConfig): string[] {
  const listed = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" });
  const [specs, ignores] = [config.spec, config.ignore ?? []].map((globs) => globs.map(globPattern));
  return listed.stdout.split("\n").filter((file) => specs.some((p) => p.test(file)) && !ignores.some((p) => p.test(file))).sort();
}

/** Runs mocha on the files in the given order and returns each test's state by its file and full title. */
function runMocha(config: MochaConfig, files: string[]): Map<string, State> {
  const output = join(mkdtempSync(join(tmpdir(), "isolation-")), "report.json");
  const args = ["--no-config", ...config.require.flatMap((r) => ["--require", r]), ...config.extension.flatMap((e) => ["--extension", e]), "--timeout", String(config.timeout), "--reporter", "json", "--reporter-option", `output=${output}`, ...files];
  const run = spawnSync(join(ROOT, "node_modules/.bin/mocha"), args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  let report: Record<"passes" | "failures" | "pending", { fullTitle: string; file: string }[]>;
  try {
    report = JSON.parse(readFileSync(output, "utf8"));
  } catch {
    throw new Error(`mocha wrote no report for ${files.join(" ")} (exit ${run.status}):\n${run.stderr}`);
  }
  const states = new Map<string, State>();
  for (const [key, state] of [["passes", "passed"], ["pending", "pending"], ["failures", "failed"]] as const) {
    // Titles repeat across files (a shared describe name, a rule's fixtures), so a test is its file and its title.
    for (const test of report[key]) states.set(`${relative(ROOT, test.file)}: ${test.fullTitle}`, state);
  }
  return states;
}

/** What differs between the two runs, and what failed in either, one line each. */
export function compareRuns(alone: Map<string, State>, reversed: Map<string, State>): string[] {
  const titles = [...new Set([...alone.keys(), ...reversed.keys()])].sort();
  return titles.flatMap((title) => {
    const [a, r] = [alone.get(title), reversed.get(title)];
    if (a === r && a !== "failed") return [];
    return [`${title}: ${a ?? "not run"} alone, ${r ?? "not run"} in reverse order`];
  });
}

function main() {
  const configPath = resolve(ROOT, process.argv[2] ?? ".mocharc.json");
  const config: MochaConfig = JSON.parse(readFileSync(configPath, "utf8"));
  const files = specFiles(config);
  const started = Date.now();
  const alone = new Map<string, State>();
  for (const file of files) for (const [title, state] of runMocha(config, [file])) alone.set(title, state);
  const reversed = runMocha(config, [...files].reverse());
  const problems = compareRuns(alone, reversed);
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`${relative(ROOT, configPath)}: ${files.length} files alone and all in reverse order, ${alone.size} tests, ${seconds} s`);
  for (const line of problems) console.log(`  ${line}`);
  const counts = (states: Map<string, State>, wanted: State) => [...states.values()].filter((s) => s === wanted).length;
  console.log(`${counts(reversed, "passed")} passed, ${problems.length} failed, ${counts(reversed, "pending")} skipped`);
  if (problems.length > 0) process.exit(1);
}

if (require.main === module) main();
