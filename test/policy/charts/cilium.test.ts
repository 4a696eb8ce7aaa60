import { strict as assert } from "node:assert";
import { parseHomeConfig } from "../../../components/config/schema";
import { allPolicies } from "../../../policy/policies";
import { packConfigFor } from "../../../tools/offline/packConfig";
import { runPolicies } from "../../../tools/offline/policyRunner";
import { validHomeRaw } from "../../support/fixtures";
import { loadStackConfig } from "../../../tools/offline/stackConfig";
import { CILIUM_CHART_VERSION, ciliumRenders, ciliumValues } from "./renders";

describe("the Cilium chart's workloads under the pack's k8s-resources rule", () => {
  const config = parseHomeConfig(validHomeRaw());
  const resourceFindings = async (values: Record<string, unknown>) =>
    (await runPolicies(allPolicies, ciliumRenders(values), packConfigFor(config, config))).filter((v) => v.policy === "k8s-resources").map((v) => `${v.level} ${v.message}`);

  it("mirrors the chart at the version Pulumi.home.yaml pins and the config defaults to", () => {
    assert.equal(loadStackConfig("home", process.cwd()).config["homelab:ciliumVersion"], CILIUM_CHART_VERSION);
    const { ciliumVersion, ...unpinned } = validHomeRaw() as Record<string, unknown>;
    assert.equal(parseHomeConfig(unpinned).charts.cilium, CILIUM_CHART_VERSION, String(ciliumVersion));
  });

  it("passes with this program's values: every container the 1.20.0 chart renders has requests and a memory limit", async () => {
    assert.deepEqual(await resourceFindings(ciliumValues), []);
  });

  it("fails cilium-envoy, exempt namespace or not, when envoy.resources is left to the chart's empty default", async () => {
    const { envoy, ...chartDefaults } = ciliumValues as Record<string, unknown>;
    assert.ok(envoy);
    const findings = await resourceFindings(chartDefaults);
    assert.equal(findings.length, 1, findings.join("\n"));
    assert.match(findings[0], /^mandatory .*cilium-envoy.*requests\.cpu, requests\.memory, limits\.memory/);
  });

  it("fails every init container but install-cni-binaries, whose chart default has limits, when initResources is unset", async () => {
    const { initResources, ...chartDefaults } = ciliumValues as Record<string, unknown>;
    assert.ok(initResources);
    const findings = await resourceFindings(chartDefaults);
    assert.deepEqual(
      findings,
      ["config", "mount-cgroup", "apply-sysctl-overwrites", "mount-bpf-fs", "clean-cilium-state"].map((c) => `mandatory init container "${c}" lacks requests.cpu, requests.memory, limits.memory`),
    );
  });
});
