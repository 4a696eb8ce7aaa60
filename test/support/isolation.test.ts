import { strict as assert } from "node:assert";
import { compareRuns, globPattern, inPool, specFiles } from "./isolation";

describe("the isolation check (npm run test:isolation)", () => {
  it("reports a test whose state depends on the order, and any failure, but not a test skipped in both runs", () => {
    const alone = new Map([["a", "passed"], ["b", "failed"], ["c", "pending"], ["d", "failed"]] as const);
    const reversed = new Map([["a", "passed"], ["b", "passed"], ["c", "pending"], ["d", "failed"], ["e", "passed"]] as const);
    assert.deepEqual(compareRuns(new Map(alone), new Map(reversed)), [
      "b: failed alone, passed in reverse order",
      "d: failed alone, failed in reverse order",
      "e: not run alone, passed in reverse order",
    ]);
  });

  it("reads mocha's globs: ** for any directories, * within a name", () => {
    const spec = globPattern("test/**/*.test.ts");
    assert.ok(spec.test("test/a.test.ts") && spec.test("test/x/y/a.test.ts"));
    assert.ok(!spec.test("test/a.test.tsx") && !spec.test("tests/a.test.ts") && !spec.test("test/x/a.spec.ts"));
    assert.ok(globPattern("test/e2e/**").test("test/e2e/x/y.ts"));
  });

  it("selects the files the mocha config selects, e2e left out of the unit suite", () => {
    const files = specFiles({ require: [], extension: ["ts"], spec: ["test/**/*.test.ts"], ignore: ["test/e2e/**"], timeout: 1 });
    assert.ok(files.includes("test/support/isolation.test.ts"));
    assert.ok(files.includes("test/edge/nftables.test.ts"));
    assert.ok(files.includes("test/workflows.test.ts"), "** matches no directory at all too, as in mocha");
    assert.ok(!files.some((f) => f.startsWith("test/e2e/")));
  });

  it("runs the files alone at most the config's jobs at a time, and keeps their order in the results", async () => {
    let running = 0;
    let most = 0;
    const results = await inPool([30, 5, 20, 1, 10], 2, async (ms) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, ms));
      running -= 1;
      return ms * 2;
    });
    assert.deepEqual(results, [60, 10, 40, 2, 20]);
    assert.equal(most, 2);
  });
});
