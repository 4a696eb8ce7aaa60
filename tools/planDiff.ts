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

/** Runs a tree's own `plan` into a directory; exit 1 (findings) still leaves a complete plan, anything else fails. */
function planTree(tree: string, out: string, tsNode: string): void {
  const result = spawnSync(process.execPath, ["-r", tsNode, join(tree, "tools/plan.ts"), "--out", out], {
    cwd: tree,
    encoding: "utf8",
    env: { ...process.env, TS_NODE_PROJECT: join(tree, "tsconfig.json") },
  });
  const complete = (result.status === 0 || result.status === 1) && STACKS.every((stack) => existsSync(join(out, stack, "resources.json")));
  if (!complete) throw new Error(`planning ${tree} failed (exit ${result.status}):\n${result.stderr}`);
}

const readJson = <T>(path: string, fallback: T): T => (existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : fallback);

/**
 * Plans both stacks at a base ref (in a temporary git worktree) and in the working tree, and prints what a merge
 * would change: resources added, removed and changed with the input paths that differ (secrets masked), and the
 * policy verdicts of the new state. Needs no account, no CLI, no secrets.
 */
function main() {
  const { base, format, output } = parseArgs(process.argv.slice(2));
  const root = git(process.cwd(), "rev-parse", "--show-toplevel");
  const tsNode = join(root, "node_modules/ts-node/register/transpile-only");
  const scratch = mkdtempSync(join(tmpdir(), "plan-diff-"));
  const baseTree = join(scratch, "base");
  try {
    git(root, "worktree", "add", "--detach", "--quiet", baseTree, base);
    // The base plans with this checkout's installed packages; a base with other dependencies would need its own npm ci.
    if (!existsSync(join(baseTree, "node_modules"))) symlinkSync(join(root, "node_modules"), join(baseTree, "node_modules"));
    planTree(baseTree, join(scratch, "base-out"), tsNode);
    planTree(root, join(scratch, "head-out"), tsNode);
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
  process.exit(1);
}
