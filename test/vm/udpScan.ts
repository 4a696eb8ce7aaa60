import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { EdgeVmLab } from "./edgeLab";
import { bindingRequest } from "./stun";

/** Each port nmap's grepable output lists, with its state; ports folded into "Ignored State" are not listed. */
function listedPorts(grepable: string): { port: number; state: string }[] {
  const ports = /Ports: ([^\t\n]*)/.exec(grepable)?.[1] ?? "";
  return ports
    .split(", ")
    .filter(Boolean)
    .map((entry) => ({ port: Number(entry.split("/")[0]), state: entry.split("/")[1] }));
}

/** What nmap says of the ports it folded away, e.g. "open|filtered (65534)". */
const ignoredState = (grepable: string) => /Ignored State: ([^\t\n]*)/.exec(grepable)?.[1];

/**
 * A WireGuard handshake initiation in shape (message type 1, 148 bytes) from no key the VPS knows: its MAC1 cannot
 * verify, so a WireGuard that answers only authenticated peers sends nothing back.
 */
const forgedInitiation = () => Buffer.concat([Buffer.from([1, 0, 0, 0]), randomBytes(144)]).toString("hex");

/**
 * Issue 14 §1 item 2, its UDP half: what a UDP scan from the client finds. The design: 3478 is forwarded to the derp
 * peer, whose STUN server (Headscale's, tailscale.com/net/stun) answers a Tailscale Binding request and nothing else;
 * WireGuard never answers a packet it cannot authenticate, so its port looks like every dropped one, and a handshake
 * is what shows it works; every other port is dropped by the ruleset, with no ICMP answer that would mark it closed.
 * Registered after the first push, so the WireGuard port has its key and a live peer while it stays silent.
 */
export function describeUdpScan(getLab: () => EdgeVmLab) {
  describe("a UDP scan from the client", () => {
    let lab: EdgeVmLab;
    let wireguardPort: number;
    const nmap = (family: "ipv4" | "ipv6", args: string[], timeoutMs = 60_000) => {
      const result = lab.tryExec("client", "nmap", [...(family === "ipv6" ? ["-6"] : []), "-Pn", "-n", "-sU", ...args, "-oG", "-", lab.addresses.vps[family]], timeoutMs);
      assert.equal(result.status, 0, result.stderr);
      return result.stdout;
    };

    before(async function () {
      lab = getLab();
      if (!lab) this.skip();
      wireguardPort = (lab.edge.outputs.wireguard.value as { port: number }).port;
      // The peers dialled a keyless wg0 until the push gave it its key; a scan means something once both are back.
      for (const peer of Object.values((lab.edge.outputs.wireguard.value as { peers: Record<string, { publicKey: string }> }).peers)) {
        await lab.waitForHandshakeWith(peer.publicKey, 0, 120);
      }
    });

    for (const family of ["ipv4", "ipv6"] as const) {
      it(`over ${family}, of every port with a Tailscale STUN request as payload, finds only 3478 open and none closed`, () => {
        const started = Date.now();
        const scan = nmap(family, ["-p-", "--min-rate", "5000", "--max-retries", "1", "--data", bindingRequest(randomBytes(12)).toString("hex")], 400_000);
        console.log(`      (UDP scan of 65535 ports over ${family}: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
        assert.deepEqual(listedPorts(scan), [{ port: 3478, state: "open" }], scan);
        assert.equal(ignoredState(scan), "open|filtered (65534)", "every other port dropped, none closed by an ICMP answer");
      });

      it(`over ${family}, the WireGuard port stays silent to a forged handshake initiation while the gateway peer's handshake is live`, () => {
        const scan = nmap(family, ["-p", String(wireguardPort), "--max-retries", "2", "--data", forgedInitiation()]);
        assert.deepEqual(listedPorts(scan), [{ port: wireguardPort, state: "open|filtered" }], scan);
        const gateway = (lab.edge.outputs.wireguard.value as { peers: { gateway: { publicKey: string } } }).peers.gateway.publicKey;
        const age = Number(lab.vps("date +%s").trim()) - lab.latestHandshake(gateway);
        assert.ok(age < 180, `the gateway's last handshake is ${age} s old: the port is live, and silent all the same`);
      });

      it(`over ${family}, 3478 ignores nmap's own STUN probe (a bare Binding request), as Headscale's STUN server does`, () => {
        const scan = nmap(family, ["-p", "3478", "--max-retries", "2"]);
        assert.deepEqual(listedPorts(scan), [{ port: 3478, state: "open|filtered" }], scan);
      });
    }
  });
}
