import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { WAIVER_RULES } from "../../components/apps/gluetun";
import { TUNNEL_SETUP_WAIVERS, tunnelEndpointEgress, tunnelSetupContainer, tunnelSetupExemptions } from "../../components/home/tunnelSetup";
import { parseHomeConfig } from "../../components/config/schema";
import { exemptionAnnotation } from "../../components/contract/policyNames";
import { renderPolicyRouting, renderWireguardConfig } from "../../components/edge/wireguard";
import { validHomeRaw } from "../support/fixtures";
import { Netns, requireRealTools, run, tryRun } from "../support/realTools";

describe("tunnel setup (the wg-quick init container of the gateway and of Headscale)", () => {
  it("defaults to a WireGuard image tag linuxserver publishes", () => {
    // linuxserver/docker-wireguard's Jenkinsfile (at 1.0.20250521-r1-ls110) pushes `<wireguard-tools apk version>-ls<build>`,
    // `version-<apk version>` and latest: a bare upstream version such as 1.0.20250521 is never a tag, so it cannot be pulled.
    const tag = parseHomeConfig(validHomeRaw()).gatewayImages.wireguard.split(":").pop();
    assert.match(tag!, /^(\d+\.\d+\.\d+-r\d+-ls\d+|version-\d+\.\d+\.\d+-r\d+)$/);
  });

  it("adds NET_ADMIN and nothing else, runs wg-quick on the mounted config, and is sized", () => {
    const container = tunnelSetupContainer("lscr.io/linuxserver/wireguard:1.0.20250521", "derp-wireguard") as any;
    assert.deepEqual(container.command.slice(0, 2), ["sh", "-c"]);
    assert.match(container.command[2], /exec wg-quick up \/etc\/wireguard\/wg0\.conf$/);
    assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.volumeMounts, [{ name: "derp-wireguard", mountPath: "/etc/wireguard", readOnly: true }]);
    assert.ok(container.resources.limits.memory);
  });

  it("exempts the workload from exactly the policy rules its namespace's waivers name", () => {
    const waived = TUNNEL_SETUP_WAIVERS.flatMap((w) => WAIVER_RULES[w.rule]).map(exemptionAnnotation).sort();
    assert.deepEqual(Object.keys(tunnelSetupExemptions("haproxy")).sort(), waived);
    assert.ok(Object.values(tunnelSetupExemptions("haproxy")).every((reason) => reason.length > 20), "every exemption says why");
  });

  it("lets the pod out only to the VPS's WireGuard port", async () => {
    const rule = tunnelEndpointEgress({ address: "203.0.113.10", port: 51820 }) as any;
    assert.deepEqual(rule.ports, [{ protocol: "UDP", port: 51820 }]);
    const cidr = await new Promise((resolve) => pulumi.output(rule.to[0].ipBlock.cidr).apply(resolve));
    assert.equal(cidr, "203.0.113.10/32");
  });
});

describe("tunnel setup's command, run by the real wg-quick in a namespace as the pod's init container", function () {
  let dir: string;
  let netns: Netns | undefined;
  const container = tunnelSetupContainer("lscr.io/linuxserver/wireguard:1.0.20250521", "wireguard") as any;
  const env = Object.fromEntries((container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));

  before(function () {
    requireRealTools(this, ["ip", "wg", "wg-quick", "wireguard-go", "sh"], true);
    dir = mkdtempSync(join(tmpdir(), "tunnel-setup-"));
    const key = run("wg", ["genkey"]).trim();
    const routing = renderPolicyRouting({ device: "%i", ipv4: "10.10.10.2", table: 51820, priority: 1000 });
    const config = renderWireguardConfig({ privateKey: key, addresses: ["10.10.10.2/24"], mtu: 1420, table: "off", postUp: routing.up, preDown: routing.down, peers: [{ name: "vps", publicKey: run("wg", ["pubkey"], key).trim(), allowedIps: ["0.0.0.0/0"], endpoint: "192.0.2.1:51820" }] });
    writeFileSync(join(dir, "wg0.conf"), config, { mode: 0o600 });
  });
  beforeEach(() => (netns = new Netns()));
  afterEach(() => netns?.delete());
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  /** One run of the init container: its config mounted at /etc/wireguard, and wireguard-go's sockets kept to this run. */
  const initContainer = (overrides: Record<string, string> = {}) => {
    const vars = Object.entries({ ...env, ...overrides }).map(([k, v]) => `${k}=${v}`);
    return tryRun("ip", ["netns", "exec", netns!.name, "sh", "-c", `mount -t tmpfs tmpfs /run/wireguard && mount --bind ${dir} /etc/wireguard && exec env ${vars.join(" ")} "$@"`, "init", ...container.command]);
  };

  it("fails on a node without kernel WireGuard instead of leaving a wireguard-go that dies with the container", function () {
    if (run("sh", ["-c", "ip link add hl-probe-wg type wireguard 2>/dev/null && ip link del hl-probe-wg && echo yes || true"]).trim() === "yes") this.skip();
    const result = initContainer();
    assert.notEqual(result.status, 0, "wg-quick fell back to userspace");
    assert.match(result.stderr, /ip link add wg0 type wireguard\nError: Unknown device type/);
    assert.doesNotMatch(result.stderr, /wireguard-go wg0/, "no userspace fallback");
    assert.equal(netns!.tryExec("ip", ["link", "show", "wg0"]).status, 1, "no wg0 left behind");
  });

  it("runs again in the same namespace, as a restarted init container does, and leaves one wg0 with one set of rules", () => {
    // This machine has no WireGuard module: wireguard-go stands in for it, as the e2e topology's peers do.
    const kernel = { WG_QUICK_USERSPACE_IMPLEMENTATION: "wireguard-go" };
    const first = initContainer(kernel);
    assert.equal(first.status, 0, first.stderr);
    const second = initContainer(kernel);
    assert.equal(second.status, 0, `the second run failed:\n${second.stderr}`);
    assert.match(netns!.exec("ip", ["-br", "address", "show", "wg0"]), /10\.10\.10\.2\/24/);
    const rules = netns!.exec("ip", ["-4", "rule", "show"]).split("\n").filter((line) => line.includes("from 10.10.10.2 lookup 51820"));
    assert.equal(rules.length, 1, rules.join("\n"));
  });
});
