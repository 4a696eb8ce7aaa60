import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { requireRealTools, run } from "../support/realTools";

const ROOT = resolve(__dirname, "../..");

/** A scratch copy of the project's config files, so a test can break one. */
function scratchProject(edit?: (pulumiYaml: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "plan-"));
  for (const file of ["Pulumi.yaml", "Pulumi.edge.yaml", "Pulumi.home.yaml"]) copyFileSync(join(ROOT, file), join(dir, file));
  if (edit) writeFileSync(join(dir, "Pulumi.yaml"), edit(readFileSync(join(dir, "Pulumi.yaml"), "utf8")));
  return dir;
}

/** Every file below a directory, as sorted relative paths. */
function filesUnder(root: string, prefix = ""): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(root, join(prefix, entry.name)) : [join(prefix, entry.name)]))
    .sort();
}

function plan(cwd: string, ...args: string[]) {
  return planWith([], cwd, ...args);
}

/** Runs the plan CLI with extra modules preloaded. */
function planWith(preload: string[], cwd: string, ...args: string[]) {
  const register = join(ROOT, "node_modules/ts-node/register/transpile-only");
  return spawnSync(process.execPath, ["-r", register, ...preload.flatMap((p) => ["-r", p]), join(ROOT, "tools/plan.ts"), ...args], { cwd, encoding: "utf8", env: { ...process.env, TS_NODE_PROJECT: join(ROOT, "tsconfig.json") } });
}

