import { strict as assert } from "node:assert";
import { hostAddress, parseCidr } from "../../components/contract/cidr";
import { SSH_RATE } from "../../components/edge/edgeStack";
import { requireRealTools } from "../support/realTools";
import { describeCommitConfirm, itRolledBackAtBoot, leaveChangePending, PendingChange, pushCommandsOf, steps } from "./commitConfirm";
import { EdgeVmLab } from "./edgeLab";
import { describeHomePath } from "./homePath";
import { describeReplacement } from "./replacement";
import { addressBytes } from "./stun";
import { describeUdpScan } from "./udpScan";

const TOOLS = ["qemu-system-x86_64", "mmdebstrap", "mkfs.ext4", "debugfs", "ssh", "ssh-keygen", "nmap", "wireguard-go", "wg", "wg-quick", "curl", "haproxy", "nginx", "dnsmasq", "openssl"];

/** Set by .mocharc.vm.json (test/vm/enableSuite.ts): `npm test` must stay fast, and a VM boot takes minutes. */
const vmSuiteEnabled = process.env.HOMELAB_VM_SUITE === "1";

/** Ports a TCP SYN scan of every port finds open, from nmap's grepable output. */
function openTcpPorts(grepable: string): number[] {
  const ports = /Ports: ([^\t\n]*)/.exec(grepable)?.[1] ?? "";
  return ports
    .split(", ")
    .filter((entry) => entry.split("/")[1] === "open")
    .map((entry) => Number(entry.split("/")[0]))
    .sort((a, b) => a - b);
}

/** Counts how many of N back-to-back TCP connections from a source address get through (argv: host port N source). */
const CONNECT_COUNTER = `
const net = require("net");
const [host, port, attempts, localAddress] = process.argv.slice(1);
(async () => {
  let accepted = 0;
  for (let i = 0; i < Number(attempts); i++) {
    accepted += await new Promise((resolve) => {
      const socket = net.connect({ host, port: Number(port), localAddress, timeout: 1500 });
      socket.once("connect", () => { socket.destroy(); resolve(1); });
      socket.once("timeout", () => { socket.destroy(); resolve(0); });
      socket.once("error", () => resolve(0));
    });
  }
  console.log(accepted);
})();`;

/** A port's state in nmap's grepable output of a scan of that one port. */
const portState = (grepable: string, port: number) => new RegExp(`${port}/([a-z|]+)/tcp`).exec(grepable)?.[1];

