import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recordedSkips, SKIP_RECORDS_ENV, skipSummary } from "./realTools";

// Mocha's global fixtures run once in the main process, before any worker starts (workers inherit the environment),
// so the summary below sees the skips of every process, in serial and parallel runs alike.

/** Makes the directory every test process records its real-tool skips in. */
export function mochaGlobalSetup(): void {
  process.env[SKIP_RECORDS_ENV] = mkdtempSync(join(tmpdir(), "homelab-skips-"));
}

/** After the run, one line says which real-tool checks were skipped and what they need. */
export function mochaGlobalTeardown(): void {
  const dir = process.env[SKIP_RECORDS_ENV];
  if (!dir) return;
  const summary = skipSummary(recordedSkips(dir));
  if (summary) console.log(`\n  ${summary}`);
  rmSync(dir, { recursive: true, force: true });
  delete process.env[SKIP_RECORDS_ENV];
}
