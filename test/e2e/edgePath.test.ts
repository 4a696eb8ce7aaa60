import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderApplyScript, STAGED_FILES } from "../../components/edge/applyScript";
import { buildStack } from "../../components/stacks";
import { OfflineRun, runOffline } from "../../tools/offline/engine";
import { planStacks } from "../../tools/offline/planStacks";
import { loadPlanConfig } from "../../tools/offline/stackConfig";
import { requireRealTools, run } from "../support/realTools";
import { curl, secondsUntil, sha256, tcpBurst, udpExchange, urlHost } from "./support";
import { EdgeTopology, GATEWAY_INTERFACE, stunListen } from "./topology";
import { TUNNEL_ROUTING_TABLE, TUNNEL_RULE_PRIORITY } from "../../components/edge/wireguard";

const TOOLS = ["ip", "nft", "wg", "wg-quick", "wireguard-go", "haproxy", "nginx", "dnsmasq", "nmap", "curl", "openssl", "/usr/sbin/sshd", "ssh-keygen"];

describe("the rendered edge carries real traffic (network namespaces)", function () {
  this.timeout(180000);
  let topology: EdgeTopology;
  let sshPort: number;

  before(async function () {
    requireRealTools(this, TOOLS, true);
    const plan = await planStacks(["edge", "home"]);
    const [edge, home] = plan.stacks.map((s) => s.run);
    sshPort = Number(/^Port (\d+)$/m.exec(edge.artifacts["sshd-10-homelab.conf"])![1]);
    // Assigned before building, so after() removes whatever a failed build left behind.
    topology = new EdgeTopology(edge, home);
    topology.build();
    const up = await secondsUntil(() => curl(topology, "internet", `https://${topology.addresses.vps.ipv4}/whoami`).ok, 20);
    assert.ok(up !== undefined, "the path never came up");
  });
  after(() => topology?.teardown());

  describe("1. the client's address survives the whole path", () => {
    for (const family of ["ipv4", "ipv6"] as const) {
      for (const [scheme, path] of [["https", "/whoami"], ["http", "/"]] as const) {
        it(`${scheme} over ${family}: the backend sees the internet client, not any hop`, () => {
          const response = curl(topology, "internet", `${scheme}://${urlHost(topology.addresses.vps[family])}${path}`);
          assert.ok(response.ok, `request failed (curl ${response.status})`);
          assert.equal(response.body.trim(), topology.addresses.client[family]);
          const log = readFileSync(join(topology.dir, "backend/nginx-access.log"), "utf8");
          assert.ok(log.split("\n").some((line) => line.startsWith(`${topology.addresses.client[family]} `)), "the backend logs the client");
        });
      }
    }
  });

  describe("2. STUN on Headscale's [::]:3478 sees the client's address, and the answer comes from the VPS", () => {
    it("listens where Headscale's rendered config says: the dual-stack wildcard", () => {
      assert.deepEqual(stunListen(topology.home.artifacts["headscale-config.yaml"]), ["::", 3478]);
    });
    for (const family of ["ipv4", "ipv6"] as const) {
      it(`over ${family}`, () => {
        const answer = udpExchange(topology, "internet", topology.addresses.vps[family], 3478);
        assert.ok(answer, "no answer");
        assert.equal(answer.from, topology.addresses.vps[family]);
        assert.equal(answer.body, `seen ${topology.addresses.client[family]}`);
      });
    }
    it("without the source-port rules, the wildcard socket answers by the pod's own route, and STUN breaks", () => {
      const rules = (family: "-4" | "-6", verb: "add" | "del") => topology.exec("derp", "ip", [family, "rule", verb, "ipproto", "udp", "sport", "3478", "lookup", String(TUNNEL_ROUTING_TABLE), "priority", String(TUNNEL_RULE_PRIORITY)]);
      rules("-4", "del");
      rules("-6", "del");
      try {
        for (const family of ["ipv4", "ipv6"] as const) {
          const answer = udpExchange(topology, "internet", topology.addresses.vps[family], 3478, 1000);
          assert.ok(!answer || answer.from !== topology.addresses.vps[family], `${family} answered from ${answer?.from}, the VPS`);
        }
      } finally {
        rules("-4", "add");
        rules("-6", "add");
      }
      assert.equal(udpExchange(topology, "internet", topology.addresses.vps.ipv4, 3478)?.from, topology.addresses.vps.ipv4, "restored");
    });
  });

  describe("3. exposure", () => {
    it("a TCP scan of 1-1024 and the SSH port from the internet finds only 80 and 443", () => {
      const report = topology.exec("internet", "nmap", ["-Pn", "-sT", "-n", "-T4", "--max-retries", "1", "--open", "-p", `1-1024,${sshPort}`, "-oG", "-", topology.addresses.vps.ipv4]);
      const open = [...report.matchAll(/(\d+)\/open\/tcp/g)].map((m) => Number(m[1]));
      assert.deepEqual(open, [80, 443]);
    });

    it("on UDP only STUN answers; WireGuard stays silent to a probe but completes a handshake", () => {
      const answered = [53, 123, 161, 500, 1900, 3478, 51820].filter((port) => udpExchange(topology, "internet", topology.addresses.vps.ipv4, port, 700));
      assert.deepEqual(answered, [3478]);
      const handshakes = topology.exec("vps", "wg", ["show", "wg0", "latest-handshakes"]).trim().split("\n");
      assert.equal(handshakes.length, 2);
      for (const line of handshakes) assert.ok(Number(line.split("\t")[1]) > 0, `no handshake: ${line}`);
    });

    it("SSH answers from the admin network only", () => {
      assert.deepEqual(tcpBurst(topology, "internet", topology.addresses.vps.ipv4, sshPort, 1, 1500), [false]);
      const banner = topology.hosts.admin.tryExec(process.execPath, ["-e", `require("net").connect(${sshPort}, ${JSON.stringify(topology.addresses.vps.ipv4)}).on("data", (d) => { process.stdout.write(String(d)); process.exit(0); })`]);
      assert.match(banner.stdout, /^SSH-2\.0-OpenSSH/);
    });

    it("a burst of SSH connections from one admin source is cut short by the rate limit", () => {
      const results = tcpBurst(topology, "admin", topology.addresses.vps.ipv6, sshPort, 12);
      const accepted = results.filter(Boolean).length;
      console.log(`      measured: ${accepted} of 12 back-to-back SSH connections accepted (${results.map((r) => (r ? "+" : "-")).join("")})`);
      assert.ok(accepted >= 1 && accepted <= 6, `accepted ${accepted}`);
      assert.equal(results[results.length - 1], false, "the burst must end refused");
    });
  });

  describe("4. a large transfer through the tunnel", () => {
    it("50 MB arrives intact at the configured MTU", () => {
      const data = Buffer.alloc(50 * 1024 * 1024);
      for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
      writeFileSync(join(topology.dir, "backend/files/big.bin"), data, { mode: 0o644 });
      const mtu = Number(/^MTU = (\d+)$/m.exec(topology.home.artifacts["gateway-wg0.conf"])![1]);
      assert.match(topology.exec("home", "ip", ["link", "show", GATEWAY_INTERFACE]), new RegExp(`mtu ${mtu} `));
      const out = join(topology.dir, "downloaded.bin");
      const started = Date.now();
      const response = curl(topology, "internet", `https://${topology.addresses.vps.ipv4}/files/big.bin`, ["--max-time", "120", "-o", out]);
      const seconds = (Date.now() - started) / 1000;
      assert.ok(response.ok, `download failed (curl ${response.status})`);
      assert.equal(sha256(readFileSync(out)), sha256(data));
      console.log(`      measured: 50 MB in ${seconds.toFixed(1)} s through the tunnel (MTU ${mtu})`);
    });
  });

  describe("5. recovery", () => {
    it("traffic resumes within 30 s after the home side's wireguard-go dies and wg0 comes back from its config", async () => {
      const pids = run("ip", ["netns", "pids", topology.hosts.home.name])
        .trim()
        .split("\n")
        .filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").startsWith(`wireguard-go ${GATEWAY_INTERFACE}`));
      assert.equal(pids.length, 1, "one wireguard-go serves the gateway");
      process.kill(Number(pids[0]), "SIGKILL");
      assert.ok(!curl(topology, "internet", `https://${topology.addresses.vps.ipv4}/whoami`, ["--max-time", "2"]).ok, "traffic still flows without the tunnel");
      const started = Date.now();
      topology.wireguardUp("home", GATEWAY_INTERFACE, topology.home.artifacts["gateway-wg0.conf"]);
      const seconds = await secondsUntil(() => curl(topology, "internet", `https://${topology.addresses.vps.ipv4}/whoami`, ["--max-time", "2"]).ok, 30);
      assert.ok(seconds !== undefined, "traffic did not resume within 30 s");
      console.log(`      measured: traffic resumed ${((Date.now() - started) / 1000).toFixed(1)} s after wg-quick up`);
    });
  });

  describe("6. ruleset apply with rollback, while traffic flows", () => {
    const CONFIRM_SECONDS = 4;
    let withoutDerp: OfflineRun;
    let paths: { ruleset: string; wireguard: string; sshdDropIn: string; state: string };
    const stun = () => udpExchange(topology, "internet", topology.addresses.vps.ipv4, 3478, 700) !== undefined;
    const web = () => curl(topology, "internet", `https://${topology.addresses.vps.ipv4}/whoami`, ["--max-time", "3"]).ok;

    /** Stages a ruleset as the push command would, with the rendered script pointed at scratch paths, and runs apply. */
    function apply(name: string, ruleset: string) {
      const script = renderApplyScript({
        paths,
        wireguardInterface: "wg0",
        confirmSeconds: CONFIRM_SECONDS,
        probe: { peerPublicKey: (topology.edge.outputs.wireguard.value as { peers: { gateway: { publicKey: string } } }).peers.gateway.publicKey, address: "10.10.10.2", port: 443, maxHandshakeAgeSeconds: 180 },
      });
      const staged = join(topology.dir, `vps/staged-${name}`);
      topology.file(`vps/staged-${name}/${STAGED_FILES.ruleset}`, ruleset);
      topology.file(`vps/staged-${name}/${STAGED_FILES.wireguard}`, topology.edge.artifacts["wg0.conf"]);
      topology.file(`vps/staged-${name}/${STAGED_FILES.sshdDropIn}`, topology.edge.artifacts["sshd-10-homelab.conf"]);
      topology.file(`vps/staged-${name}/${STAGED_FILES.script}`, script, 0o700);
      return topology.hosts.vps.tryExec("sh", [join(staged, STAGED_FILES.script), "apply", staged, name]);
    }
    const confirm = (name: string) => topology.hosts.vps.tryExec("sh", [join(paths.state, STAGED_FILES.script), "confirm", name]);

    before(async () => {
      const config = loadPlanConfig("edge");
      withoutDerp = await runOffline({ stack: "edge", config: { ...config.config, "homelab:derp": "false" }, secretKeys: config.secretKeys, program: () => buildStack("edge") });
      paths = { ruleset: topology.file("vps/etc/nftables.conf", topology.edge.artifacts["nftables.conf"]), wireguard: topology.file("vps/etc/wg0.conf", topology.edge.artifacts["wg0.conf"]), sshdDropIn: topology.file("vps/etc/sshd.conf", ""), state: join(topology.dir, "vps/state") };
      assert.ok(stun() && web(), "STUN and the web path work before any change");
    });

    it("a broken ruleset is rejected and the running one keeps serving", () => {
      const result = apply("broken", topology.edge.artifacts["nftables.conf"].replace("policy drop;", "policy dorp;"));
      assert.equal(result.status, 3, result.stderr);
      assert.ok(web() && stun());
    });

    it("a good ruleset that is not confirmed rolls back by itself", async () => {
      assert.equal(apply("unconfirmed", withoutDerp.artifacts["nftables.conf"]).status, 0);
      assert.ok(!stun(), "the new ruleset (no DERP) is live");
      assert.ok(web(), "the web path survives the change");
      const seconds = await secondsUntil(stun, CONFIRM_SECONDS + 10);
      assert.ok(seconds !== undefined, "no rollback");
      console.log(`      measured: rolled back ${seconds.toFixed(1)} s after apply (timeout ${CONFIRM_SECONDS} s)`);
    });

    it("a confirmed one stays, after confirm has probed a forwarded port through the live tunnel", async () => {
      assert.equal(apply("confirmed", withoutDerp.artifacts["nftables.conf"]).status, 0);
      const confirmed = confirm("confirmed");
      assert.equal(confirmed.status, 0, confirmed.stderr);
      assert.doesNotMatch(confirmed.stderr, /skipping the forwarded-port probe/, "the gateway has a fresh handshake, so confirm probes");
      await new Promise((r) => setTimeout(r, (CONFIRM_SECONDS + 2) * 1000));
      assert.ok(!stun() && web(), "the confirmed ruleset is still live");
      assert.equal(apply("restore", topology.edge.artifacts["nftables.conf"]).status, 0);
      assert.equal(confirm("restore").status, 0);
      assert.ok(stun());
    });
  });
});
