import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** Whether a command is on PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Skips the test with the reason when root or a tool is missing. Under CI=true a missing tool is a failure instead:
 * .ci/run installs them all, so a skip there would hide a broken install.
 */
export function requireRealTools(ctx: Mocha.Context, tools: string[], needsRoot = false): void {
  const missing = tools.filter((t) => !hasTool(t));
  const reasons = [...(needsRoot && !isRoot() ? ["this test needs root for network namespaces"] : []), ...(missing.length ? [`missing tools: ${missing.join(", ")} (.ci/run installs them)`] : [])];
  if (reasons.length === 0) return;
  const message = reasons.join("; ");
  if (process.env.CI === "true") throw new Error(`real-tool check cannot run under CI: ${message}`);
  console.warn(`      skipped: ${message}`);
  ctx.skip();
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
