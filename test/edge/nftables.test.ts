import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeRulesetSpec, METADATA_ADDRESS, renderEdgeRuleset } from "../../components/edge/nftables";
import { parseEdgeConfig } from "../../components/config/schema";
import { validEdgeRaw } from "../support/fixtures";
import { Netns, requireRealTools, run, tryRun } from "../support/realTools";

function exampleRulesetSpec(overrides: Partial<EdgeRulesetSpec> = {}): EdgeRulesetSpec {
  return {
    wan: "eth0",
    tunnel: "wg0",
    wireguardPort: 51820,
    ssh: { port: 22022, adminCidrs: ["198.51.100.0/24", "2001:db8:5::/48"], newConnectionsPerMinute: 6, burst: 4 },
    forwards: [
      { peer: "gateway", protocol: "tcp", ports: [80, 443, 25565], to: { ipv4: "10.10.10.2", ipv6: "fd7a:10:10::2" } },
      { peer: "derp", protocol: "udp", ports: [3478], to: { ipv4: "10.10.10.3", ipv6: "fd7a:10:10::3" } },
    ],
    spoofedSources: ["10.10.10.0/24", "fd7a:10:10::/64", "192.168.1.0/24"],
    metadataAddress: METADATA_ADDRESS,
    ...overrides,
  };
}

function writeRuleset(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "nft-")), "edge.nft");
  writeFileSync(file, text);
  return file;
}

