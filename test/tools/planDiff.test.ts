import { strict as assert } from "node:assert";
import { fakeId as fakeIdOf } from "../../tools/offline/fakes";
import { forcingChanges } from "../../tools/offline/forceNew";
import { diffStack, differingPaths, PlannedResource } from "../../tools/offline/resourceDiff";

// npm run plan:diff itself, in throwaway repositories, is in test/e2e/planDiff.test.ts.
describe("plan:diff's comparison", () => {
  it("compares values by path, equal-length arrays by index, and others as what was removed and added", () => {
    assert.deepEqual(differingPaths({ a: [1, 2], b: { c: "x" } }, { a: [1, 3], b: { c: "x", d: true } }), [
      { path: "a[1]", before: 2, after: 3 },
      { path: "b.d", before: undefined, after: true },
    ]);
    assert.deepEqual(differingPaths({ r: ["x", "y", "z"] }, { r: ["x", "z"] }), [{ path: "r", before: "y", after: undefined }]);
  });

  describe("the state a change replaces or deletes, on recorded resources", () => {
    const resource = (type: string, name: string, inputs: Record<string, unknown>, options: Record<string, unknown> = {}): PlannedResource => ({ type, name, inputs, options });
    const namespace = (retainOnDelete: boolean) => resource("kubernetes:core/v1:Namespace", "namespace-music", { metadata: { name: "music" } }, { retainOnDelete });
    const claim = resource("kubernetes:core/v1:PersistentVolumeClaim", "music-data", { metadata: { name: "music-data", namespace: "music" }, spec: { accessModes: ["ReadWriteOnce"] } }, { retainOnDelete: true });

    it("calls a retained claim deleted when its namespace goes without retainOnDelete, as Kubernetes would", () => {
      const d = diffStack("home", [namespace(false), claim], []);
      assert.deepEqual(d.kept, []);
      assert.deepEqual(d.deleted.map((f) => f.key), ["kubernetes:core/v1:Namespace::namespace-music", "kubernetes:core/v1:PersistentVolumeClaim::music-data"]);
      assert.match(d.deleted[1].what, /deletes it with namespace music, whatever its retainOnDelete says/);
      const kept = diffStack("home", [namespace(true), claim], []);
      assert.deepEqual(kept.deleted, []);
      assert.deepEqual(kept.kept.map((f) => f.deleteWith), ["kubectl delete namespace music", "kubectl delete persistentvolumeclaim -n music music-data"]);
    });

    it("replaces on the provider's force-new inputs only, never on ignored ones", () => {
      assert.deepEqual(forcingChanges("kubernetes:apps/v1:StatefulSet", { spec: { selector: { matchLabels: { a: "1" } }, template: { x: 1 } } }, { spec: { selector: { matchLabels: { a: "1" } }, template: { x: 2 } } }), []);
      assert.deepEqual(forcingChanges("kubernetes:apps/v1:StatefulSet", { spec: { serviceName: "a" } }, { spec: { serviceName: "b" } }), ["spec.serviceName"]);
      assert.deepEqual(forcingChanges("kubernetes:core/v1:ConfigMap", { metadata: { name: "a" } }, { metadata: { name: "b" } }), ["metadata.name"]);
      assert.deepEqual(forcingChanges("hcloud:index/server:Server", { userData: "a", serverType: "cx22" }, { userData: "b", serverType: "cx32" }, ["userData"]), []);
      assert.deepEqual(forcingChanges("hcloud:index/firewall:Firewall", { rules: [1] }, { rules: [2] }), []);
      assert.deepEqual(forcingChanges("hcloud:index/firewallAttachment:FirewallAttachment", { firewallId: 1, serverIds: [2] }, { firewallId: 1, serverIds: [3] }), [], "a new server is attached in place");
      assert.deepEqual(forcingChanges("hcloud:index/firewallAttachment:FirewallAttachment", { firewallId: 1 }, { firewallId: 4 }), ["firewallId"]);
    });

    it("carries a replacement to whatever takes the replaced resource's id in a force-new input, and no further", () => {
      const key = (publicKey: string) => resource("hcloud:index/sshKey:SshKey", "edge", { publicKey });
      const dependsOn = ["urn:pulumi:edge::homelab::homelab:edge:Vps$hcloud:index/sshKey:SshKey::edge"];
      const server = resource("hcloud:index/server:Server", "edge", { sshKeys: [fakeIdOf("hcloud:index/sshKey:SshKey", "edge")], serverType: "cx23" }, { dependsOn });
      const firewall = resource("hcloud:index/firewall:Firewall", "edge", { rules: [] }, { dependsOn });
      const d = diffStack("edge", [key("a"), server, firewall], [key("b"), server, firewall]);
      assert.deepEqual(d.replaced.map((r) => [r.key, r.causes]), [
        ["hcloud:index/server:Server::edge", ["sshKeys (takes the new id of hcloud:index/sshKey:SshKey::edge)"]],
        ["hcloud:index/sshKey:SshKey::edge", ["publicKey"]],
      ]);
      assert.equal(d.unchanged, 1, "the firewall only depends on it");
    });

    it("replaces everything a provider manages when the provider is replaced (a new cluster context), and nothing else", () => {
      const provider = (context: string) => resource("pulumi:providers:kubernetes", "cluster", { context });
      const managed = { provider: "urn:pulumi:home::homelab::pulumi:pulumi:Stack$pulumi:providers:kubernetes::cluster" };
      const ns = resource("kubernetes:core/v1:Namespace", "apps", { metadata: { name: "apps" } }, managed);
      const chart = resource("kubernetes:helm.sh/v4:Chart", "cilium", { chart: "cilium" }, managed);
      const elsewhere = resource("kubernetes:core/v1:Namespace", "other", { metadata: { name: "other" } }, { provider: "urn:pulumi:home::homelab::pulumi:providers:kubernetes::other" });
      const d = diffStack("home", [provider("old"), ns, chart, elsewhere], [provider("new"), ns, chart, elsewhere]);
      assert.deepEqual(d.replaced.map((r) => [r.key, r.causes]), [
        ["kubernetes:core/v1:Namespace::apps", ["its provider pulumi:providers:kubernetes::cluster is replaced"]],
        ["kubernetes:helm.sh/v4:Chart::cilium", ["its provider pulumi:providers:kubernetes::cluster is replaced"]],
        ["pulumi:providers:kubernetes::cluster", ["context"]],
      ]);
      assert.equal(diffStack("home", [provider("same"), ns], [provider("same"), ns]).replaced.length, 0);
    });

    it("calls the deletion of the VPS and its primary IP a deletion of state", () => {
      const server = resource("hcloud:index/server:Server", "edge", { serverType: "cx23" });
      const ip = resource("hcloud:index/primaryIp:PrimaryIp", "edge-ipv4", { type: "ipv4" });
      const d = diffStack("edge", [server, ip], []);
      assert.deepEqual(d.deleted.map((f) => f.key).sort(), ["hcloud:index/primaryIp:PrimaryIp::edge-ipv4", "hcloud:index/server:Server::edge"]);
      assert.deepEqual(d.kept, []);
    });
  });
});
