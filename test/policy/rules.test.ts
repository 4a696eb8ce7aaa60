import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
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

  it("the pack imports from outside policy/ only the program's contract, whose modules import nothing but Node's own", () => {
    const importsOf = (file: string) => [...readFileSync(file, "utf8").matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
    const packDir = join(__dirname, "../../policy");
    const outside = readdirSync(packDir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) => importsOf(join(packDir, f)).filter((i) => i.startsWith("..")));
    assert.deepEqual([...new Set(outside)].sort(), ["../components/contract/cidr", "../components/contract/policyNames"]);
    for (const module of outside) {
      assert.deepEqual(importsOf(join(packDir, `${module}.ts`)).filter((i) => !i.startsWith("node:")), [], module);
    }
  });

  it("the program never imports the pack: shared names come from components/contract/", () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
    const root = join(__dirname, "../..");
    const offenders = [...sources(join(root, "components")), join(root, "index.ts")].filter((file) =>
      [...readFileSync(file, "utf8").matchAll(/from "([^"]+)"/g)].some((m) => m[1].startsWith(".") && join(dirname(file), m[1]).startsWith(join(root, "policy"))),
    );
    assert.deepEqual(offenders.map((f) => f.slice(root.length + 1)), []);
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

      const config = () => (load().config ? { [policy.name]: load().config! } : {});

      it("passes its pass fixture", async () => {
        assert.deepEqual(await runPolicies([policy], load().pass, config()), []);
      });

      it("fails its fail fixture with exactly the expected violations", async () => {
        const violations = await runPolicies([policy], load().fail, config());
        assert.deepEqual(violations.map((v) => v.message), load().violations);
        assert.ok(violations.every((v) => v.policy === policy.name && v.level === policy.enforcementLevel));
      });
    });
  }
});