describe("edge nftables ruleset", () => {
  const text = renderEdgeRuleset(exampleRulesetSpec());

  it("replaces the whole ruleset atomically with one inet table", () => {
    assert.match(text, /^flush ruleset$/m);
    assert.equal(text.match(/^table /gm)?.length, 1);
    assert.match(text, /^table inet edge \{$/m);
  });

  it("drops by default on input and forward", () => {
    assert.match(text, /chain input \{\n\s+type filter hook input priority filter; policy drop;/);
    assert.match(text, /chain forward \{\n\s+type filter hook forward priority filter; policy drop;/);
  });

  it("accepts WireGuard, essential ICMPv6 with packet-too-big, and SSH only from the admin sets under a rate limit", () => {
    assert.match(text, /udp dport 51820 accept/);
    assert.match(text, /icmpv6 type \{[^}]*packet-too-big[^}]*\} accept/);
    assert.match(text, /ip6 hoplimit 255 icmpv6 type \{[^}]*nd-neighbor-solicit/);
    assert.match(text, /elements = \{ 198\.51\.100\.0\/24 \}/);
    assert.match(text, /elements = \{ 2001:db8:5::\/48 \}/);
    assert.match(text, /tcp dport 22022 ip saddr @ssh_admin_v4 ct state new add @ssh_flood_v4 \{ ip saddr limit rate over 6\/minute burst 4 packets \} counter drop/);
    assert.match(text, /tcp dport 22022 ip6 saddr @ssh_admin_v6 ct state new add @ssh_flood_v6 \{ ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over 6\/minute burst 4 packets \} counter drop/);
    const sshAccepts = text.split("\n").filter((l) => /dport 22022 .*accept/.test(l));
    assert.equal(sshAccepts.length, 2);
    assert.ok(sshAccepts.every((l) => /@ssh_admin_v[46] accept/.test(l)), "every SSH accept is limited to the admin set");
  });

  it("omits an address family's SSH set when no admin CIDR of that family exists", () => {
    const v4only = renderEdgeRuleset(exampleRulesetSpec({ ssh: { port: 22022, adminCidrs: ["198.51.100.0/24"], newConnectionsPerMinute: 6, burst: 4 } }));
    assert.doesNotMatch(v4only, /ssh_admin_v6/);
  });

  it("clamps MSS, forwards only DNATed flows into the tunnel, and never masquerades", () => {
    assert.match(text, /tcp flags syn tcp option maxseg size set rt mtu/);
    assert.match(text, /iifname "eth0" oifname "wg0" ct status dnat accept/);
    assert.doesNotMatch(text, /masquerade|snat/);
  });

  it("DNATs every forwarded port for IPv4 and IPv6", () => {
    assert.match(text, /meta nfproto ipv4 tcp dport \{ 80, 443, 25565 \} dnat ip to 10\.10\.10\.2/);
    assert.match(text, /meta nfproto ipv6 tcp dport \{ 80, 443, 25565 \} dnat ip6 to fd7a:10:10::2/);
    assert.match(text, /meta nfproto ipv4 udp dport 3478 dnat ip to 10\.10\.10\.3/);
    const noV6 = renderEdgeRuleset(exampleRulesetSpec({ forwards: [{ peer: "gateway", protocol: "tcp", ports: [80, 443], to: { ipv4: "10.10.10.2" } }] }));
    assert.doesNotMatch(noV6, /dnat ip6/);
  });

  it("drops, before DNAT, what the internet cannot send: sources that do not route back out the WAN, and loopback, tunnel or LAN sources", () => {
    assert.match(text, /chain antispoof \{\n\s+type filter hook prerouting priority raw; policy accept;/);
    assert.match(text, /iifname "eth0" fib saddr \. iif oif missing counter drop/);
    assert.match(text, /iifname "eth0" ip saddr \{ 127\.0\.0\.0\/8, 10\.10\.10\.0\/24, 192\.168\.1\.0\/24 \} counter drop/);
    assert.match(text, /iifname "eth0" ip6 saddr \{ ::1\/128, fd7a:10:10::\/64 \} counter drop/);
    assert.match(text, /ip daddr 169\.254\.169\.254 meta skuid != 0 counter reject/);
  });

  describe("checked by the real nft", function () {
    it("passes nft -c -f", function () {
      requireRealTools(this, ["nft"], true);
      run("nft", ["-c", "-f", writeRuleset(text)]);
    });

    it("loads where /etc/protocols is missing, as on a minimal image (no protocol names, only nft's own keywords)", function () {
      requireRealTools(this, ["nft", "unshare", "mount"], true);
      // Found by the VM suite: "meta l4proto ipv6-icmp" needs netbase's /etc/protocols, and nftables.service then
      // fails at boot, leaving the VPS with no ruleset at all.
      const hidden = tryRun("unshare", ["--mount", "sh", "-c", 'mount --bind /dev/null /etc/protocols && nft -c -f "$0"', writeRuleset(text)]);
      assert.equal(hidden.status, 0, hidden.stderr);
    });

    it("rejects a broken ruleset, so the check is real", function () {
      requireRealTools(this, ["nft"], true);
      assert.throws(() => run("nft", ["-c", "-f", writeRuleset(text.replace("policy drop;", "policy dorp;"))]), /syntax error|Error/);
    });

    it("refuses a network inside another in the admin sets, as the config schema does, and takes neighbours", function () {
      requireRealTools(this, ["nft"], true);
      const check = (adminCidrs: string[]) => tryRun("nft", ["-c", "-f", writeRuleset(renderEdgeRuleset(exampleRulesetSpec({ ssh: { ...exampleRulesetSpec().ssh, adminCidrs } })))]);
      for (const nested of [["198.51.100.0/24", "198.51.100.0/25"], ["2001:db8:5::/48", "2001:db8:5:1::/64"]]) {
        const refused = check(nested);
        assert.notEqual(refused.status, 0, nested.join(", "));
        assert.match(refused.stderr, /conflicting intervals/);
      }
      assert.equal(check(["198.51.100.0/25", "198.51.100.128/25", "2001:db8:5::/48", "2001:db8:6::/48"]).status, 0);
      assert.throws(() => parseEdgeConfig({ ...validEdgeRaw(), adminCidrs: JSON.stringify(["198.51.100.0/24", "198.51.100.0/25"]) }), /lies inside/);
    });

    it("loads into a fresh network namespace and lists the expected chains", function () {
      requireRealTools(this, ["nft", "ip"], true);
      const ns = new Netns();
      try {
        ns.exec("nft", ["-f", writeRuleset(text)]);
        const listed = ns.exec("nft", ["list", "ruleset"]);
        assert.match(listed, /table inet edge/);
        for (const chain of ["input", "forward", "prerouting"]) assert.match(listed, new RegExp(`chain ${chain} \\{`));
        assert.match(listed, /hook input priority filter; policy drop;/);
        assert.match(listed, /hook forward priority filter; policy drop;/);
        assert.match(listed, /hook prerouting priority dstnat; policy accept;/);
        assert.match(listed, /dnat ip to 10\.10\.10\.2/);
      } finally {
        ns.delete();
      }
    });
  });

  describe("real traffic against the loaded ruleset, in network namespaces", function () {
    let vps: Netns;
    let internet: Netns;
    const connectScript = (host: string, port: number, timeoutMs: number) =>
      `const s = require("net").connect({ host: ${JSON.stringify(host)}, port: ${port}, family: ${host.includes(":") ? 6 : 4}, localAddress: process.argv[1] });` +
      `s.on("connect", () => { console.log("open"); process.exit(0); }); s.on("error", (e) => { console.log(e.code === "ECONNREFUSED" ? "reached" : e.code); process.exit(0); });` +
      `setTimeout(() => { console.log("dropped"); process.exit(0); }, ${timeoutMs});`;
    const connectFrom = (ns: Netns, source: string, host: string, port: number, timeoutMs = 400) => ns.exec(process.execPath, ["-e", connectScript(host, port, timeoutMs), source]).trim();
    const ping = (source: string, target: string) => internet.tryExec("ping", ["-c", "1", "-W", "1", "-I", source, target]).status === 0;

    before(function () {
      requireRealTools(this, ["nft", "ip", "ping", "setpriv"], true);
      vps = new Netns();
      internet = new Netns();
      execFileSync("ip", ["link", "add", "eth0", "netns", vps.name, "type", "veth", "peer", "name", "inet0", "netns", internet.name]);
      vps.exec("ip", ["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
      vps.exec("ip", ["addr", "add", "2001:db8:1::1/64", "dev", "eth0", "nodad"]);
      vps.exec("ip", ["link", "set", "eth0", "up"]);
      vps.exec("ip", ["route", "add", "default", "via", "192.0.2.2"]);
      vps.exec("ip", ["-6", "route", "add", "default", "via", "2001:db8:1::2"]);
      // The tunnel's networks route out wg0, as on the VPS; the metadata address answers locally, as Hetzner's does.
      vps.exec("ip", ["link", "add", "wg0", "type", "veth", "peer", "name", "wg0-far"]);
      vps.exec("ip", ["link", "set", "wg0-far", "up"]);
      vps.exec("ip", ["addr", "add", "10.10.10.1/24", "dev", "wg0"]);
      vps.exec("ip", ["addr", "add", "fd7a:10:10::1/64", "dev", "wg0", "nodad"]);
      vps.exec("ip", ["addr", "add", `${METADATA_ADDRESS}/32`, "dev", "lo"]);
      vps.exec("ip", ["link", "set", "wg0", "up"]);
      internet.exec("ip", ["addr", "add", "192.0.2.2/24", "dev", "inet0"]);
      internet.exec("ip", ["addr", "add", "2001:db8:1::2/64", "dev", "inet0", "nodad"]);
      // Forged sources, held by the internet side: a LAN address, a tunnel address and its IPv6 twin.
      for (const forged of ["192.168.1.50/32", "10.10.10.3/32"]) internet.exec("ip", ["addr", "add", forged, "dev", "inet0"]);
      internet.exec("ip", ["addr", "add", "fd7a:10:10::3/128", "dev", "inet0", "nodad"]);
      // Twelve addresses of one /64 inside the admin network 2001:db8:5::/48.
      for (let i = 0; i < 12; i++) internet.exec("ip", ["addr", "add", `2001:db8:5:0:1::${(i + 16).toString(16)}/128`, "dev", "inet0", "nodad"]);
      internet.exec("ip", ["link", "set", "inet0", "up"]);
      internet.exec("ip", ["route", "add", "default", "dev", "inet0"]);
      internet.exec("ip", ["-6", "route", "add", "default", "dev", "inet0"]);
      vps.exec("nft", ["-f", writeRuleset(text)]);
    });
    after(() => {
      vps?.delete();
      internet?.delete();
    });

    it("answers the internet's own addresses over IPv4 and IPv6, neighbour discovery and all", () => {
      assert.ok(ping("192.0.2.2", "192.0.2.1"));
      assert.ok(ping("2001:db8:1::2", "2001:db8:1::1"));
    });

    it("drops a LAN source the reverse path alone would let in, and tunnel sources in both families", () => {
      assert.ok(!ping("192.168.1.50", "192.0.2.1"), "a home LAN source from the internet");
      ping("10.10.10.3", "192.0.2.1");
      ping("fd7a:10:10::3", "2001:db8:1::1");
      const chain = vps.exec("nft", ["list", "chain", "inet", "edge", "antispoof"]);
      const dropped = (comment: string) => Number(chain.split("\n").find((l) => l.includes(comment))?.match(/counter packets (\d+)/)?.[1]);
      assert.ok(dropped("reverse path") >= 2, `the tunnel sources route out wg0, not the WAN:\n${chain}`);
      assert.ok(dropped("home LAN source") >= 1, chain);
    });

    it("lets only root reach the metadata service", () => {
      const server = spawn("ip", ["netns", "exec", vps.name, process.execPath, "-e", `require("net").createServer((c) => c.end()).listen(80, ${JSON.stringify(METADATA_ADDRESS)}, () => console.log("up"))`]);
      try {
        execFileSync("sh", ["-c", `for i in $(seq 50); do ip netns exec ${vps.name} ss -Hltn | grep -q ':80 ' && exit 0; sleep 0.1; done; exit 1`]);
        assert.equal(connectFrom(vps, "0.0.0.0", METADATA_ADDRESS, 80), "open", "root reaches it");
        const asNobody = vps.exec("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", connectScript(METADATA_ADDRESS, 80, 400), "0.0.0.0"]).trim();
        assert.equal(asNobody, "reached", "any other user is refused at once (the reject)");
      } finally {
        server.kill();
      }
    });

    it("limits SSH per IPv6 /64, not per address: twelve addresses of one /64 share one burst", () => {
      const outcomes = Array.from({ length: 12 }, (_, i) => connectFrom(internet, `2001:db8:5:0:1::${(i + 16).toString(16)}`, "2001:db8:1::1", 22022));
      const reached = outcomes.filter((o) => o === "reached").length;
      assert.equal(reached, 4, `the burst of 4, then drops: ${outcomes.join(" ")}`);
    });
  });
});
