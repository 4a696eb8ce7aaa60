import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { allPolicies } from "../../policy/policies";
import { runPolicies } from "../../tools/offline/policyRunner";
import { RuleFixtures } from "./fixtures/build";

const fixtureDir = join(__dirname, "fixtures");
const fixtureIds = readdirSync(fixtureDir)
  .filter((f) => f.endsWith(".ts") && f !== "build.ts")
  .map((f) => f.replace(/\.ts$/, ""));

describe("policy rules, each against its pass and fail fixtures", () => {
  it("every rule of the pack has fixtures, and every fixture a rule", () => {
    assert.deepEqual([...fixtureIds].sort(), allPolicies.map((p) => p.name).sort());
  });

  it("the pack imports nothing from outside policy/, so `pulumi policy publish` can pack it alone", () => {
    const packDir = join(__dirname, "../../policy");
    for (const file of readdirSync(packDir).filter((f) => f.endsWith(".ts"))) {
      const imports = [...readFileSync(join(packDir, file), "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(imports.filter((i) => i.startsWith("..")), [], file);
    }
  });

  it("every rule has a description, an enforcement level and remediation text", () => {
    for (const policy of allPolicies) {
      assert.ok(policy.description.length > 20, policy.name);
      assert.ok(policy.enforcementLevel, policy.name);
      assert.ok(policy.remediationSteps && policy.remediationSteps.length > 20, policy.name);
    }
  });

  for (const policy of allPolicies) {
    describe(policy.name, () => {
      const load = (): RuleFixtures => require(join(fixtureDir, policy.name)).fixtures;

      it("passes its pass fixture", async () => {
        assert.deepEqual(await runPolicies([policy], load().pass), []);
      });

      it("fails its fail fixture with exactly the expected violations", async () => {
        const violations = await runPolicies([policy], load().fail);
        assert.deepEqual(violations.map((v) => v.message), load().violations);
        assert.ok(violations.every((v) => v.policy === policy.name && v.level === policy.enforcementLevel));
      });
    });
  }
});
