import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { parseHomeConfig, ServiceConfig } from "../../components/config/schema";
import { OfflineRun } from "../../tools/offline/engine";
import { planStacks } from "../../tools/offline/planStacks";
import { loadPlanConfig } from "../../tools/offline/stackConfig";
import { createMountPoints, HeadscaleHost } from "../home/fixtures/headscaleHost";
import { runBootstrapScript, writeKubectlStandIn } from "../home/fixtures/kubectlStandIn";
import { Netns, requireRealTools, run } from "../support/realTools";
import { PodRun, RouterPod } from "./routerPod";
import { secondsUntil, stunBinding, tcpGreeting } from "./support";
import { EdgeTopology, HEADSCALE_POD_LINK } from "./topology";

const TOOLS = ["headscale", "containerboot", "tailscaled", "tailscale", "derpprobe", "ip", "nft", "wg", "wg-quick", "wireguard-go", "haproxy", "nginx", "dnsmasq", "curl", "jq", "sh", "openssl", "/usr/sbin/sshd", "ssh-keygen"];

/** The home LAN in the test: the router pod's own address on it, Traefik's LB address, and the NAS the policy names. */
const LAN = { router: "192.168.1.30", nas: "192.168.1.20", nasPorts: [445, 22] };
/** The router pod's uplink: it reaches Headscale's public name the way a pod does, out of the home and back in through the VPS. */
const ROUTER_UPLINK = "203.0.113.253";

/** The catalog as the home stack parses it from the plan's config. */
function planCatalog(): ServiceConfig[] {
  const config = loadPlanConfig("home").config;
  return parseHomeConfig(Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("homelab:")).map(([k, v]) => [k.slice("homelab:".length), v]))).services;
}

/**
 * The tailnet end to end, every piece the real release where one can run here: the VPS's rendered ruleset and
 * WireGuard, the gateway's rendered haproxy.cfg, Headscale v0.29.3 with the plan's config and policy in the Headscale
 * pod's namespace (which also holds the derp peer), the subnet router as containerboot runs it from the planned pod,
 * and a remote tailscaled. Traefik cannot be built with `go install` (its go.mod has replace directives), so nginx
 * stands in for it behind the gateway: PROXY v2 and TLS on the tunnel entrypoint, Host routing to Headscale.
 */
