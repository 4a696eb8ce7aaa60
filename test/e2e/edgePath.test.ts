import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planStacks } from "../../tools/offline/planStacks";
import { requireRealTools, run } from "../support/realTools";
import { curl, secondsUntil, sha256, tcpBurst, udpExchange, urlHost } from "./support";
import { EdgeTopology, GATEWAY_INTERFACE } from "./topology";

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
    topology = new EdgeTopology(edge, home).build();
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
        });
      }
    }
  });

  describe("2. STUN reaches the derp peer with the client's address, and the answer comes from the VPS", () => {
    for (const family of ["ipv4", "ipv6"] as const) {
      it(`over ${family}`, () => {
        const answer = udpExchange(topology, "internet", topology.addresses.vps[family], 3478);
        assert.ok(answer, "no answer");
        assert.equal(answer.from, topology.addresses.vps[family]);
        assert.equal(answer.body, `seen ${topology.addresses.client[family]}`);
      });
    }
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
});
