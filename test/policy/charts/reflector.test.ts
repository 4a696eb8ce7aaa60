import { strict as assert } from "node:assert";
import { parseHomeConfig } from "../../../components/config/schema";
import { allPolicies } from "../../../policy/policies";
import { packConfigFor } from "../../../tools/offline/packConfig";
import { runPolicies } from "../../../tools/offline/policyRunner";
import { loadStackConfig } from "../../../tools/offline/stackConfig";
import { validHomeRaw } from "../../support/fixtures";
import { reflector, REFLECTOR_CHART_VERSION } from "./renders";

describe("the Reflector chart's Deployment under the pack", () => {
  it("mirrors the chart at the version Pulumi.home.yaml pins and the config defaults to", () => {
    assert.equal(loadStackConfig("home", process.cwd()).config["homelab:reflectorVersion"], REFLECTOR_CHART_VERSION);
    const { reflectorVersion, ...unpinned } = validHomeRaw() as Record<string, unknown>;
    assert.equal(parseHomeConfig(unpinned).charts.reflector, REFLECTOR_CHART_VERSION, String(reflectorVersion));
  });

  it("passes every mandatory rule with this program's values, its API token waived by the namespace's reason", async () => {
    const config = parseHomeConfig(validHomeRaw());
    const findings = await runPolicies(allPolicies, [reflector], packConfigFor(config, config));
    assert.deepEqual(findings.filter((f) => f.level === "mandatory"), []);
    assert.deepEqual(findings.map((f) => f.policy), ["k8s-exemptions"]);
  });
});
