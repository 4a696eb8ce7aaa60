import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireRealTools, SKIP_RECORDS_ENV, skipped, skipSummary, TOOLS_BIN } from "./realTools";

/** requireRealTools under CI=true for one tool no machine has; returns "skipped", or the error it threw. */
function underCi(tool: string): string {
  const saved = { ci: process.env.CI, flag: process.env.HOMELAB_SKIP_REAL_TOOLS, records: process.env[SKIP_RECORDS_ENV], skipped: structuredClone(skipped) };
  process.env.CI = "true";
  delete process.env.HOMELAB_SKIP_REAL_TOOLS;
  // The made-up tool's skip stays out of the run's own summary line.
  delete process.env[SKIP_RECORDS_ENV];
  const ctx = {
    skip: () => {
      throw new Error("skipped");
    },
  } as unknown as Mocha.Context;
  try {
    requireRealTools(ctx, [tool]);
    return "ran";
  } catch (error) {
    return (error as Error).message === "skipped" ? `skipped: ${skipSummary()}` : (error as Error).message;
  } finally {
    process.env.CI = saved.ci;
    if (saved.ci === undefined) delete process.env.CI;
    if (saved.flag !== undefined) process.env.HOMELAB_SKIP_REAL_TOOLS = saved.flag;
    if (saved.records !== undefined) process.env[SKIP_RECORDS_ENV] = saved.records;
    Object.assign(skipped, saved.skipped);
  }
}

describe("requireRealTools", () => {
  const tool = `no-such-tool-${randomBytes(4).toString("hex")}`;
  const note = join(TOOLS_BIN, `.${tool}.unavailable`);
  after(() => rmSync(note, { force: true }));

  it("fails a check under CI when its tool is missing", () => {
    assert.match(underCi(tool), new RegExp(`real-tool check cannot run under CI: missing tools: ${tool}`));
  });

  it("skips it under CI when the tool script left a note that the tool's source could not be had, and the summary gives the note", () => {
    mkdirSync(TOOLS_BIN, { recursive: true });
    writeFileSync(note, "no source for it on this machine\n");
    assert.match(underCi(tool), new RegExp(`^skipped: real-tool checks skipped: \\d+ need the tools .*${tool}.*; ${tool}: no source for it on this machine$`));
  });
});
