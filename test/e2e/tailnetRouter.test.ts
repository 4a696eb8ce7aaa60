import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { OfflineRun } from "../../tools/offline/engine";
import { planStacks } from "../../tools/offline/planStacks";
import { createMountPoints, HeadscaleHost } from "../home/fixtures/headscaleHost";
import { runBootstrapScript, writeKubectlStandIn } from "../home/fixtures/kubectlStandIn";
import { Netns, requireRealTools, run } from "../support/realTools";
import { RouterPod } from "./routerPod";
import { secondsUntil } from "./support";

const TOOLS = ["headscale", "containerboot", "tailscaled", "tailscale", "ip", "curl", "jq", "sh", "openssl"];

describe("the subnet router, run as its pod runs it, registers with the real Headscale", function () {
  this.timeout(180000);
  let home: OfflineRun;
  let work: string;
  let headscale: HeadscaleHost | undefined;
  let peer: Netns | undefined;
  let mountPoints: string[] = [];
  let cleanup = () => undefined as void;

  before(async function () {
    requireRealTools(this, TOOLS, true);
    home = (await planStacks(["edge", "home"])).stacks[1].run;
    work = mkdtempSync(join(tmpdir(), "tailnet-router-e2e-"));
  });
  after(() => {
    headscale?.stop();
    peer?.delete();
    cleanup();
    mountPoints.reverse().forEach((path) => rmdirSync(path));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("containerboot with the planned environment logs in with the bootstrap's key, advertises the LAN, the policy approves it, and a new pod is the same node", async () => {
    mountPoints = createMountPoints();

    // Headscale with the plan's config and policy, and the router's key from the bootstrap Job's script.
    headscale = new HeadscaleHost(home.artifacts["headscale-config.yaml"], home.artifacts["tailnet-policy.json"]);
    await headscale.serve();
    const kube = join(work, "kube");
    mkdirSync(kube);
    writeKubectlStandIn(kube, headscale.wrapper);
    const bootstrap = runBootstrapScript(kube, 1);
    assert.equal(bootstrap.status, 0, bootstrap.stderr);
    const authKey = readFileSync(join(kube, "secret"), "utf8");

    // Traefik cannot be built with `go install`: a TLS terminator on 443 stands in for it, forwarding to Headscale's
    // listen port as Traefik's route does. /etc/hosts points the server_url's host at it, and its self-signed certificate
    // takes the place of the image's CA bundle, as the public chain is trusted there.
    const config = parse(home.artifacts["headscale-config.yaml"]);
    const serverHost = new URL(config.server_url).hostname;
    const [cert, key] = [join(work, "tls.pem"), join(work, "tls.key")];
    run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=${serverHost}`, "-addext", `subjectAltName=DNS:${serverHost}`]);
    const listenPort = Number(config.listen_addr.split(":").pop());
    const terminator = `const fs = require("fs"), net = require("net");
require("tls").createServer({ key: fs.readFileSync(${JSON.stringify(key)}), cert: fs.readFileSync(${JSON.stringify(cert)}) }, (client) => {
  const upstream = net.connect(${listenPort}, "127.0.0.1");
  client.pipe(upstream).pipe(client);
  upstream.on("error", () => client.destroy());
  client.on("error", () => upstream.destroy());
}).listen(443, "127.0.0.1");`;
    spawn("ip", ["netns", "exec", headscale.netns.name, process.execPath, "-e", terminator], { stdio: "ignore", detached: true }).unref();
    const terminated = await secondsUntil(() => headscale!.netns.tryExec("curl", ["-sf", "--cacert", cert, "--resolve", `${serverHost}:443:127.0.0.1`, `${config.server_url}/health`]).status === 0, 20);
    assert.ok(terminated !== undefined, "the TLS terminator never answered");

    const router = new RouterPod(home, headscale.netns, work, { authKey, etcHosts: `127.0.0.1 ${serverHost}\n`, caCert: cert });
    cleanup = () => router.cleanup();
    assert.equal(router.pod.automountServiceAccountToken, false, "no token, as in the cluster");
    const env = router.env;
    // tailscaled pauses its control client while no interface but loopback is up. A veth to a second namespace of the
    // test's own, with a pod address and no default route, counts as up and still lets nothing leave the test.
    peer = new Netns();
    run("ip", ["-n", headscale.netns.name, "link", "add", "pod0", "type", "veth", "peer", "name", "node0", "netns", peer.name]);
    headscale.netns.exec("ip", ["address", "add", "10.42.0.30/24", "dev", "pod0"]);
    headscale.netns.exec("ip", ["link", "set", "pod0", "up"]);
    peer.exec("ip", ["link", "set", "node0", "up"]);
    const startPod = (n: number) => router.start(n);
    const healthPort = router.healthPort;
    const healthy = () => headscale!.netns.tryExec("curl", ["-sf", `http://127.0.0.1:${healthPort}/healthz`]).status === 0;

    const lan = router.lan;
    type Node = { id: number; name: string; user?: { name: string }; available_routes?: string[]; approved_routes?: string[] };
    const nodes = (): Node[] => JSON.parse(run(headscale!.wrapper, ["nodes", "list", "--output", "json"]) || "null") ?? [];
    const routerNode = () => nodes().find((n) => n.name === env.TS_HOSTNAME);

    const first = startPod(1);
    const approved = await secondsUntil(() => first.exited !== undefined || (routerNode()?.approved_routes ?? []).includes(lan), 90);
    assert.equal(first.exited, undefined, `containerboot exited ${first.exited}:\n${first.log()}`);
    assert.ok(approved !== undefined, `the router's route was never approved:\n${first.log()}`);
    const node = routerNode()!;
    assert.equal(node.user?.name, "subnet-router", "registered as the router's user, which autoApprovers names");
    assert.deepEqual(node.available_routes, [lan], "advertised exactly the LAN");
    assert.deepEqual(node.approved_routes, [lan], "approved by the policy, with no `nodes approve-routes`");
    assert.ok((await secondsUntil(healthy, 30)) !== undefined, "the pod's probe endpoint never answered");

    // A new pod on the same claim: the key is spent (single use), and the node's own state brings the same node back.
    first.stop();
    await first.done;
    const second = startPod(2);
    const backUp = await secondsUntil(() => second.exited !== undefined || healthy(), 60);
    assert.equal(second.exited, undefined, `the restarted router exited ${second.exited}:\n${second.log()}`);
    assert.ok(backUp !== undefined, `the restarted router never became healthy:\n${second.log()}`);
    assert.deepEqual(nodes().map((n) => [n.id, n.name]), [[node.id, node.name]], "the same node, not a second registration");
  });
});