describe("npm run plan", function () {
  this.timeout(120000);
  let dir: string;
  let first: ReturnType<typeof plan>;

  before(() => {
    dir = scratchProject();
    first = plan(dir);
  });

  it("plans both stacks and prints the tree grouped by component, with counts", () => {
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /== edge ==\npulumi:pulumi:Stack homelab-edge {2}\(3 children\)/);
    assert.match(first.stdout, /^ {2}homelab:edge:Vps edge {2}\(7 children\)$/m);
    assert.match(first.stdout, /hcloud:index\/server:Server edge {2}\(delete before replace; ignores userData\)/);
    assert.match(first.stdout, /^\d+ resources:$/m);
    assert.match(first.stdout, /== home ==\npulumi:pulumi:Stack homelab-home {2}\(\d+ children\)\n/);
    assert.match(first.stdout, /^ {2}homelab:home:TunnelGateway tunnel-gateway {2}\(\d+ children\)$/m);
    assert.match(first.stdout, /^ {2}pulumi:pulumi:StackReference edge$/m);
  });

  it("says which operator-set secrets it planned with a stand-in, and how to set them for real", () => {
    assert.match(first.stdout, /^planned with a stand-in for homelab:sshPrivateKey, which edge does not set: before a real deploy, pulumi config set --stack edge --secret sshPrivateKey$/m);
    // The example's qbittorrent reads its VPN credentials from a Secret whose keys no committed file can hold.
    const home = [...first.stdout.matchAll(/^planned with a stand-in for (\S+), which home does not set: before a real deploy, (.*)$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(home, ["wireguard_private_key", "wireguard_addresses"].map((key) => [`homelab:appSecrets.qbittorrent-vpn.${key}`, `pulumi config set --stack home --secret --path 'appSecrets.qbittorrent-vpn.${key}' <value>`]));
  });

  it("plans the example's placeholder values, and lists each as one a real deploy refuses", () => {
    assert.match(first.stdout, /^example values a real preview or deploy of home refuses until they are your own:\n {2}- homelab:acmeEmail: "admin@example\.com", a name reserved for examples/m);
    assert.match(first.stdout, /^ {2}- homelab:adminCidrs\[0\]: "198\.51\.100\.0\/24", a documentation address range, routed nowhere$/m);
  });

  it("advises on what the example deploys without: its monitoring entry alerts no one until a receiver is set", () => {
    assert.match(first.stdout, /^advice for home: homelab:alertReceivers: no receiver is set, so the alerts .* reach no one; add one \(README: Alerting\)$/m);
    assert.doesNotMatch(first.stdout, /^advice for edge/m);
  });

  it("runs the policy pack over each stack and writes the pack config the catalog implies", () => {
    assert.match(first.stdout, /policy pack \(edge\): 0 mandatory violation\(s\), 0 other finding\(s\)/);
    assert.match(first.stdout, /policy pack \(home\): 0 mandatory violation\(s\), 9 other finding\(s\)\n\[advisory\] k8s-exemptions\n/);
    const packConfig = JSON.parse(readFileSync(join(dir, "out/policy-config.json"), "utf8"));
    assert.deepEqual(packConfig["edge-firewall-allowed-ports"], { tcp: [80, 443], udp: [51820, 3478] });
  });

  it("writes every artifact and resources.json under out/<stack>/", () => {
    assert.deepEqual(readdirSync(join(dir, "out/edge")).sort(), ["apply.sh", "cloud-init.yaml", "dns-records.txt", "nftables.conf", "outputs.json", "policy.json", "resources.json", "sshd-10-homelab.conf", "wg-derp.conf", "wg-gateway.conf", "wg0.conf"]);
    const home = JSON.parse(readFileSync(join(dir, "out/home/outputs.json"), "utf8"));
    assert.equal(home.tunnelGatewayAddress, "10.10.10.2", "home read the edge plan's outputs");
  });

  it("masks every secret in resources.json and outputs.json", () => {
    const resources = readFileSync(join(dir, "out/edge/resources.json"), "utf8");
    const outputs = readFileSync(join(dir, "out/edge/outputs.json"), "utf8");
    for (const file of ["wg0.conf", "wg-gateway.conf", "wg-derp.conf"]) {
      const privateKey = /PrivateKey = (\S+)/.exec(readFileSync(join(dir, "out/edge", file), "utf8"))![1];
      assert.ok(!resources.includes(privateKey), `${file}'s private key is in resources.json`);
      assert.ok(!outputs.includes(privateKey), `${file}'s private key is in outputs.json`);
    }
    const server = JSON.parse(resources).find((r: { type: string }) => r.type === "hcloud:index/server:Server");
    assert.match(server.inputs.userData, /^\[secret [0-9a-f]{8}\]$/);
    assert.match(JSON.parse(outputs).acmeDnsToken, /^\[secret [0-9a-f]{8}\]$/);
  });

  it("is byte-identical when planned twice", () => {
    const again = mkdtempSync(join(tmpdir(), "plan-again-"));
    const second = plan(dir, "--out", again);
    assert.equal(second.status, 0, second.stderr);
    const files = filesUnder(join(dir, "out"));
    assert.deepEqual(filesUnder(again), files);
    assert.ok(files.length > 30);
    for (const file of files) assert.equal(readFileSync(join(again, file), "utf8"), readFileSync(join(dir, "out", file), "utf8"), file);
  });

  it("writes every home Kubernetes object as YAML and each chart with its values", () => {
    const manifests = filesUnder(join(dir, "out/home/manifests"));
    assert.ok(manifests.includes("edge-tunnel/Deployment-tunnel-gateway.yaml"), manifests.join(", "));
    assert.ok(manifests.includes("_cluster/CiliumLoadBalancerIPPool-lan.yaml"));
    assert.deepEqual(filesUnder(join(dir, "out/home/charts")), ["cert-manager.yaml", "cilium.yaml", "monitoring-blackbox.yaml", "monitoring.yaml", "reflector.yaml", "traefik.yaml"]);
    assert.equal(readFileSync(join(dir, "out/home/gateway-wg0.conf"), "utf8"), readFileSync(join(dir, "out/edge/wg-gateway.conf"), "utf8"));
    assert.match(readFileSync(join(dir, "out/home/charts/cilium.yaml"), "utf8"), /kubeProxyReplacement: true/);
    assert.match(readFileSync(join(dir, "out/home/manifests/edge-tunnel/Secret-gateway-wireguard.yaml"), "utf8"), /wg0\.conf: "\[secret\]"/);
  });

  it("writes a haproxy.cfg that the real haproxy accepts with zero warnings", function () {
    requireRealTools(this, ["haproxy"]);
    run("haproxy", ["-c", "-dW", "-f", join(dir, "out/home/haproxy.cfg")]);
  });

  it("writes a ruleset that the real nft accepts", function () {
    requireRealTools(this, ["nft"], true);
    run("nft", ["-c", "-f", join(dir, "out/edge/nftables.conf")]);
  });

  it("plans one stack with --stack", () => {
    const out = mkdtempSync(join(tmpdir(), "plan-edge-"));
    const result = plan(dir, "--stack", "edge", "--out", out);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readdirSync(out).sort(), ["edge", "policy-config.json"]);
  });

  it("exits 2 with the clear error on invalid config, writing nothing", () => {
    const broken = scratchProject((text) => text.replace("default: 1420", "default: 9000"));
    const result = plan(broken);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Invalid configuration:\n {2}- homelab:tunnelMtu: 9000 must be between 1280 and 1420/);
    assert.deepEqual(readdirSync(broken).sort(), ["Pulumi.edge.yaml", "Pulumi.home.yaml", "Pulumi.yaml"]);
  });

  it("checks across the stacks that every forwarded port has a listener", () => {
    assert.match(first.stdout, /across edge and home: every forwarded port \(tcp and udp\) has a listener, every tunnel route its CNAME and every CNAME a route/);
  });

  it("fails, naming the rules, when a workload breaks the policy pack", () => {
    const result = planWith([join(ROOT, "test/support/injectBadWorkload.ts")], dir, "--out", mkdtempSync(join(tmpdir(), "plan-bad-")));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /\[mandatory\] k8s-image-pinned\n {2}- container "app" uses unpinned image "nginx:latest"/);
    assert.match(result.stdout, /\[mandatory\] k8s-not-default-namespace/);
    assert.match(result.stderr, /mandatory policy violation\(s\)/);
  });

  it("refuses an unknown argument", () => {
    const result = plan(dir, "--stack", "prod");
    assert.equal(result.status, 2);
    assert.match(result.stderr, /usage: npm run plan/);
  });
});
