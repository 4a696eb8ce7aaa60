import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fakeId as fakeIdOf } from "../../tools/offline/fakes";
import { forcingChanges } from "../../tools/offline/forceNew";
import { diffStack, differingPaths, PlannedResource } from "../../tools/offline/resourceDiff";

const ROOT = resolve(__dirname, "../..");

function sh(cwd: string, cmd: string, ...args: string[]) {
  const result = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  assert.equal(result.status, 0, `${cmd} ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A throwaway git repository holding this project's tracked files, committed once. */
function scratchRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "plan-diff-repo-"));
  // The working tree as it stands, untracked files included, so the copy plans the code under test.
  for (const file of sh(ROOT, "git", "ls-files", "--cached", "--others", "--exclude-standard").trim().split("\n").filter((f) => existsSync(join(ROOT, f)))) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  sh(dir, "git", "init", "-q");
  commitAll(dir, "base");
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

const runPlanDiff = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, ["-r", join(ROOT, "node_modules/ts-node/register/transpile-only"), join(cwd, "tools/planDiff.ts"), ...args], { cwd, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: join(cwd, "tsconfig.json") } });

function planDiff(cwd: string, ...args: string[]) {
  const result = runPlanDiff(cwd, ...args);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

const commitAll = (dir: string, message: string) => {
  sh(dir, "git", "-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A");
  sh(dir, "git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", message);
};

const edit = (file: string, from: string | RegExp, to: string) => {
  const text = readFileSync(file, "utf8");
  const next = text.replace(from, to);
  assert.notEqual(next, text, `nothing to replace in ${file}`);
  writeFileSync(file, next);
};

describe("npm run plan:diff", function () {
  this.timeout(120000);
  let repo: string;
  before(() => {
    repo = scratchRepo();
  });

  it("says in words that nothing changes when the tree is the base", () => {
    const out = planDiff(repo, "--base", "HEAD");
    assert.match(out, /^No changes: both plans are identical \(edge: \d+ resources, home: \d+ resources\)\.$/m);
  });

  it("shows a service added, a port changed and a resource removed, with secrets masked", () => {
    edit(join(repo, "Pulumi.yaml"), "  services:\n    value:\n", "  services:\n    value:\n      - name: wiki\n        hostname: wiki.example.com\n        exposure: public\n        port: 3000\n        image: ghcr.io/example/wiki:2.5.1\n");
    edit(join(repo, "Pulumi.edge.yaml"), "homelab:sshPort: 22022", "homelab:sshPort: 22023");
    edit(join(repo, "Pulumi.yaml"), /derp:\n(\s+)type: boolean\n(\s+)description: (.*)\n(\s+)default: true/, "derp:\n$1type: boolean\n$2description: $3\n$4default: false");
    const out = planDiff(repo, "--base", "HEAD");
    assert.match(out, /^\+ cloudflare:index\/dnsRecord:DnsRecord::dns-cname-wiki\.example\.com$/m);
    assert.match(out, /^- random:index\/randomBytes:RandomBytes::tunnel-derp-key$/m);
    assert.match(out, /^~ hcloud:index\/firewall:Firewall::edge$/m);
    assert.match(out, /inputs\.rules: - \{[^}]*"port":"22022"/);
    assert.match(out, /inputs\.rules: \+ \{[^}]*"port":"22023"/);
    assert.match(out, /inputs\.rules: - \{[^}]*"port":"3478"/);
    assert.match(out, /~ hcloud:index\/server:Server::edge\n(\s{4}.*\n)*?\s{4}inputs\.userData: "\[secret [0-9a-f]{8}\]" => "\[secret [0-9a-f]{8}\]"/, "the user-data changed, but only as masked values");
    assert.doesNotMatch(out, /PrivateKey = /);
    assert.match(out, /Policy verdicts on the new state:\n {2}edge: no mandatory violation/);
  });

  it("compares values by path, equal-length arrays by index, and others as what was removed and added", () => {
    assert.deepEqual(differingPaths({ a: [1, 2], b: { c: "x" } }, { a: [1, 3], b: { c: "x", d: true } }), [
      { path: "a[1]", before: 2, after: 3 },
      { path: "b.d", before: undefined, after: true },
    ]);
    assert.deepEqual(differingPaths({ r: ["x", "y", "z"] }, { r: ["x", "z"] }), [{ path: "r", before: "y", after: undefined }]);
  });

  describe("day two: replacements and data, read first", () => {
    let day2: string;
    before(() => {
      day2 = scratchRepo();
    });

    it("marks the VPS, its IPs, its SSH key and a re-classed claim as replaced, and keeps removed apps' data with the command that deletes it", () => {
      const catalog = join(day2, "Pulumi.yaml");
      edit(catalog, /\n      - name: navidrome\n[\s\S]*?(?=\n      - name: homepage\n)/, "");
      edit(catalog, /\n      - name: headscale\n[\s\S]*?(?=\n      # The monitoring stack)/, "");
      // DERP lives in Headscale's pod, so it goes with it.
      edit(catalog, /derp:\n(\s+)type: boolean\n(\s+)description: (.*)\n(\s+)default: true/, "derp:\n$1type: boolean\n$2description: $3\n$4default: false");
      edit(catalog, "            size: 10Gi\n", "            size: 10Gi\n            storageClass: fast-ssd\n");
      const stack = join(day2, "Pulumi.edge.yaml");
      edit(stack, /homelab:sshPublicKey: .*/, "homelab:sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJoZlr3crpz5akBY+Y3uP4PZ3Xw10SPqh1KPKsDcqafL operator@new-laptop");
      edit(stack, "homelab:vpsLocation: fsn1", "homelab:vpsLocation: nbg1");
      const out = planDiff(day2, "--base", "HEAD");
      const first = out.indexOf("Replaced, deleted with their data, and kept:");
      assert.ok(first >= 0 && first < out.search(/^edge: \d+ to add/m), `the state section comes before the detail:\n${out}`);
      assert.match(out, /^ {2}edge: REPLACE hcloud:index\/sshKey:SshKey::edge: publicKey forces a new resource$/m);
      assert.match(out, /^ {2}edge: REPLACE hcloud:index\/server:Server::edge: location, sshKeys \(takes the new id of hcloud:index\/sshKey:SshKey::edge\) forces a new resource; the VPS and its disk is deleted$/m);
      assert.match(out, /^ {2}edge: REPLACE hcloud:index\/primaryIp:PrimaryIp::edge-ipv4: location forces a new resource; the public ipv4 address is deleted$/m);
      assert.match(out, /^ {2}home: REPLACE kubernetes:core\/v1:PersistentVolumeClaim::jellyfin-config: spec\.storageClassName forces a new resource; retainOnDelete keeps the old one/m);
      assert.match(out, /^\+- hcloud:index\/server:Server::edge$/m, "the detail marks it too");
      // Nothing that holds data goes: the namespaces stay, with their claims, and say how to delete them on purpose.
      assert.doesNotMatch(out, /home: DELETE kubernetes:core\/v1:(PersistentVolumeClaim|Namespace)::/);
      assert.match(out, /^ {2}home: KEEP kubernetes:core\/v1:Namespace::namespace-navidrome: namespace navidrome holding PVC navidrome-data stays in the cluster; to delete it on purpose: kubectl delete namespace navidrome$/m);
      assert.match(out, /^ {2}home: KEEP kubernetes:core\/v1:Namespace::headscale: namespace headscale holding PVC headscale-data stays in the cluster; to delete it on purpose: kubectl delete namespace headscale$/m);
      assert.match(out, /^ {2}home: KEEP kubernetes:core\/v1:PersistentVolumeClaim::navidrome-data: .*; to delete it on purpose: kubectl delete persistentvolumeclaim -n navidrome navidrome-data$/m);
    });
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
  });

  describe("plans the base the base's own way", () => {
    let own: string;
    before(() => {
      own = scratchRepo();
    });

    it("runs the base's own npm run plan, whatever its plan script is", () => {
      // A base whose plan is another program: here one that plans two empty stacks, so everything planned now is new.
      const original = readFileSync(join(own, "package.json"), "utf8");
      writeFileSync(join(own, "tools/emptyPlan.js"), 'const fs = require("fs"), out = process.argv[3];\nfor (const s of ["edge", "home"]) { fs.mkdirSync(`${out}/${s}`, { recursive: true }); fs.writeFileSync(`${out}/${s}/resources.json`, "[]"); }\n');
      edit(join(own, "package.json"), '"plan": "ts-node --transpile-only tools/plan.ts"', '"plan": "node tools/emptyPlan.js"');
      commitAll(own, "a base that plans another way");
      writeFileSync(join(own, "package.json"), original);
      // In markdown too, which a PR comment shows; a cheap base keeps this test to one full plan.
      const markdown = planDiff(own, "--base", "HEAD", "--format", "markdown");
      assert.match(markdown, /^\+ hcloud:index\/server:Server::edge$/m);
      assert.match(markdown, /^### Plan diff against `HEAD`$/m);
      assert.match(markdown, /^#### edge: \d+ to add, 0 to change, 0 to replace, 0 to remove\n\n```diff\n/m);
    });

    it("says in one line that a base which cannot plan cannot, and exits 3", () => {
      const withPlan = readFileSync(join(own, "package.json"), "utf8");
      edit(join(own, "package.json"), /\n\s*"plan": "[^"]*",/, "");
      commitAll(own, "no plan script");
      writeFileSync(join(own, "package.json"), withPlan);
      const result = runPlanDiff(own, "--base", "HEAD");
      assert.equal(result.status, 3, result.stderr);
      assert.match(result.stderr, /^plan:diff: the base HEAD cannot plan: Missing script: "plan" \(exit 1\)\n$/);
    });
  });
});
