/**
 * `npm run test:isolation`: proves no test depends on what another left behind. It runs every test file of a mocha
 * config alone, then the whole suite in reverse file order, and fails when a test fails in either run or ends in a
 * different state (passed, failed, pending) in the two. The files run alone as many at a time as the config's `jobs`
 * (each in its own process, as under mocha --parallel). Usage: ts-node test/support/isolation.ts [.mocharc.json]
 */
import { spawn, spawnSync } from "node:child_process";
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
  jobs?: number;
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

/** Runs mocha in one process on the files in the given order and returns each test's state by its file and full title. */
async function runMocha(config: MochaConfig, files: string[]): Promise<Map<string, State>> {
  const output = join(mkdtempSync(join(tmpdir(), "isolation-")), "report.json");
  const args = ["--no-config", ...config.require.flatMap((r) => ["--require", r]), ...config.extension.flatMap((e) => ["--extension", e]), "--timeout", String(config.timeout), "--reporter", "json", "--reporter-option", `output=${output}`, ...files];
  const run = spawn(join(ROOT, "node_modules/.bin/mocha"), args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  run.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => run.on("close", resolve));
  let report: Record<"passes" | "failures" | "pending", { fullTitle: string; file: string }[]>;
  try {
    report = JSON.parse(readFileSync(output, "utf8"));
  } catch {
    throw new Error(`mocha wrote no report for ${files.join(" ")} (exit ${status}):\n${stderr}`);
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

/** Calls work on each item, at most `jobs` at a time, and returns the results in the items' order. */
export async function inPool<T, R>(items: T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return results;
}

async function main() {
  const configPath = resolve(ROOT, process.argv[2] ?? ".mocharc.json");
  const config: MochaConfig = JSON.parse(readFileSync(configPath, "utf8"));
  const files = specFiles(config);
  const started = Date.now();
  const alone = new Map<string, State>();
  for (const states of await inPool(files, config.jobs ?? 1, (file) => runMocha(config, [file]))) for (const [title, state] of states) alone.set(title, state);
  const reversed = await runMocha(config, [...files].reverse());
  const problems = compareRuns(alone, reversed);
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`${relative(ROOT, configPath)}: ${files.length} files alone and all in reverse order, ${alone.size} tests, ${seconds} s`);
  for (const line of problems) console.log(`  ${line}`);
  const counts = (states: Map<string, State>, wanted: State) => [...states.values()].filter((s) => s === wanted).length;
  console.log(`${counts(reversed, "passed")} passed, ${problems.length} failed, ${counts(reversed, "pending")} skipped`);
  if (problems.length > 0) process.exit(1);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
