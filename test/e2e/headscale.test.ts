import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { ConfigError, parseHomeConfig, SUBNET_ROUTER_USER, TailnetConfig } from "../../components/config/schema";
import { renderTailnetPolicy, TAILSCALE_DERP_MAP } from "../../components/home/headscaleConfig";
import { OfflineRun } from "../../tools/offline/engine";
import { planStacks } from "../../tools/offline/planStacks";
import { createMountPoints, HeadscaleHost } from "../home/fixtures/headscaleHost";
import { headscaleCalls, runBootstrapScript, writeKubectlStandIn } from "../home/fixtures/kubectlStandIn";
import { validHomeRaw } from "../support/fixtures";
import { resourceOf, runEdge, runHome } from "../support/offline";
import { requireRealTools, run } from "../support/realTools";
import { secondsUntil } from "./support";

const TOOLS = ["headscale", "go", "ip", "curl", "jq", "sh", "openssl"];

describe("Headscale, the pinned release, runs the rendered config and policy", function () {
  this.timeout(180000);
  let plan: { derpOn: OfflineRun; derpOff: OfflineRun };
  let mountPoints: string[] = [];
  const hosts: HeadscaleHost[] = [];
  const host = (config: string, policy: string, options?: ConstructorParameters<typeof HeadscaleHost>[2]) => {
    const h = new HeadscaleHost(config, policy, options);
    hosts.push(h);
    return h;
  };

  before(async function () {
    requireRealTools(this, TOOLS, true);
    mountPoints = createMountPoints();
    const project = await planStacks(["edge", "home"]);
    plan = { derpOn: project.stacks[1].run, derpOff: await runHome({ derp: "false" }, await runEdge({ derp: "false" })) };
    assert.equal(parse(plan.derpOn.artifacts["headscale-config.yaml"]).derp.server.enabled, true, "the project's plan runs DERP");
  });
  afterEach(() => hosts.splice(0).forEach((h) => h.stop()));
  after(() => mountPoints.reverse().forEach((path) => rmdirSync(path)));

  const files = (run: OfflineRun) => [run.artifacts["headscale-config.yaml"], run.artifacts["tailnet-policy.json"]] as const;

  it("is the release the StatefulSet's image pins", () => {
    const pod = (resourceOf(plan.derpOn, "kubernetes:apps/v1:StatefulSet", "headscale").inputs.spec as any).template.spec;
    const pinned = /:v(\d+\.\d+\.\d+)$/.exec(pod.containers[0].image)![1];
    // The tool script builds from a scratch module, so `headscale version` says "dev"; the build info names the module.
    const headscale = run("sh", ["-c", "command -v headscale"]).trim();
    const module = /^\s*(?:mod|dep)\s+github\.com\/juanfont\/headscale\s+(\S+)/m.exec(run("go", ["version", "-m", headscale]))?.[1];
    assert.equal(module, `v${pinned}`, `${headscale} is built from Headscale ${module}; rerun scripts/install-system-tools`);
  });

  for (const mode of ["derpOn", "derpOff"] as const) {
    it(`configtest accepts the plan's config and policy (${mode === "derpOn" ? "DERP on" : "DERP off"})`, () => {
      const result = host(...files(plan[mode])).cli(["configtest"]);
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
      // Removed keys are fatal (randomize_client_port from 0.29); renamed ones only warn (ephemeral_node_inactivity_timeout).
      assert.doesNotMatch(`${result.stdout}${result.stderr}`, /deprecated|removed/i);
    });
  }

  it("with DERP on, starts and serves /health on the plan's listen address", async () => {
    const h = host(...files(plan.derpOn));
    await h.serve();
    const port = new URL(`http://${parse(h.config).listen_addr}`).port;
    assert.equal(h.netns.exec("curl", ["-s", `http://127.0.0.1:${port}/health`]).trim(), '{"status":"pass"}');
  });

  describe("with DERP off, Headscale needs Tailscale's DERP map at start", () => {
    const mapHost = new URL(TAILSCALE_DERP_MAP).hostname;

    it("and exits when it cannot fetch it (D3: why its namespace may reach that one host)", async () => {
      const h = host(...files(plan.derpOff));
      await assert.rejects(h.serve(20), /exited[\s\S]*DERP/i);
    });

    it(`starts once ${mapHost}:443 answers, as the headscale-derp-map egress policy allows`, async () => {
      // Stands in for Tailscale's control plane, which the test may not reach: /etc/hosts points the map's host at a
      // local HTTPS server whose self-signed certificate Headscale is told to trust (SSL_CERT_FILE). The config is the plan's.
      const tls = mkdtempSync(join(tmpdir(), "derp-map-"));
      try {
        const [cert, key] = [join(tls, "map.pem"), join(tls, "map.key")];
        run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=${mapHost}`, "-addext", `subjectAltName=DNS:${mapHost}`]);
        const h = host(...files(plan.derpOff), { etcHosts: `127.0.0.1 ${mapHost}\n`, env: { SSL_CERT_FILE: cert } });
        const derpMap = { Regions: { 900: { RegionID: 900, RegionCode: "standin", RegionName: "Stand-in for Tailscale's map", Nodes: [{ Name: "900a", RegionID: 900, HostName: "derp.standin.invalid" }] } } };
        const server = `const fs = require("fs");
require("https").createServer({ key: fs.readFileSync(${JSON.stringify(key)}), cert: fs.readFileSync(${JSON.stringify(cert)}) }, (req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(req.url === ${JSON.stringify(new URL(TAILSCALE_DERP_MAP).pathname)} ? ${JSON.stringify(JSON.stringify(derpMap))} : "{}");
}).listen(443, "127.0.0.1");`;
        // Runs in the namespace, so deleting the namespace (afterEach) stops it.
        spawn("ip", ["netns", "exec", h.netns.name, process.execPath, "-e", server], { stdio: "ignore", detached: true }).unref();
        const listening = await secondsUntil(() => h.netns.tryExec("curl", ["-sf", "--cacert", cert, "--resolve", `${mapHost}:443:127.0.0.1`, TAILSCALE_DERP_MAP]).status === 0, 20);
        assert.ok(listening !== undefined, "the stand-in never listened");
        await h.serve();
      } finally {
        rmSync(tls, { recursive: true, force: true });
      }
    });
  });

  describe("the bootstrap Job's script, against the real CLI through the kubectl stand-in", () => {
    it("creates the router's user and one key, and nothing on a rerun", async () => {
      const h = host(...files(plan.derpOn));
      await h.serve();
      const kube = mkdtempSync(join(tmpdir(), "bootstrap-e2e-"));
      try {
        writeKubectlStandIn(kube, h.wrapper);
        const runScript = () => runBootstrapScript(kube, 1);
        const cliJson = (args: string[]) => JSON.parse(run(h.wrapper, [...args, "--output", "json"]) || "null");

        const first = runScript();
        assert.equal(first.status, 0, `${first.stdout}${first.stderr}`);
        assert.match(first.stdout, /wrote the router's key/);
        assert.equal(first.stderr, "", "the fresh server lists its users as null, which the script reads without an error (D8)");
        const users = (cliJson(["users", "list"]) ?? []).filter((u: { name: string }) => u.name === SUBNET_ROUTER_USER);
        assert.equal(users.length, 1, "one user");
        const key = readFileSync(join(kube, "secret"), "utf8");
        assert.match(key, /^hskey-auth-/, "the key Headscale printed at creation is in the Secret");
        const keys = () => (cliJson(["preauthkeys", "list"]) ?? []) as { reusable?: boolean; expiration: { seconds: number } }[];
        assert.equal(keys().length, 1, "one key");
        const [minted] = keys();
        assert.notEqual(minted.reusable, true, "single-use: whoever reads the Secret later cannot register another node with it");
        const hoursLeft = (minted.expiration.seconds - Date.now() / 1000) / 3600;
        assert.ok(hoursLeft > 23 && hoursLeft <= 24, `expires in a day, not in ${hoursLeft.toFixed(1)} hours`);

        const cliCallsBefore = headscaleCalls(kube).length;
        const second = runScript();
        assert.equal(second.status, 0, `${second.stdout}${second.stderr}`);
        assert.match(second.stdout, /already holds the router's key/);
        assert.equal(headscaleCalls(kube).length, cliCallsBefore, "the rerun never ran the Headscale CLI");
        assert.equal(keys().length, 1, "still one key");
        assert.equal(readFileSync(join(kube, "secret"), "utf8"), key);
      } finally {
        rmSync(kube, { recursive: true, force: true });
      }
    });
  });

  describe("a broken policy: the program's check refuses it, and here is what the pinned Headscale does with it", () => {
    const policyOf = (tailnet: TailnetConfig) => renderTailnetPolicy({ tailnet, lanCidr: "192.168.1.0/24", traefikAddress: "192.168.1.241" });
    const refusalOf = (tailnet: TailnetConfig) => {
      try {
        parseHomeConfig({ ...validHomeRaw(), tailnet: JSON.stringify(tailnet) });
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message;
      }
      return undefined;
    };
    const checkOf = (tailnet: TailnetConfig) => refusalOf(tailnet) ?? assert.fail("the program's check let it through");
    const base: TailnetConfig = { users: ["alice"], groups: { admins: ["alice"] }, hosts: { nas: "192.168.1.20/32" }, acls: [{ from: ["admins"], to: ["nas:445"] }] };
    const broken: { name: string; tailnet: TailnetConfig; program: RegExp; headscale: RegExp }[] = [
      { name: "a port above 65535", tailnet: { ...base, acls: [{ from: ["admins"], to: ["nas:70000"] }] }, program: /tailnet\.acls\[0\]\.to\[0\]: "nas:70000" has port 70000, outside 1-65535/, headscale: /port number out of range/ },
      { name: "a reversed port range", tailnet: { ...base, acls: [{ from: ["admins"], to: ["nas:500-400"] }] }, program: /"nas:500-400" has the range 500-400, whose first port is above its last/, headscale: /first port is greater than last port/ },
      { name: "port 0", tailnet: { ...base, acls: [{ from: ["admins"], to: ["nas:0"] }] }, program: /"nas:0" has port 0, outside 1-65535/, headscale: /first port must be >0/ },
      { name: "an unknown group", tailnet: { ...base, acls: [{ from: ["ops"], to: ["nas:445"] }] }, program: /tailnet\.acls\[0\]\.from\[0\]: "ops" is not a group/, headscale: /group not defined in policy: "group:ops"/ },
      { name: "an unknown host", tailnet: { ...base, acls: [{ from: ["admins"], to: ["printer:631"] }] }, program: /tailnet\.acls\[0\]\.to\[0\]: "printer" is not a host/, headscale: /host not defined in policy: "printer"/ },
    ];

    it("the valid base policy loads", () => {
      const result = host(plan.derpOn.artifacts["headscale-config.yaml"], policyOf(base)).cli(["configtest"]);
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    });

    for (const { name, tailnet, program, headscale } of broken) {
      it(`${name}: refused by the program, and by Headscale at start, which would crash-loop`, () => {
        assert.match(checkOf(tailnet), program);
        const result = host(plan.derpOn.artifacts["headscale-config.yaml"], policyOf(tailnet)).cli(["configtest"]);
        assert.notEqual(result.status, 0, "Headscale loaded it");
        assert.match(result.stderr, headscale);
      });
    }

    // The audit (D7) read db.CreateUser's ValidateUsername (two characters, a letter first), but `users create` goes
    // through gRPC to state.CreateUser, which saves the name unchecked (v0.29.3 hscontrol/state/state.go): the real
    // CLI decides here.
    it("a user name: the program takes exactly the names the real CLI can create", async () => {
      const h = host(...files(plan.derpOn));
      await h.serve();
      for (const name of ["al", "bob.smith", "x_y-2", "a", "1alice"]) {
        const programTakes = !refusalOf({ ...base, users: [name], groups: {}, acls: [] });
        const created = h.cli(["users", "create", name]);
        assert.equal(programTakes, created.status === 0, `${name}: the program ${programTakes ? "takes" : "refuses"} it; headscale users create: ${created.stdout}${created.stderr}`);
      }
    });

    it("an unknown user: Headscale loads it and the rule silently matches no one, so only the program's check catches it", () => {
      const tailnet = { ...base, groups: { admins: ["carol"] } };
      assert.match(checkOf(tailnet), /tailnet\.groups\.admins\[0\]: "carol" is not a user; tailnet\.users lists alice/);
      const result = host(plan.derpOn.artifacts["headscale-config.yaml"], policyOf(tailnet)).cli(["configtest"]);
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    });
  });
});
