import { strict as assert } from "node:assert";
import { resourceOf, resourcesOf, runEdge, runHome } from "../support/offline";

const CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile";

describe("Cilium with Gateway API", function () {
  this.timeout(60000);

  it("installs the standard CRDs of Gateway API v1.6.1 by default, before the chart, and none while gatewayApi is off", async () => {
    const edge = await runEdge();
    const on = await runHome({ gatewayApi: "true" }, edge);
    const crds = resourceOf(on, CONFIG_FILE, "cilium-gateway-api-crds");
    // The release asset of kubernetes-sigs/gateway-api v1.6.1: config/crd/standard, its safe-upgrades admission policy included.
    assert.equal(crds.inputs.file, "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml");
    assert.ok(resourceOf(on, "kubernetes:helm.sh/v4:Chart", "cilium").options.dependsOn.includes(crds.urn));
    assert.equal((resourceOf(on, "kubernetes:helm.sh/v4:Chart", "cilium").inputs.values as any).gatewayAPI.enabled, true);
    assert.deepEqual(resourcesOf(await runHome({}, edge), CONFIG_FILE), []);
  });
});