describe("a remote Tailscale client joins through the public path and reaches the LAN through the subnet router", function () {
  this.timeout(180000);
  let home: OfflineRun;
  let topology: EdgeTopology;
  let headscale: HeadscaleHost;
  let router: RouterPod;
  let routerRun: PodRun;
  const extra: Netns[] = [];
  let mountPoints: string[] = [];
  let client: { socket: string; process: ChildProcess; log: string };
  let serverHost: string;
  let listenPort: number;
  const tailscale = (args: string[]) => topology.hosts.internet.tryExec("tailscale", ["--socket", client.socket, ...args]);
  const headscaleJson = (args: string[]) => JSON.parse(run(headscale.wrapper, [...args, "--output", "json"]) || "null") ?? [];
  const routerAddress = () => (headscaleJson(["nodes", "list"]) as { name: string; ip_addresses: string[] }[]).find((n) => n.name === router.env.TS_HOSTNAME)!.ip_addresses.find((ip) => !ip.includes(":"))!;

  before(async function () {
    requireRealTools(this, TOOLS, true);
    const plan = await planStacks(["edge", "home"]);
    const edge = plan.stacks[0].run;
    home = plan.stacks[1].run;
    const config = parse(home.artifacts["headscale-config.yaml"]);
    serverHost = new URL(config.server_url).hostname;
    listenPort = Number(config.listen_addr.split(":").pop());
    topology = new EdgeTopology(edge, home, { headscale: { hostname: serverHost, upstream: `${HEADSCALE_POD_LINK.headscale}:${listenPort}` } });
    topology.build();
    const vps = topology.addresses.vps;

    mountPoints = createMountPoints();
    headscale = new HeadscaleHost(home.artifacts["headscale-config.yaml"], home.artifacts["tailnet-policy.json"], { netns: topology.hosts.derp });
    await headscale.serve();

    // The LAN: the router pod reaches it directly, as a pod reaches the node's network; on it Traefik's LB address
    // (its LAN entrypoint, TLS with the same wildcard certificate) and the NAS, listening on a port the policy allows
    // the family group and on one it does not.
    const [routerNs, lan] = [new Netns(), new Netns()];
    extra.push(routerNs, lan);
    topology.wire(routerNs, "p-router", [`${ROUTER_UPLINK}/24`]);
    run("ip", ["-n", routerNs.name, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", lan.name]);
    routerNs.exec("ip", ["address", "add", `${LAN.router}/24`, "dev", "lan0"]);
    routerNs.exec("ip", ["link", "set", "lan0", "up"]);
    const traefikLan = String(home.outputs.gatewayLbIp.value);
    for (const address of [traefikLan, LAN.nas]) lan.exec("ip", ["address", "add", `${address}/24`, "dev", "eth0"]);
    lan.exec("ip", ["link", "set", "eth0", "up"]);
    const lanServers = `const fs = require("fs"), net = require("net");
const [cert, key, traefik, nas, ports] = JSON.parse(process.argv[1]);
require("https").createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => res.end("traefik-lan " + req.socket.remoteAddress + "\\n")).listen(443, traefik);
for (const port of ports) net.createServer((s) => s.end("nas:" + port + " " + s.remoteAddress + "\\n")).listen(port, nas);`;
    spawn("ip", ["netns", "exec", lan.name, process.execPath, "-e", lanServers, JSON.stringify([topology.certificate, join(topology.dir, "backend/tls.key"), traefikLan, LAN.nas, LAN.nasPorts])], { stdio: "ignore", detached: true }).unref();
    assert.ok((await secondsUntil(() => tcpGreeting(routerNs, LAN.nas, 445) !== undefined, 10)) !== undefined, "the LAN stand-ins never listened");

    // The router: the bootstrap Job's key, then containerboot from the planned pod, resolving Headscale's public name to the VPS.
    const work = join(topology.dir, "router");
    mkdirSync(join(work, "kube"), { recursive: true });
    writeKubectlStandIn(join(work, "kube"), headscale.wrapper);
    const bootstrap = runBootstrapScript(join(work, "kube"), 1);
    assert.equal(bootstrap.status, 0, bootstrap.stderr);
    router = new RouterPod(home, routerNs, work, { authKey: readFileSync(join(work, "kube/secret"), "utf8"), etcHosts: `${vps.ipv4} ${serverHost}\n`, caCert: topology.certificate });
    routerRun = router.start(1);
    const approved = await secondsUntil(() => routerRun.exited !== undefined || (headscaleJson(["nodes", "list"]) as { approved_routes?: string[] }[]).some((n) => n.approved_routes?.includes(router.lan)), 90);
    assert.ok(routerRun.exited === undefined && approved !== undefined, `the router never came up through the public path:\n${routerRun.log()}`);

    // The remote client: a user of the family group, its key minted as the README says, tailscaled with a TUN device.
    // Headscale's name resolves to the VPS; the client trusts the stand-in's certificate as it trusts the public chain.
    run(headscale.wrapper, ["users", "create", "bob"]);
    const bob = (headscaleJson(["users", "list"]) as { id: number; name: string }[]).find((u) => u.name === "bob")!;
    const key = JSON.parse(run(headscale.wrapper, ["preauthkeys", "create", "--user", String(bob.id), "--expiration", "1h", "--output", "json"])).key;
    topology.etcFile(topology.hosts.internet, "hosts", `${vps.ipv4} ${serverHost}\n${vps.ipv6} ${serverHost}\n`);
    topology.etcFile(topology.hosts.internet, "resolv.conf", "");
    const state = join(topology.dir, "client");
    mkdirSync(state, { recursive: true });
    const log = join(state, "tailscaled.log");
    const socket = join(state, "tailscaled.sock");
    const child = spawn("ip", ["netns", "exec", topology.hosts.internet.name, "tailscaled", "--statedir", state, "--socket", socket, "--tun", "tailscale0", "--no-logs-no-support"], { stdio: ["ignore", openSync(log, "w"), openSync(log, "a")], env: { ...process.env, SSL_CERT_FILE: topology.certificate, TS_LOGS_DIR: state } });
    client = { socket, process: child, log };
    topology.processes.push(child);
    assert.ok((await secondsUntil(() => tailscale(["status", "--json"]).status === 0, 20)) !== undefined, `tailscaled never answered:\n${readFileSync(log, "utf8").slice(-4000)}`);
    // DNS stays the OS's: with --accept-dns tailscaled would rewrite resolv.conf; quad-100 answers either way.
    const up = tailscale(["up", `--login-server=${config.server_url}`, `--auth-key=${key}`, "--hostname=remote-client", "--accept-routes", "--accept-dns=false", "--netfilter-mode=off", "--timeout=60s"]);
    assert.equal(up.status, 0, `${up.stdout}${up.stderr}\n${readFileSync(log, "utf8").slice(-4000)}`);
  });
  after(async () => {
    // Every process first (the namespaces' deletion kills what is left), then the mount points they no longer use.
    if (routerRun?.exited === undefined) {
      routerRun?.stop();
      await routerRun?.done;
    }
    headscale?.stop();
    extra.forEach((n) => n.delete());
    topology?.teardown();
    router?.cleanup();
    mountPoints.reverse().forEach((path) => rmdirSync(path));
  });

  describe("1.4: joining and reaching the LAN", () => {
    it("the client registered as its user, over the control protocol through the VPS, the tunnel and the gateway", () => {
      const nodes = headscaleJson(["nodes", "list"]) as { name: string; user: { name: string } }[];
      assert.deepEqual(nodes.find((n) => n.name === "remote-client")?.user.name, "bob");
      // The stand-in logs the client address the PROXY header carried: the control client's requests came the whole
      // public way. (The upgraded /ts2021 connection is logged only when it closes; its port-80 try got Traefik's redirect.)
      const access = readFileSync(join(topology.dir, "backend/nginx-access.log"), "utf8").split("\n");
      const client = topology.addresses.client;
      const fromClient = access.filter((line) => line.startsWith(`${client.ipv4} `) || line.startsWith(`${client.ipv6} `));
      assert.ok(fromClient.some((line) => /^\S+ GET \/key\?v=\d+ HTTP\/1\.1 200$/.test(line)), `the client never fetched Headscale's key through the path:\n${access.join("\n")}`);
      assert.ok(fromClient.some((line) => /^\S+ POST \/ts2021 HTTP\/1\.1 308$/.test(line)), "the control client's plain-HTTP try met the redirect");
    });

    it("MagicDNS answers every vpn and lan catalog name with Traefik's LAN address, and no public one", async () => {
      const catalog = planCatalog();
      const names = catalog.map((s) => s.hostname);
      const script = `const r = new (require("dns").promises.Resolver)({ timeout: 2000, tries: 2 }); r.setServers(["100.100.100.100"]);
Promise.all(${JSON.stringify(names)}.map((n) => r.resolve4(n).catch(() => []))).then((a) => process.stdout.write(JSON.stringify(a)));`;
      const answers = JSON.parse(topology.exec("internet", process.execPath, ["-e", script])) as string[][];
      const traefik = String(home.outputs.gatewayLbIp.value);
      const privateNames = catalog.filter((s) => s.exposure !== "public");
      assert.ok(privateNames.length > 0, "the plan's catalog has private names");
      catalog.forEach((service, i) => {
        if (service.exposure === "public") assert.notDeepEqual(answers[i], [traefik], `${service.hostname} is public: the tailnet must not pin it to the LAN`);
        else assert.deepEqual(answers[i], [traefik], `${service.hostname} (${service.exposure})`);
      });
    });

    it("reaches Traefik's LAN entrypoint by a private name, through the subnet router (the LAN sees the router's address)", () => {
      const name = planCatalog().find((s) => s.exposure === "vpn")!.hostname;
      const traefik = String(home.outputs.gatewayLbIp.value);
      const response = topology.hosts.internet.tryExec("curl", ["-s", "--max-time", "10", "--cacert", topology.certificate, "--resolve", `${name}:443:${traefik}`, `https://${name}/`]);
      assert.equal(response.status, 0, `curl ${response.status}: ${response.stderr}`);
      assert.equal(response.stdout.trim(), `traefik-lan ${LAN.router}`);
    });

    it("the policy lets the family group reach nas:445 and refuses nas:22, which listens", () => {
      assert.equal(tcpGreeting(topology.hosts.internet, LAN.nas, 445)?.trim(), `nas:445 ${LAN.router}`);
      assert.match(tcpGreeting(extra[0], LAN.nas, 22) ?? "", /^nas:22 /, "port 22 listens on the LAN");
      assert.equal(tcpGreeting(topology.hosts.internet, LAN.nas, 22), undefined, "the router let an ACL-denied connection through");
    });
  });

  describe("1.5: DERP", () => {
    it("the client's DERP map is the embedded region alone, announcing the VPS's public addresses", () => {
      const map = JSON.parse(tailscale(["debug", "derp-map"]).stdout);
      const config = parse(home.artifacts["headscale-config.yaml"]).derp.server;
      assert.deepEqual(Object.keys(map.Regions), [String(config.region_id)]);
      const [node] = map.Regions[config.region_id].Nodes;
      assert.equal(map.Regions[config.region_id].RegionCode, config.region_code);
      assert.deepEqual([node.HostName, node.IPv4, node.IPv6], [serverHost, topology.addresses.vps.ipv4, topology.addresses.vps.ipv6]);
    });

    for (const family of ["ipv4", "ipv6"] as const) {
      it(`Headscale's STUN answers over ${family} from the VPS's public address, with the client's own address`, () => {
        const answer = stunBinding(topology.hosts.internet, topology.addresses.vps[family], 3478);
        assert.ok(answer, "no STUN answer");
        assert.deepEqual(answer, { from: topology.addresses.vps[family], mapped: topology.addresses.client[family] });
      });
    }

    it("with direct UDP blocked between the peers, traffic to the LAN flows through the relay", async () => {
      const peer = routerAddress();
      const direct = tailscale(["ping", "--c", "20", "--timeout", "2s", peer]);
      assert.match(direct.stdout, new RegExp(`via ${ROUTER_UPLINK.replace(/\./g, "\\.")}:\\d+`), `a direct path first, so the relay is what the block leaves:\n${direct.stdout}${direct.stderr}`);
      topology.exec("internet", "nft", ["-f", "-"], `table inet no-direct {
  chain out { type filter hook output priority 0; oifname "eth0" udp dport != 3478 drop; }
  chain in { type filter hook input priority 0; iifname "eth0" udp sport != 3478 drop; }
}
`);
      const relayed = await secondsUntil(() => /via DERP\(homelab\)/.test(tailscale(["ping", "--until-direct=false", "--c", "1", "--timeout", "2s", peer]).stdout), 40);
      assert.ok(relayed !== undefined, "pings never went through the relay");
      const flows = await secondsUntil(() => tcpGreeting(topology.hosts.internet, LAN.nas, 445)?.trim() === `nas:445 ${LAN.router}`, 30);
      assert.ok(flows !== undefined, "no LAN traffic through the relay");
      console.log(`      measured: relayed ${relayed.toFixed(1)} s after the block, LAN traffic ${flows.toFixed(1)} s later`);
    });

    describe("a node Headscale does not know", () => {
      const probe = () => {
        const map = topology.file("client/derp-map.json", tailscale(["debug", "derp-map"]).stdout);
        // derpprobe's DERP clients use keys of their own, which no Headscale has registered.
        const result = topology.hosts.internet.tryExec("env", [`SSL_CERT_FILE=${topology.certificate}`, "derpprobe", `--derp-map=file://${map}`, "--once", "--spread=false"]);
        const lines = `${result.stdout}${result.stderr}`;
        // The mesh probe connects two such clients to the region's node and relays a packet from one to the other.
        return { mesh: [...lines.matchAll(/\b(good|bad): derp\/\S+\/mesh\b/g)].map((m) => m[1]), lines };
      };

      it("is refused by the relay (verify_clients)", () => {
        assert.equal(parse(home.artifacts["headscale-config.yaml"]).derp.server.verify_clients, true);
        const { mesh, lines } = probe();
        assert.ok(mesh.length > 0, `derpprobe ran no relay probe:\n${lines}`);
        assert.ok(mesh.every((m) => m === "bad"), `a stranger relayed a packet:\n${lines}`);
      });

      it("is relayed once verify_clients is off: the refusal above is the setting's", async () => {
        headscale.stop();
        const open = parse(home.artifacts["headscale-config.yaml"]);
        open.derp.server.verify_clients = false;
        headscale = new HeadscaleHost(stringify(open), home.artifacts["tailnet-policy.json"], { netns: topology.hosts.derp });
        await headscale.serve();
        const { mesh, lines } = probe();
        assert.ok(mesh.length > 0 && mesh.every((m) => m === "good"), `the relay refused derpprobe with verification off:\n${lines}`);
      });
    });
  });
});
