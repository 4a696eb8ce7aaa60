import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgeRulesetSpec, renderEdgeRuleset } from "../../components/edge/nftables";
import { Netns, requireRealTools, run } from "../support/realTools";

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

  describe("checked by the real nft", function () {
    it("passes nft -c -f", function () {
      requireRealTools(this, ["nft"], true);
      run("nft", ["-c", "-f", writeRuleset(text)]);
    });

    it("rejects a broken ruleset, so the check is real", function () {
      requireRealTools(this, ["nft"], true);
      assert.throws(() => run("nft", ["-c", "-f", writeRuleset(text.replace("policy drop;", "policy dorp;"))]), /syntax error|Error/);
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
});