describe("the edge VPS: Debian 12 in a VM booted from the plan's own user-data", function () {
  let lab: EdgeVmLab;
  const urlHost = (address: string) => (address.includes(":") ? `[${address}]` : address);

  before(async function () {
    if (!vmSuiteEnabled) {
      console.warn("      skipped: the VM suite runs under `npm run test:vm` (or with HOMELAB_VM_SUITE=1)");
      this.skip();
    }
    requireRealTools(this, TOOLS, true);
    lab = await EdgeVmLab.start((line) => console.log(`      ${line}`));
  });

  after(async () => {
    if (lab) console.log(`      timings (s): ${Object.entries(lab.timings).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
    await lab?.teardown();
  });

  /** What the client's HTTP request to the VPS's public address brings back: the address the backend saw. */
  const seenByBackend = (address: string) => lab.tryExec("client", "curl", ["-sS", "-g", "--max-time", "15", `http://${urlHost(address)}/`], 30_000);

  /** What the VPS and the home peer say about the path, for a failure message. */
  const pathState = () =>
    [
      lab.tryVps("wg show wg0; sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding; ip -br address; ip route; nft list ruleset", 60_000).stdout,
      lab.tryExec("home", "wg", ["show"]).stdout,
      lab.tryExec("home", "ss", ["-ltn"]).stdout,
    ].join("\n---\n");

  /** The client's request through the public address reaches the backend, which sees the client's own address. */
  const requestThroughTunnel = (family: "ipv4" | "ipv6") => {
    const result = seenByBackend(lab.addresses.vps[family]);
    assert.equal(result.status, 0, `${result.stderr}\n${pathState()}`);
    assert.equal(result.stdout.trim(), lab.addresses.client[family]);
  };

  const checkServices = () => {
    const states = lab.vps("systemctl is-active nftables.service wg-quick@wg0.service ssh.service || true").trim().split("\n");
    assert.deepEqual(states, ["active", "active", "active"], "nftables, wg-quick@wg0, ssh");
  };

  const waitForHandshake = async (after: number, limitSeconds: number) => {
    const gatewayKey = (lab.edge.outputs.wireguard.value as any).peers.gateway.publicKey as string;
    const deadline = Date.now() + limitSeconds * 1000;
    let latest = 0;
    while (Date.now() < deadline) {
      const line = lab.vps("wg show wg0 latest-handshakes").split("\n").find((l) => l.startsWith(gatewayKey));
      latest = Number(line?.split("\t")[1] ?? 0);
      if (latest > after) return latest;
      await new Promise((r) => setTimeout(r, 3000));
    }
    assert.fail(`no handshake from the gateway peer newer than ${after} within ${limitSeconds} s (latest ${latest})`);
  };

  describe("first boot", () => {
    it("cloud-init is done with no errors; nftables, wg-quick@wg0 and ssh are active", () => {
      const status = lab.vps("cloud-init status --long || true");
      assert.match(status, /^status: done$/m, status);
      assert.doesNotMatch(status, /^errors: \[.+\]/m, status);
      assert.doesNotMatch(status, /recoverable_errors:/, status);
      checkServices();
    });

    it("loaded the plan's ruleset and runs sshd on the plan's port, keys only", () => {
      assert.match(lab.vps("nft list table inet edge"), /chain prerouting/);
      const sshd = lab.vps("sshd -T");
      assert.match(sshd, new RegExp(`^port ${lab.ssh.port}$`, "m"));
      assert.match(sshd, /^passwordauthentication no$/m);
      assert.match(sshd, /^authenticationmethods publickey$/m);
    });

    it("SSH answers on the plan's port from the admin host, over IPv4 and IPv6, and not from the client", () => {
      for (const family of ["ipv4", "ipv6"] as const) {
        const target = `root@${lab.addresses.vps[family]}`;
        const admin = lab.tryExec("admin", "ssh", [...lab.sshArgs(["-o", "ControlPath=none"]), target, "echo in"], 60_000);
        assert.equal(admin.status, 0, `admin over ${family}: ${admin.stderr}`);
        assert.equal(admin.stdout.trim(), "in");
        const client = lab.tryExec("client", "ssh", [...lab.sshArgs(["-o", "ControlPath=none"]), target, "echo in"], 60_000);
        assert.notEqual(client.status, 0);
        assert.match(client.stderr, /timed out/, `client over ${family}: ${client.stderr}`);
      }
    });

    it("SSH takes the key only: a password login is refused before any password is asked", () => {
      const password = lab.tryExec("admin", "ssh", [...lab.sshArgs(["-o", "ControlPath=none", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive", "-v"]), `root@${lab.addresses.vps.ipv4}`, "true"], 60_000);
      assert.notEqual(password.status, 0);
      assert.match(password.stderr, /Authentications that can continue: publickey\r?$/m, password.stderr);
      assert.match(password.stderr, /Permission denied \(publickey\)/);
    });

    it("rate-limits new SSH connections per IPv4 source and per IPv6 /64: the burst gets in, the rest are dropped", () => {
      // Sources of their own in the admin networks, so the admin's own budget stays whole; the IPv6 pair shares a /64.
      // (The lab puts the admin host at host 10 of each admin network, on a /64 for IPv6.)
      const network = (v6: boolean) => parseCidr(lab.ssh.adminCidrs.find((c) => c.includes(":") === v6)!)!;
      const v4 = hostAddress(network(false), 11);
      const v6 = [hostAddress(network(true), 11), hostAddress(network(true), 12)];
      lab.exec("admin", "ip", ["address", "add", `${v4}/${network(false).prefix}`, "dev", "eth0"]);
      for (const address of v6) lab.exec("admin", "ip", ["address", "add", `${address}/64`, "dev", "eth0", "nodad"]);
      const accepted = (target: string, attempts: number, source: string) => {
        const result = lab.tryExec("admin", process.execPath, ["-e", CONNECT_COUNTER, target, String(lab.ssh.port), String(attempts), source], 120_000);
        assert.equal(result.status, 0, result.stderr);
        return Number(result.stdout.trim());
      };
      const attempts = 12;
      const fromV4 = accepted(lab.addresses.vps.ipv4, attempts, v4);
      const firstV6 = accepted(lab.addresses.vps.ipv6, attempts / 2, v6[0]);
      const secondV6 = accepted(lab.addresses.vps.ipv6, attempts / 2, v6[1]);
      console.log(`      (SSH connections accepted back to back: ${fromV4} of ${attempts} over IPv4; ${firstV6} of ${attempts / 2}, then ${secondV6} of ${attempts / 2} from a second address of the same /64)`);
      // The bucket refills one connection every 60/rate seconds, and each dropped attempt waits out its timeout.
      const refills = 2;
      assert.ok(fromV4 >= SSH_RATE.burst && fromV4 <= SSH_RATE.burst + refills, `${fromV4} of ${attempts} accepted over IPv4; the burst is ${SSH_RATE.burst}`);
      assert.ok(firstV6 >= SSH_RATE.burst && firstV6 <= SSH_RATE.burst + refills, `${firstV6} accepted over IPv6`);
      assert.ok(secondV6 <= refills, `${secondV6} accepted from a second address of the same /64: it must draw on the same, spent budget`);
    });

    it("has no WireGuard private key in its copy of the user-data: kernel WireGuard runs keyless, and no home peer's handshake completes", () => {
      const vpsKey = /^PrivateKey = (\S+)$/m.exec(String(lab.edge.artifacts["wg0.conf"]))![1];
      const userData = lab.vps("cat /var/lib/cloud/instances/*/user-data.txt");
      assert.match(userData, /^#cloud-config$/m);
      assert.doesNotMatch(userData, /PrivateKey/);
      assert.equal(lab.tryVps(`grep -rqF '${vpsKey}' /var/lib/cloud /etc/wireguard`).status, 1, "the key is nowhere cloud-init wrote");
      assert.match(lab.vps("lsmod"), /^wireguard /m, "kernel WireGuard, not a userspace one");
      assert.equal(lab.vps("wg show wg0 private-key").trim(), "(none)");
      // The home peers have dialled since before power-on.
      const handshakes = lab.vps("wg show wg0 latest-handshakes").trim().split("\n");
      assert.equal(handshakes.length, 2, "both home peers are configured");
      for (const line of handshakes) assert.match(line, /\t0$/, `a handshake before the push: ${line}`);
    });

    it("measures how long sshd listened before cloud-init's runcmd loaded the ruleset: in mode ssh the hcloud Firewall comes after the first confirm", () => {
      const at = (pattern: string) => Number(/^\[\s*([\d.]+)\]/.exec(lab.vps(`journalctl -b -o short-monotonic --no-pager | grep -m1 -E '${pattern}' || true`))?.[1]);
      const sshd = at("sshd\\[[0-9]+\\]: Server listening on");
      const ruleset = at("Finished nftables\\.service");
      assert.ok(Number.isFinite(sshd) && Number.isFinite(ruleset), `the journal says when sshd listened (${sshd}) and the ruleset loaded (${ruleset})`);
      console.log(`      (first boot: sshd listened at ${sshd.toFixed(1)} s, the ruleset loaded at ${ruleset.toFixed(1)} s after power-on)`);
    });
  });

  describe("the push, over real SSH from the admin host", () => {
    it("applies the plan's files with the rendered command, probes the public path and confirms over a second, new connection", async () => {
      const commands = pushCommandsOf(lab.edge);
      const applied = steps(lab).apply(commands);
      assert.equal(applied.status, 0, applied.stderr + applied.stdout);
      assert.equal(lab.vps("cat /var/lib/homelab-edge/pending").trim(), commands.token);
      const probed = steps(lab).probe(commands, applied.stdout);
      assert.equal(probed.status, 0, probed.stderr);
      // The tunnel had no key until this push: the public path is probed only if a home peer's handshake completed
      // before apply ended (the lab's peers dial all along; on a first deploy the home stack comes later).
      assert.match(probed.stdout, /answers through the forwarded public path|no recent handshake; the public path is not probed/);
      // The command provider opens a new connection per Command. apply ends by reloading sshd, which re-executes
      // itself, so the confirm's first dial can meet a closed port: the provider's dial retries cover that.
      const confirm = await steps(lab).confirm(commands);
      assert.equal(confirm.status, 0, `${confirm.stderr}${confirm.stdout} (after ${confirm.attempts} dial(s))`);
      if (confirm.attempts > 1) console.log(`      (the confirm connected at dial ${confirm.attempts})`);
      assert.equal(lab.tryVps("test -e /var/lib/homelab-edge/pending").status, 1, "nothing is left pending");
      assert.match(lab.vps("tail -n 1 /var/lib/homelab-edge/log").trim(), new RegExp(`confirmed ${commands.token}$`));
      checkServices();
      assert.equal(lab.tryVps("test -e /var/lib/homelab-edge/staged").status, 1, "the staged files, key and all, are gone");
      assert.equal(lab.vps("wg show wg0 public-key").trim(), (lab.edge.outputs.wireguard.value as any).vpsPublicKey, "wg syncconf gave the tunnel its key");
    });

    it("then the home gateway peer (wireguard-go, the plan's own peer config) handshakes with the VPS's kernel WireGuard", async () => {
      await waitForHandshake(0, 90);
    });

    for (const family of ["ipv4", "ipv6"] as const) {
      it(`then a client's HTTP request over ${family} goes DNAT -> kernel WireGuard -> the backend, which sees the client's own address`, () => {
        requestThroughTunnel(family);
      });
    }

    for (const family of ["ipv4", "ipv6"] as const) {
      it(`then a client's scan of every TCP port over ${family} finds only 80 and 443 open; SSH is filtered`, () => {
        const target = lab.addresses.vps[family];
        const flag = family === "ipv6" ? ["-6"] : [];
        const all = lab.tryExec("client", "nmap", [...flag, "-Pn", "-n", "-sS", "-p-", "--min-rate", "3000", "--max-retries", "1", "-oG", "-", target], 300_000);
        assert.equal(all.status, 0, all.stderr);
        assert.deepEqual(openTcpPorts(all.stdout), [80, 443], all.stdout);
        const ssh = lab.tryExec("client", "nmap", [...flag, "-Pn", "-n", "-sS", "-p", `22,${lab.ssh.port}`, "--max-retries", "2", "-oG", "-", target]);
        assert.equal(portState(ssh.stdout, lab.ssh.port), "filtered", ssh.stdout);
        assert.equal(portState(ssh.stdout, 22), "filtered", ssh.stdout);
      });
    }
  });

  describe("STUN through the derp peer, once the push gave the tunnel its key", () => {
    for (const family of ["ipv4", "ipv6"] as const) {
      it(`a client's STUN Binding request to 3478/udp over ${family} is answered through the tunnel, with the client's own address`, () => {
        const seen = lab.stunFrom("client", lab.addresses.vps[family]);
        assert.ok(addressBytes(seen.address).equals(addressBytes(lab.addresses.client[family])), `the STUN server saw ${seen.address}, not the client's ${lab.addresses.client[family]}`);
      });
    }
  });

  describeHomePath(() => lab);
  describeUdpScan(() => lab);
  describeCommitConfirm(() => lab, { requestThroughTunnel });

  // One reboot serves both: a boot costs minutes under emulation, and what comes back is the same set of files.
  describe("after a reboot with a change left pending, and no push", () => {
    let bootId: string;
    let rebootedAt: number;
    let pending: PendingChange;

    before(async function () {
      if (!lab) this.skip();
      pending = leaveChangePending(lab);
      bootId = lab.vps("cat /proc/sys/kernel/random/boot_id").trim();
      rebootedAt = Number(lab.vps("date +%s").trim());
      lab.timings.rebootSeconds = await lab.reboot();
    });

    it("is a new boot, and nftables, wg-quick@wg0 and ssh are active again", () => {
      assert.notEqual(lab.vps("cat /proc/sys/kernel/random/boot_id").trim(), bootId);
      checkServices();
    });

    it("the tunnel comes back: a new handshake, and the client's request reaches the backend with its own address", async () => {
      await waitForHandshake(rebootedAt, 180);
      requestThroughTunnel("ipv4");
      requestThroughTunnel("ipv6");
    });

    it("has the last confirmed ruleset and the SSH port back: only 80 and 443 open to the client", () => {
      assert.match(lab.vps("nft list table inet edge"), /dnat ip to 10\.10\.10\.2/);
      assert.match(lab.vps("sshd -T"), new RegExp(`^port ${lab.ssh.port}$`, "m"));
      const scan = lab.tryExec("client", "nmap", ["-Pn", "-n", "-sS", "-p", `22,80,443,${lab.ssh.port}`, "--max-retries", "2", "-oG", "-", lab.addresses.vps.ipv4]);
      assert.deepEqual(openTcpPorts(scan.stdout), [80, 443], scan.stdout);
      assert.equal(portState(scan.stdout, lab.ssh.port), "filtered", scan.stdout);
    });

    itRolledBackAtBoot(() => lab, () => pending);
  });

  // Last: each boots a new server in the old one's place.
  describeReplacement(() => lab, { requestThroughTunnel }, (line) => console.log(`      ${line}`));
});
