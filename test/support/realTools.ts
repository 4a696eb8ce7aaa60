import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Where scripts/install-system-tools builds the pinned Go programs (headscale, tailscale, actionlint). */
export const TOOLS_BIN = join(__dirname, "../../.tools/bin");
// First on PATH, for this process and every command it starts, so an operator's own tailscale never stands in.
if (!process.env.PATH?.split(delimiter).includes(TOOLS_BIN)) process.env.PATH = [TOOLS_BIN, process.env.PATH].join(delimiter);

/** Whether a command is on PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

const isRoot = () => process.getuid?.() === 0;

/** The command that installs every tool the real-tool checks use. */
export const INSTALL_COMMAND = "scripts/install-system-tools";

/**
 * Set to 1 to skip the real-tool checks even under CI=true, for a runner that only wants the unit tests (the deploy
 * workflow). .ci/run never sets it: there a missing tool must fail.
 */
export const SKIP_FLAG = "HOMELAB_SKIP_REAL_TOOLS";

/** What skipped checks were missing. */
export interface Skips {
  tests: number;
  tools: Set<string>;
  needsRoot: boolean;
  unavailable: Map<string, string>;
}

/** This process's skips. */
export const skipped: Skips = { tests: 0, tools: new Set<string>(), needsRoot: false, unavailable: new Map<string, string>() };

/**
 * A directory the mocha setup makes for the run: each test process (the main one, or each worker under --parallel)
 * appends its skips there, so the one summary line at the end counts them all.
 */
export const SKIP_RECORDS_ENV = "HOMELAB_SKIP_RECORDS";

interface SkipRecord {
  tools: string[];
  needsRoot: boolean;
  unavailable: [string, string][];
}

function addSkip(into: Skips, { tools, needsRoot, unavailable }: SkipRecord): void {
  into.tests += 1;
  tools.forEach((t) => into.tools.add(t));
  unavailable.forEach(([t, reason]) => into.unavailable.set(t, reason));
  into.needsRoot ||= needsRoot;
}

/** Every skip the run's processes recorded in the directory. */
export function recordedSkips(dir: string): Skips {
  const all: Skips = { tests: 0, tools: new Set(), needsRoot: false, unavailable: new Map() };
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n").filter(Boolean)) addSkip(all, JSON.parse(line) as SkipRecord);
  }
  return all;
}

/**
 * Why the tool script could not install a tool whose source no registry carries (Headplane's), from the note it leaves
 * in .tools/bin instead of the tool; undefined for any other missing tool.
 */
export function unavailableReason(tool: string): string | undefined {
  const note = join(TOOLS_BIN, `.${tool}.unavailable`);
  return existsSync(note) ? readFileSync(note, "utf8").trim() : undefined;
}

/**
 * Skips the test when root or a tool is missing, and records why for the run's summary line. Under CI=true a missing
 * tool is a failure instead (.ci/run installs them all, so a skip there would hide a broken install), unless
 * HOMELAB_SKIP_REAL_TOOLS=1 says this run wants the unit tests only, or the tool script left a note that the tool's
 * source could not be had on this machine: no install can fix that, and the summary line gives the note.
 */
export function requireRealTools(ctx: Mocha.Context, tools: string[], needsRoot = false): void {
  const missing = tools.filter((t) => !hasTool(t));
  const rootMissing = needsRoot && !isRoot();
  if (missing.length === 0 && !rootMissing) return;
  const unavailable = missing.flatMap((t) => {
    const reason = unavailableReason(t);
    return reason === undefined ? [] : [[t, reason] as [string, string]];
  });
  if (process.env.CI === "true" && process.env[SKIP_FLAG] !== "1" && (rootMissing || unavailable.length < missing.length)) {
    const reasons = [...(rootMissing ? ["this test needs root for network namespaces"] : []), ...(missing.length ? [`missing tools: ${missing.join(", ")} (${INSTALL_COMMAND} installs them)`] : [])];
    throw new Error(`real-tool check cannot run under CI: ${reasons.join("; ")}`);
  }
  const record: SkipRecord = { tools: missing, needsRoot: rootMissing, unavailable };
  addSkip(skipped, record);
  const records = process.env[SKIP_RECORDS_ENV];
  if (records) appendFileSync(join(records, `${process.pid}.jsonl`), `${JSON.stringify(record)}\n`);
  ctx.skip();
}

/** The one line that says what the skipped checks need, or undefined when none was skipped. */
export function skipSummary(skips: Skips = skipped): string | undefined {
  if (skips.tests === 0) return undefined;
  const needs = [...(skips.tools.size ? [`the tools ${[...skips.tools].sort().join(", ")} (install them with ${INSTALL_COMMAND})`] : []), ...(skips.needsRoot ? ["root, for network namespaces"] : [])];
  const notes = [...skips.unavailable].map(([tool, reason]) => `; ${tool}: ${reason}`).join("");
  return `real-tool checks skipped: ${skips.tests} need ${needs.join(" and ")}${notes}`;
}

/** Runs a command and returns stdout; on failure the error carries stderr, so the tool's own words show. */
export function run(cmd: string, args: string[], input?: string): string {
  const result = spawnSync(cmd, args, { input, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${result.status}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Like run, but returns the exit status and output instead of throwing. */
export function tryRun(cmd: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(cmd, args, { input, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A network namespace that exists for one test; delete it in an after/finally. */
export class Netns {
  readonly name = `hl-${randomBytes(4).toString("hex")}`;

  constructor() {
    execFileSync("ip", ["netns", "add", this.name]);
    this.exec("ip", ["link", "set", "lo", "up"]);
  }

  exec(cmd: string, args: string[], input?: string): string {
    return run("ip", ["netns", "exec", this.name, cmd, ...args], input);
  }

  tryExec(cmd: string, args: string[], input?: string) {
    return tryRun("ip", ["netns", "exec", this.name, cmd, ...args], input);
  }

  /** Removes the namespace and stops anything still running in it (TERM first, so wireguard-go removes its socket). */
  delete(): void {
    spawnSync("sh", ["-c", `ip netns pids ${this.name} | xargs -r kill; sleep 0.2; ip netns pids ${this.name} | xargs -r kill -9`], { stdio: "ignore" });
    spawnSync("ip", ["netns", "delete", this.name], { stdio: "ignore" });
  }
}
