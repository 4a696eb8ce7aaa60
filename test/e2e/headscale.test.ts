import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { ConfigError, parseHomeConfig, SUBNET_ROUTER_USER, TailnetConfig } from "../../components/config/schema";
import { HEADSCALE_PATHS, renderTailnetPolicy, TAILSCALE_DERP_MAP } from "../../components/home/headscaleConfig";
import { renderBootstrapScript } from "../../components/home/tailnetBootstrap";
import { OfflineRun } from "../../tools/offline/engine";
import { planStacks } from "../../tools/offline/planStacks";
import { headscaleCalls, writeKubectlStandIn } from "../home/fixtures/kubectlStandIn";
import { validHomeRaw } from "../support/fixtures";
import { resourceOf, runEdge, runHome } from "../support/offline";
import { Netns, requireRealTools, run, tryRun } from "../support/realTools";
import { secondsUntil } from "./support";

const TOOLS = ["headscale", "go", "ip", "curl", "jq", "sh", "openssl"];

/**
 * One Headscale, the pinned release built by scripts/install-system-tools, in a network namespace of its own with only
 * loopback. The rendered files are used byte for byte: a private mount namespace binds scratch directories onto the
 * paths the config names (/etc/headscale, /var/lib/headscale, /var/run/headscale), as the pod's volumes do. Every
 * command, `serve` and the CLI alike, runs through one wrapper script, which the bootstrap's kubectl stand-in execs.
 */
class HeadscaleHost {
  readonly dir = mkdtempSync(join(tmpdir(), "headscale-e2e-"));
  readonly netns = new Netns();
  /** `wrapper ARGS` runs `headscale ARGS` in the namespace, with the pod's mounts. */
  readonly wrapper = join(this.dir, "headscale-in-pod");
  private server?: ChildProcess;
  private readonly log = join(this.dir, "serve.log");

  /** `etcHosts` replaces /etc/hosts inside the namespace; `env` is added to Headscale's environment. */
  constructor(
    readonly config: string,
    policy: string,
    { env = {}, etcHosts }: { env?: Record<string, string>; etcHosts?: string } = {},
  ) {
    const volumes = { config: join(this.dir, "config"), data: join(this.dir, "data"), socketDir: join(this.dir, "socket") };
    for (const dir of Object.values(volumes)) mkdirSync(dir, { recursive: true });
    writeFileSync(join(volumes.config, "config.yaml"), config);
    writeFileSync(join(volumes.config, "policy.json"), policy);
    const mounts: [string, string][] = (Object.keys(volumes) as (keyof typeof volumes)[]).map((k) => [volumes[k], HEADSCALE_PATHS[k]]);
    if (etcHosts !== undefined) {
      writeFileSync(join(this.dir, "hosts"), etcHosts);
      mounts.push([join(this.dir, "hosts"), "/etc/hosts"]);
    }
    const binds = mounts.map(([from, to]) => `mount --bind '${from}' '${to}'`).join(" && ");
    const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}'; `).join("");
    writeFileSync(this.wrapper, `#!/bin/sh\nexec ip netns exec ${this.netns.name} sh -c '${exports}${binds.replace(/'/g, `'\\''`)} && exec headscale "$@"' headscale "$@"\n`);
    chmodSync(this.wrapper, 0o755);
  }

  /** Runs the CLI (or configtest) to completion. */
  cli(args: string[]) {
    return tryRun(this.wrapper, args);
  }

  /** Starts `headscale serve`; resolves once /health answers, or rejects with Headscale's own log when it exits first. */
  async serve(limitSeconds = 60): Promise<void> {
    const out = openSync(this.log, "w");
    const server = spawn(this.wrapper, ["serve"], { stdio: ["ignore", out, out], detached: true });
    this.server = server;
    let exited: number | null | undefined;
    server.on("exit", (code) => (exited = code));
    const port = new URL(`http://${parse(this.config).listen_addr}`).port;
    const healthy = await secondsUntil(() => exited !== undefined || this.netns.tryExec("curl", ["-sf", "-m", "2", `http://127.0.0.1:${port}/health`]).status === 0, limitSeconds);
    if (exited !== undefined || healthy === undefined) throw new Error(`headscale serve ${exited !== undefined ? `exited ${exited}` : "never became healthy"}:\n${this.serveLog()}`);
  }

  private serveLog(): string {
    return existsSync(this.log) ? readFileSync(this.log, "utf8") : "";
  }

  /** Stops Headscale and everything else in its namespace, and removes its files. */
  stop(): void {
    if (this.server?.pid && this.server.exitCode === null) {
      try {
        process.kill(-this.server.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    this.netns.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The directories the config names, created (empty) as mount points when this machine lacks them, and removed after. */
function createMountPoints(): string[] {
  const created = Object.values(HEADSCALE_PATHS).filter((path) => !existsSync(path));
  for (const path of created) mkdirSync(path, { recursive: true });
  return created;
}

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
        const script = renderBootstrapScript({ headscaleNamespace: "headscale", headscalePod: "headscale-0", user: SUBNET_ROUTER_USER, secretNamespace: "tailnet-router", secretName: "subnet-router-authkey", retrySeconds: 1 });
        const runScript = () => tryRun("sh", ["-c", `PATH='${kube}':$PATH exec sh -s`], script);
        const cliJson = (args: string[]) => JSON.parse(run(h.wrapper, [...args, "--output", "json"]) || "null");

        const first = runScript();
        assert.equal(first.status, 0, `${first.stdout}${first.stderr}`);
        assert.match(first.stdout, /wrote the router's key/);
        assert.equal(first.stderr, "", "the fresh server lists its users as null, which the script reads without an error (D8)");
        const users = (cliJson(["users", "list"]) ?? []).filter((u: { name: string }) => u.name === SUBNET_ROUTER_USER);
        assert.equal(users.length, 1, "one user");
        const key = readFileSync(join(kube, "secret"), "utf8");
        assert.match(key, /^hskey-auth-/, "the key Headscale printed at creation is in the Secret");
        const keys = () => (cliJson(["preauthkeys", "list"]) ?? []) as unknown[];
        assert.equal(keys().length, 1, "one key");

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
    const checkOf = (tailnet: TailnetConfig) => {
      try {
        parseHomeConfig({ ...validHomeRaw(), tailnet: JSON.stringify(tailnet) });
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message;
      }
      assert.fail("the program's check let it through");
    };
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

    it("an unknown user: Headscale loads it and the rule silently matches no one, so only the program's check catches it", () => {
      const tailnet = { ...base, groups: { admins: ["carol"] } };
      assert.match(checkOf(tailnet), /tailnet\.groups\.admins\[0\]: "carol" is not a user; tailnet\.users lists alice/);
      const result = host(plan.derpOn.artifacts["headscale-config.yaml"], policyOf(tailnet)).cli(["configtest"]);
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    });
  });
});
