import { strict as assert } from "node:assert";
import { AppNamespace, namespaceLevel } from "../../components/apps/appNamespace";
import { gluetunWaivers } from "../../components/apps/gluetun";
import { resourceOf, resourcesOf, runProgram } from "../support/offline";

describe("AppNamespace", () => {
  it("stays restricted without waivers, and names every waiver when a member needs one", async () => {
    assert.equal(namespaceLevel([]), "restricted");
    const waivers = gluetunWaivers({ provider: "mullvad", type: "wireguard", portForwarding: false });
    assert.equal(namespaceLevel(waivers), "privileged");
    const run = await runProgram(() => {
      new AppNamespace("plain", { namespace: "tools", waivers: [] });
      new AppNamespace("vpn", { namespace: "downloads", waivers });
      return { outputs: {}, artifacts: {} };
    });
    const tools = resourceOf(run, "kubernetes:core/v1:Namespace", "plain").inputs.metadata as any;
    assert.equal(tools.labels["pod-security.kubernetes.io/enforce"], "restricted");
    assert.deepEqual(tools.annotations, {});
    const downloads = resourceOf(run, "kubernetes:core/v1:Namespace", "vpn").inputs.metadata as any;
    assert.equal(downloads.labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.equal(downloads.labels["pod-security.kubernetes.io/warn"], "restricted", "still warned against restricted");
    assert.match(downloads.annotations["homelab.dev/pod-security-waivers"], /^capabilities: .+; runAsNonRoot: .+$/);
  });

  it("closes the namespace by default, once: deny both ways, then same-namespace traffic and DNS", async () => {
    const run = await runProgram(() => {
      new AppNamespace("tools", { namespace: "tools", waivers: [] });
      return { outputs: {}, artifacts: {} };
    });
    const policies = resourcesOf(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => (r.inputs.metadata as any).name).sort();
    assert.deepEqual(policies, ["allow-dns", "allow-same-namespace", "default-deny"]);
    const deny = resourceOf(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "tools-default-deny");
    assert.deepEqual(deny.inputs.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    assert.ok(deny.options.dependsOn.includes(resourceOf(run, "kubernetes:core/v1:Namespace", "tools").urn), "waits for its namespace");
  });

  it("is left in the cluster when it leaves the program, so the claims in it are never deleted with it", async () => {
    const run = await runProgram(() => {
      new AppNamespace("tools", { namespace: "tools", waivers: [] });
      return { outputs: {}, artifacts: {} };
    });
    assert.equal(resourceOf(run, "kubernetes:core/v1:Namespace", "tools").options.retainOnDelete, true);
    assert.equal(resourceOf(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "tools-default-deny").options.retainOnDelete, false, "only the namespace itself");
  });
});
