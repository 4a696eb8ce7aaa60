import { strict as assert } from "node:assert";
import { Cilium, CiliumArgs } from "../../components/home/cilium";
import { parseHomeConfig } from "../../components/config/schema";
import { validHomeRaw } from "../support/fixtures";
import { resourceOf, resourcesOf, runProgram } from "../support/offline";

const CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile";
const args = (gatewayApi: boolean): CiliumArgs => {
  const config = parseHomeConfig(validHomeRaw());
  return { version: config.charts.cilium, k8sServiceHost: "192.168.1.10", k8sServicePort: 6443, podCidr: "10.42.0.0/16", gatewayApi, gatewayApiVersion: config.gatewayApi.version, encryption: true, lbPool: "192.168.1.240/28", interfaces: ["^eth[0-9]+"] };
};
const run = (gatewayApi: boolean) => runProgram(() => (new Cilium("cilium", args(gatewayApi)), { outputs: {}, artifacts: {} }));

describe("Cilium with Gateway API", () => {
  it("installs the standard CRDs of Gateway API v1.6.1, the config's default, before the chart, and none while gatewayApi is off", async () => {
    const on = await run(true);
    const crds = resourceOf(on, CONFIG_FILE, "cilium-gateway-api-crds");
    // The release asset of kubernetes-sigs/gateway-api v1.6.1: config/crd/standard, its safe-upgrades admission policy included.
    assert.equal(crds.inputs.file, "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml");
    const chart = resourceOf(on, "kubernetes:helm.sh/v4:Chart", "cilium");
    assert.ok(chart.options.dependsOn.includes(crds.urn));
    assert.equal((chart.inputs.values as any).gatewayAPI.enabled, true);
    assert.deepEqual(resourcesOf(await run(false), CONFIG_FILE), []);
  });
});
