import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

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

// npm_config_loglevel as `npm run -s plan:diff` leaves it for the npm commands the tool runs.
const runPlanDiff = (cwd: string, ...args: string[]) =>
  spawnSync(process.execPath, ["-r", join(ROOT, "node_modules/ts-node/register/transpile-only"), join(cwd, "tools/planDiff.ts"), ...args], { cwd, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: join(cwd, "tsconfig.json"), npm_config_loglevel: "silent" } });

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

// The tool end to end: npm run plan:diff in throwaway git repositories, planning both stacks twice per run (about
// 10 s each), which is why it runs in test:e2e and not in npm test.
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

    it("says in one line that a base which cannot plan cannot, and exits 3, even under npm run -s", () => {
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
