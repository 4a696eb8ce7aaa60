import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diffStack, PlannedResource, renderDiff, Verdict } from "./offline/resourceDiff";

const USAGE = "usage: npm run plan:diff -- --base <git ref> [--format text|markdown] [--output FILE]";
const STACKS = ["edge", "home"];

function parseArgs(argv: string[]) {
  const args: { base?: string; format: "text" | "markdown"; output?: string } = { format: "text" };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = inline ?? argv[++i];
    if (flag === "--base" && value) args.base = value;
    else if (flag === "--format" && (value === "text" || value === "markdown")) args.format = value;
    else if (flag === "--output" && value) args.output = value;
    else throw new Error(`${USAGE}\nunexpected argument: ${argv[i]}`);
  }
  if (!args.base) throw new Error(USAGE);
  return args as { base: string; format: "text" | "markdown"; output?: string };
}

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")} failed:\n${result.stderr}`);
  return result.stdout.trim();
}

/** Raised when the base ref cannot produce a plan; reported in one line, with exit 3. */
class BaseCannotPlan extends Error {
  constructor(base: string, why: string) {
    super(`plan:diff: the base ${base} cannot plan: ${why}`);
  }
}

/** The first line of a failing command's output that says something, for a one-line report. */
const firstWords = (output: string) => output.split("\n").map((line) => line.replace(/^npm (error|ERR!) /, "").trim()).find((line) => line && !line.startsWith(">")) ?? "no output";

/**
 * Runs a tree's own `npm run plan` into a directory, so a base that plans another way (its own script, paths or
 * flags) is planned as it would plan itself. Exit 1 (findings) still leaves a complete plan; anything else fails.
 */
function planTree(tree: string, out: string): { ok: true } | { ok: false; why: string } {
  // An explicit log level: `npm run -s plan:diff` passes "silent" down, which would hide why a base cannot plan.
  const result = spawnSync("npm", ["run", "--loglevel=error", "plan", "--", "--out", out], { cwd: tree, encoding: "utf8" });
  const complete = (result.status === 0 || result.status === 1) && STACKS.every((stack) => existsSync(join(out, stack, "resources.json")));
  return complete ? { ok: true } : { ok: false, why: `${firstWords(`${result.stderr}\n${result.stdout}`)} (exit ${result.status})` };
}

/** Gives the base tree its own dependencies: this checkout's when the lockfiles agree, else a fresh `npm ci`. */
function installBase(root: string, baseTree: string, base: string): void {
  if (existsSync(join(baseTree, "node_modules"))) return;
  const lock = (tree: string) => (existsSync(join(tree, "package-lock.json")) ? readFileSync(join(tree, "package-lock.json"), "utf8") : undefined);
  if (lock(baseTree) === lock(root)) {
    symlinkSync(join(root, "node_modules"), join(baseTree, "node_modules"));
    return;
  }
  const result = spawnSync("npm", ["ci", "--loglevel=error", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: baseTree, encoding: "utf8" });
  if (result.status !== 0) throw new BaseCannotPlan(base, `npm ci failed: ${firstWords(result.stderr)}`);
}

const readJson = <T>(path: string, fallback: T): T => (existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : fallback);

/**
 * Plans both stacks at a base ref (in a temporary git worktree) and in the working tree, and prints what a merge
 * would change: first each resource replaced (from the providers' force-new inputs), each deletion of data or keys,
 * and what stays behind with the command that deletes it; then resources added, removed and changed with the input
 * paths that differ (secrets masked), and the policy verdicts of the new state. Needs no account, no CLI, no secrets.
 */
function main() {
  const { base, format, output } = parseArgs(process.argv.slice(2));
  const root = git(process.cwd(), "rev-parse", "--show-toplevel");
  const scratch = mkdtempSync(join(tmpdir(), "plan-diff-"));
  const baseTree = join(scratch, "base");
  try {
    git(root, "worktree", "add", "--detach", "--quiet", baseTree, base);
    installBase(root, baseTree, base);
    const basePlan = planTree(baseTree, join(scratch, "base-out"));
    if (!basePlan.ok) throw new BaseCannotPlan(base, basePlan.why);
    const headPlan = planTree(root, join(scratch, "head-out"));
    if (!headPlan.ok) throw new Error(`planning the working tree failed: ${headPlan.why}; run npm run plan to see why`);
    const resources = (side: string, stack: string) => readJson<PlannedResource[]>(join(scratch, side, stack, "resources.json"), []);
    const diffs = STACKS.map((stack) => diffStack(stack, resources("base-out", stack), resources("head-out", stack)));
    const verdicts = Object.fromEntries(STACKS.map((stack) => [stack, readJson<Verdict[]>(join(scratch, "head-out", stack, "policy.json"), [])]));
    const text = renderDiff(diffs, verdicts, format, base);
    process.stdout.write(text);
    if (output) writeFileSync(output, text);
  } finally {
    spawnSync("git", ["worktree", "remove", "--force", baseTree], { cwd: root });
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof BaseCannotPlan ? 3 : 1);
}
