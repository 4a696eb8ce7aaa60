import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { VPS_PATHS } from "../../components/edge/applyScript";
import { endpointAddress, renderPolicyRouting, renderWireguardConfig, wireguardPublicKey, withoutPrivateKey } from "../../components/edge/wireguard";
import { repoEdgePlan } from "../support/edgePlan";
import { Netns, requireRealTools, run } from "../support/realTools";

const WG_QUICK_ONLY = /^(Address|MTU|Table|PostUp|PreDown|PostDown|PreUp|DNS|SaveConfig)\s*=/m;

function configValue(config: string, key: string): string[] {
  return [...config.matchAll(new RegExp(`^${key} = (.*)$`, "gm"))].map((m) => m[1]);
}

describe("wireguard renderers", () => {
  it("renders a wg-quick config with every peer and only the keys given", () => {
    const text = renderWireguardConfig({
      privateKey: "cHJpdmF0ZQ==",
      addresses: ["10.10.10.2/24", "fd7a:10:10::2/64"],
      mtu: 1400,
      table: "off",
      postUp: ["ip -4 rule add from 10.10.10.2 lookup 51820"],
      peers: [{ name: "vps", publicKey: "cHVibGlj", allowedIps: ["0.0.0.0/0", "::/0"], endpoint: "edge.example.com:51820", persistentKeepalive: 25 }],
    });
    assert.deepEqual(configValue(text, "Address"), ["10.10.10.2/24, fd7a:10:10::2/64"]);
    assert.deepEqual(configValue(text, "MTU"), ["1400"]);
    assert.deepEqual(configValue(text, "Table"), ["off"]);
    assert.deepEqual(configValue(text, "PersistentKeepalive"), ["25"]);
    assert.deepEqual(configValue(text, "ListenPort"), []);
    assert.match(text, /# vps\n\[Peer\]\nPublicKey = cHVibGlj\nAllowedIPs = 0\.0\.0\.0\/0, ::\/0\nEndpoint = edge\.example\.com:51820/);
  });

  it("routes a home peer's replies back into the tunnel, for both families", () => {
    const routing = renderPolicyRouting({ device: "%i", ipv4: "10.10.10.2", ipv6: "fd7a:10:10::2", table: 51820, priority: 1000 });
    assert.deepEqual(routing.up, [
      "ip -4 route replace default dev %i table 51820",
      "ip -4 rule del from 10.10.10.2 lookup 51820 priority 1000 2>/dev/null || true",
      "ip -4 rule add from 10.10.10.2 lookup 51820 priority 1000",
      "ip -6 route replace default dev %i table 51820",
      "ip -6 rule del from fd7a:10:10::2 lookup 51820 priority 1000 2>/dev/null || true",
      "ip -6 rule add from fd7a:10:10::2 lookup 51820 priority 1000",
    ]);
    assert.equal(routing.down.length, 2);
  });

  it("also sends a wildcard-bound UDP port's answers through the tunnel, in both families, by source port", () => {
    const routing = renderPolicyRouting({ device: "%i", ipv4: "10.10.10.3", ipv6: "fd7a:10:10::3", table: 51820, priority: 1000, udpSourcePorts: [3478] });
    assert.ok(routing.up.includes("ip -4 rule add ipproto udp sport 3478 lookup 51820 priority 1000"));
    assert.ok(routing.up.includes("ip -6 rule add ipproto udp sport 3478 lookup 51820 priority 1000"));
    assert.ok(routing.down.includes("ip -6 rule del ipproto udp sport 3478 lookup 51820 priority 1000"));
    assert.equal(routing.down.length, 4);
  });

  it("brackets IPv6 endpoints", () => {
    assert.equal(endpointAddress("2001:db8::1", 51820), "[2001:db8::1]:51820");
    assert.equal(endpointAddress("edge.example.com", 51820), "edge.example.com:51820");
  });

  it("refuses a private key that is not 32 bytes", () => {
    assert.throws(() => wireguardPublicKey(Buffer.alloc(31).toString("base64")), /32 bytes, got 31/);
  });

  describe("checked by the real wg and wireguard-go", function () {
    it("derives the same public key as `wg pubkey`, for wg's own keys and for raw random bytes", function () {
      requireRealTools(this, ["wg"]);
      const keys = [...Array.from({ length: 4 }, () => run("wg", ["genkey"]).trim()), ...Array.from({ length: 4 }, () => randomBytes(32).toString("base64"))];
      for (const key of keys) assert.equal(wireguardPublicKey(key), run("wg", ["pubkey"], `${key}\n`).trim(), key);
    });

    it("every rendered config of the edge plan is accepted by `wg setconf` on a wireguard-go interface", async function () {
      requireRealTools(this, ["wg", "wg-quick", "wireguard-go", "ip"], true);
      const plan = await repoEdgePlan();
      const configs = Object.entries(plan.artifacts).filter(([file]) => /^wg.*\.conf$/.test(file));
      assert.deepEqual(configs.map(([file]) => file).sort(), ["wg-derp.conf", "wg-gateway.conf", "wg0.conf"]);
      const dir = mkdtempSync(join(tmpdir(), "wg-"));
      const ns = new Netns();
      try {
        configs.forEach(([file, text], i) => {
          const path = join(dir, `wgt${i}.conf`);
          writeFileSync(path, text, { mode: 0o600 });
          const stripped = run("wg-quick", ["strip", path]);
          assert.doesNotMatch(stripped, WG_QUICK_ONLY, `${file}: wg-quick keys must be stripped`);
          const strippedPath = join(dir, `wgt${i}.stripped`);
          writeFileSync(strippedPath, stripped, { mode: 0o600 });
          ns.exec("wireguard-go", [`wgt${i}`]);
          ns.exec("wg", ["setconf", `wgt${i}`, strippedPath]);
          const privateKey = configValue(text, "PrivateKey")[0];
          assert.equal(ns.exec("wg", ["show", `wgt${i}`, "public-key"]).trim(), wireguardPublicKey(privateKey), `${file}: interface key`);
          const peers = ns.exec("wg", ["show", `wgt${i}`, "allowed-ips"]).trim().split("\n");
          assert.equal(peers.length, configValue(text, "PublicKey").length, `${file}: every peer loaded`);
        });
      } finally {
        ns.delete();
      }
    });

    it("the user-data's wg0.conf comes up keyless with wg-quick, and the push's wg syncconf gives it the VPS's key", async function () {
      requireRealTools(this, ["wg", "wg-quick", "wireguard-go", "ip"], true);
      const plan = await repoEdgePlan();
      const userData = parse(plan.artifacts["cloud-init.yaml"]) as { write_files: { path: string; content: string }[] };
      const boot = userData.write_files.find((f) => f.path === VPS_PATHS.wireguard)!.content;
      assert.equal(boot, withoutPrivateKey(plan.artifacts["wg0.conf"]));
      assert.doesNotMatch(boot, /PrivateKey/);
      const dir = mkdtempSync(join(tmpdir(), "wg-boot-"));
      // wg-quick names the interface after the file, as wg-quick@wg0 does with /etc/wireguard/wg0.conf.
      const bootPath = join(dir, "wg0.conf");
      writeFileSync(bootPath, boot, { mode: 0o600 });
      const pushedPath = join(dir, "pushed.conf");
      writeFileSync(pushedPath, plan.artifacts["wg0.conf"], { mode: 0o600 });
      const ns = new Netns();
      try {
        // Where the kernel has no WireGuard module, wg-quick falls back to wireguard-go by itself.
        ns.exec("wg-quick", ["up", bootPath]);
        assert.match(ns.exec("ip", ["-br", "address", "show", "wg0"]), /10\.10\.10\.1\/24/);
        assert.equal(ns.exec("wg", ["show", "wg0", "private-key"]).trim(), "(none)");
        assert.equal(ns.exec("wg", ["show", "wg0", "peers"]).trim().split("\n").length, configValue(boot, "PublicKey").length, "every peer is there");
        const stripped = join(dir, "pushed.stripped");
        writeFileSync(stripped, run("wg-quick", ["strip", pushedPath]), { mode: 0o600 });
        ns.exec("wg", ["syncconf", "wg0", stripped]);
        const vpsPublicKey = (plan.outputs.wireguard.value as { vpsPublicKey: string }).vpsPublicKey;
        assert.equal(ns.exec("wg", ["show", "wg0", "public-key"]).trim(), vpsPublicKey);
      } finally {
        ns.delete();
      }
    });

    it("the gateway's policy routing sends replies from its tunnel address into the tunnel, despite the pod's own default route", async function () {
      requireRealTools(this, ["wg", "wireguard-go", "ip"], true);
      const plan = await repoEdgePlan();
      const gateway = plan.artifacts["wg-gateway.conf"];
      const ns = new Netns();
      try {
        // A pod's main table routes everything out of its own interface; the tunnel's rule must win over it.
        ns.exec("ip", ["link", "add", "pod0", "type", "veth", "peer", "name", "pod1"]);
        ns.exec("ip", ["address", "add", "10.42.0.10/16", "dev", "pod0"]);
        ns.exec("ip", ["address", "add", "fd42::10/64", "dev", "pod0", "nodad"]);
        ns.exec("ip", ["link", "set", "pod0", "up"]);
        ns.exec("ip", ["-4", "route", "add", "default", "via", "10.42.0.1", "dev", "pod0"]);
        ns.exec("ip", ["-6", "route", "add", "default", "via", "fd42::1", "dev", "pod0"]);
        ns.exec("wireguard-go", ["wg0"]);
        for (const address of configValue(gateway, "Address")[0].split(", ")) ns.exec("ip", ["address", "add", address, "dev", "wg0"]);
        ns.exec("ip", ["link", "set", "wg0", "up"]);
        const postUp = () => configValue(gateway, "PostUp").forEach((command) => ns.exec("sh", ["-c", command.replace(/%i/g, "wg0")]));
        postUp();
        postUp(); // a restarted init container runs it again in the same namespace
        assert.equal(ns.exec("ip", ["-4", "rule"]).match(/lookup 51820/g)?.length, 1, "one rule, however often it ran");
        assert.match(ns.exec("ip", ["-4", "route", "get", "198.51.100.20", "from", "10.10.10.2"]), /dev wg0 table 51820/);
        assert.match(ns.exec("ip", ["-6", "route", "get", "2001:db8::20", "from", "fd7a:10:10::2"]), /dev wg0 table 51820/);
        for (const command of configValue(gateway, "PreDown")) ns.exec("sh", ["-c", command.replace(/%i/g, "wg0")]);
        assert.doesNotMatch(ns.exec("ip", ["-4", "rule"]), /51820/);
      } finally {
        ns.delete();
      }
    });
  });
});
