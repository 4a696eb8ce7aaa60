import { strict as assert } from "node:assert";
import { parseHomeConfig } from "../../../components/config/schema";
import { allPolicies } from "../../../policy/policies";
import { packConfigFor } from "../../../tools/offline/packConfig";
import { runPolicies } from "../../../tools/offline/policyRunner";
import { validHomeRaw } from "../../support/fixtures";
import { ciliumRenders, ciliumValues } from "./renders";

describe("the Cilium chart's workloads under the pack's k8s-resources rule", () => {
  const config = parseHomeConfig(validHomeRaw());
  const resourceFindings = async (values: Record<string, unknown>) =>
    (await runPolicies(allPolicies, ciliumRenders(values), packConfigFor(config, config))).filter((v) => v.policy === "k8s-resources").map((v) => `${v.level} ${v.message}`);

  it("passes with this program's values: every container the 1.18.2 chart renders has requests and a memory limit", async () => {
    assert.deepEqual(await resourceFindings(ciliumValues), []);
  });

  it("fails mount-cgroup, install-cni-binaries and cilium-envoy, exempt namespace or not, when their own keys are left to the chart", async () => {
    const { cgroup, cni, envoy, ...chartDefaults } = ciliumValues as Record<string, unknown>;
    assert.ok(cgroup && cni && envoy);
    const findings = await resourceFindings(chartDefaults);
    assert.equal(findings.length, 3, findings.join("\n"));
    assert.ok(findings.every((f) => f.startsWith("mandatory ")), findings.join("\n"));
    for (const [container, missing] of [["mount-cgroup", /requests\.cpu, requests\.memory, limits\.memory/], ["install-cni-binaries", /lacks limits\.memory$/], ["cilium-envoy", /requests\.cpu, requests\.memory, limits\.memory/]] as const) {
      const finding = findings.find((f) => f.includes(container));
      assert.ok(finding, `${container} in ${findings.join("\n")}`);
      assert.match(finding, missing);
    }
  });
});
