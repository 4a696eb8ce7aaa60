import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "../..");

/** A spec file whose one test skips for a tool no machine has. */
function skippingSpec(dir: string, tool: string): string {
  const file = join(dir, `${tool}.spec.js`);
  writeFileSync(file, `const { requireRealTools } = require(${JSON.stringify(join(__dirname, "realTools.ts"))});\nit("needs ${tool}", function () { requireRealTools(this, [${JSON.stringify(tool)}]); });\n`);
  return file;
}

describe("the mocha setup's summary line", function () {
  this.timeout(60000);

  for (const parallel of [false, true]) {
    it(`counts the skips of every test process in one line, ${parallel ? "with two workers under --parallel" : "in a serial run"}`, () => {
      const dir = mkdtempSync(join(tmpdir(), "mocha-setup-"));
      const specs = ["no-such-tool-one", "no-such-tool-two"].map((tool) => skippingSpec(dir, tool));
      const env = { ...process.env, CI: "", HOMELAB_SKIP_RECORDS: "" };
      const args = ["--no-config", "--require", "ts-node/register/transpile-only", "--require", join(__dirname, "mochaSetup.ts"), ...(parallel ? ["--parallel", "--jobs", "2"] : []), ...specs];
      const result = spawnSync(join(ROOT, "node_modules/.bin/mocha"), args, { cwd: ROOT, encoding: "utf8", env });
      assert.equal(result.status, 0, result.stderr);
      const lines = result.stdout.split("\n").filter((l) => l.includes("real-tool checks skipped"));
      assert.deepEqual(lines.map((l) => l.trim()), ["real-tool checks skipped: 2 need the tools no-such-tool-one, no-such-tool-two (install them with scripts/install-system-tools)"]);
    });
  }
});
