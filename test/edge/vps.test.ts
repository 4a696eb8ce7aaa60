import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { VPS_PATHS } from "../../components/edge/applyScript";
import { Vps, VpsArgs } from "../../components/edge/vps";
import { wireguardPublicKey } from "../../components/edge/wireguard";
import { OfflineRun } from "../../tools/offline/engine";
import { idOf, resourceOf, resourcesOf, runEdge, runProgram } from "../support/offline";


const SERVER = "hcloud:index/server:Server";
const PRIMARY_IP = "hcloud:index/primaryIp:PrimaryIp";
const FIREWALL = "hcloud:index/firewall:Firewall";
const ATTACHMENT = "hcloud:index/firewallAttachment:FirewallAttachment";
const COMMAND = "command:remote:Command";

/** The wg0.conf the planned user-data writes, as cloud-init would. */
function bootWireguardConfig(run: OfflineRun): string {
  const userData = parse(String(resourceOf(run, SERVER, "edge").inputs.userData)) as { write_files: { path: string; content: string }[] };
  const file = userData.write_files.find((f) => f.path === VPS_PATHS.wireguard);
  if (!file) assert.fail(`the user-data writes no ${VPS_PATHS.wireguard}`);
  return file.content;
}

/** The VPS's WireGuard private key, from the full wg0.conf the plan renders. */
const vpsPrivateKey = (run: OfflineRun) => /^PrivateKey = (\S+)$/m.exec(run.artifacts["wg0.conf"])![1];

describe("Vps component", () => {
  it("builds the server from config, keyed, firewalled, with secret user-data", async () => {
    const run = await runEdge();
    const server = resourceOf(run, SERVER, "edge");
    assert.equal(server.inputs.serverType, "cx23");
    assert.equal(server.inputs.location, "fsn1");
    assert.equal(server.inputs.image, "debian-12");
    assert.deepEqual(server.inputs.sshKeys, [idOf(run, "hcloud:index/sshKey:SshKey", "edge")]);
    assert.deepEqual((server.inputs.publicNets as Record<string, unknown>[])[0].ipv4, Number(idOf(run, PRIMARY_IP, "edge-ipv4")));
    assert.ok(server.secretInputs.includes("userData"), "user-data carries the ruleset, and in mode replace the WireGuard private key");
    assert.match(String(server.inputs.userData), /^#cloud-config\n/);
    assert.deepEqual(server.inputs.labels, { "managed-by": "pulumi", project: "homelab", role: "edge" });
    assert.equal(resourceOf(run, "hcloud:index/sshKey:SshKey", "edge").inputs.publicKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPNKMnti0uPOAhQCxhEgxoWB43J1gMQkKBu5IL6rjxdy operator@laptop");
  });

  it("uses a key already in the Hetzner project by name or id instead of uploading it again", async () => {
    const run = await runEdge({ hcloudSshKey: "operator-laptop" });
    assert.deepEqual(resourceOf(run, SERVER, "edge").inputs.sshKeys, ["operator-laptop"]);
    assert.deepEqual(resourcesOf(run, "hcloud:index/sshKey:SshKey"), [], "Hetzner refuses a second key with the same fingerprint");
  });

  it("frees the primary IPs before a replacement takes them, and keeps them when the server goes", async () => {
    const run = await runEdge();
    const server = resourceOf(run, SERVER, "edge");
    assert.equal(server.options.deleteBeforeReplace, true);
    const ips = resourcesOf(run, PRIMARY_IP);
    assert.deepEqual(ips.map((ip) => ip.inputs.type).sort(), ["ipv4", "ipv6"]);
    for (const ip of ips) {
      assert.equal(ip.inputs.autoDelete, false);
      assert.equal(ip.inputs.assigneeType, "server");
    }
    const publicNet = (server.inputs.publicNets as Record<string, unknown>[])[0];
    assert.equal(publicNet.ipv4Enabled, true);
    assert.equal(publicNet.ipv6Enabled, true);
  });

  it("uses the server's own IPv6 address, ::1 of the /64 Hetzner reports", async () => {
    const run = await runEdge();
    const network = run.outputs.publicIpv6.value;
    assert.match(String(network), /^2001:db8:[0-9a-f]+::1$/);
    assert.match(run.artifacts["dns-records.txt"], new RegExp(`AAAA\\s+${String(network).replace(/\./g, "\\.")}`));
  });

  it("has no IPv6 address, and publishes none, when IPv6 is off", async () => {
    const run = await runEdge({ ipv6: "false" });
    assert.deepEqual(resourcesOf(run, PRIMARY_IP).map((ip) => ip.inputs.type), ["ipv4"]);
    assert.equal(run.outputs.publicIpv6, undefined);
    assert.doesNotMatch(run.artifacts["nftables.conf"], /dnat ip6/);
  });

  it("in mode ssh, ignores user-data changes and pushes them over SSH instead", async () => {
    const run = await runEdge();
    assert.deepEqual(resourceOf(run, SERVER, "edge").options.ignoreChanges, ["userData"]);
    assert.deepEqual(resourcesOf(run, COMMAND).map((c) => c.name).sort(), ["edge-push-apply", "edge-push-confirm"]);
  });

  it("in mode replace, lets new user-data replace the server and pushes nothing", async () => {
    const run = await runEdge({ edgeUpdateMode: "replace", sshPrivateKey: undefined });
    assert.deepEqual(resourceOf(run, SERVER, "edge").options.ignoreChanges, []);
    assert.equal(resourcesOf(run, COMMAND).length, 0);
  });

  it("in mode ssh, keeps the WireGuard private key out of the user-data: the tunnel boots keyless, with its addresses and peers", async () => {
    const run = await runEdge();
    const boot = bootWireguardConfig(run);
    assert.doesNotMatch(boot, /PrivateKey/);
    assert.ok(!String(resourceOf(run, SERVER, "edge").inputs.userData).includes(vpsPrivateKey(run)), "the key appears nowhere in the user-data");
    assert.equal(boot, run.artifacts["wg0.conf"].replace(/^PrivateKey = .*\n/m, ""), "everything else of wg0.conf is there");
    assert.match(boot, /^Address = 10\.10\.10\.1\/24, /m);
    assert.equal(boot.match(/^PublicKey = /gm)?.length, 2, "both home peers");
  });

  it("in mode replace, where nothing is pushed, writes the key in the user-data, which the ruleset lets only root fetch", async () => {
    const run = await runEdge({ edgeUpdateMode: "replace", sshPrivateKey: undefined });
    const key = /^PrivateKey = (\S+)$/m.exec(bootWireguardConfig(run))?.[1];
    assert.equal(key, vpsPrivateKey(run));
    assert.equal(wireguardPublicKey(key!), (run.outputs.wireguard.value as { vpsPublicKey: string }).vpsPublicKey);
    assert.match(run.artifacts["nftables.conf"], /ip daddr 169\.254\.169\.254 meta skuid != 0 counter reject/);
  });

  it("in mode ssh, changes the Firewall only after the push's confirm, and applies it by an attachment", async () => {
    const run = await runEdge();
    const server = resourceOf(run, SERVER, "edge");
    const firewall = resourceOf(run, FIREWALL, "edge");
    const confirm = resourceOf(run, COMMAND, "edge-push-confirm");
    assert.ok(firewall.options.dependsOn.includes(confirm.urn), "the confirm proved the new adminCidrs let Pulumi in");
    assert.equal(server.inputs.firewallIds, undefined, "the push waits for the server, so the server cannot wait for the Firewall");
    assert.ok(!server.options.dependsOn.includes(firewall.urn));
    const attachment = resourceOf(run, ATTACHMENT, "edge");
    assert.equal(attachment.inputs.firewallId, Number(idOf(run, FIREWALL, "edge")));
    assert.deepEqual(attachment.inputs.serverIds, [Number(idOf(run, SERVER, "edge"))]);
    assert.ok(attachment.options.dependsOn.includes(firewall.urn) && attachment.options.dependsOn.includes(server.urn));
  });

  it("in mode replace, gives the server the Firewall at creation, and keeps the same attachment, so a switch of mode deletes nothing", async () => {
    const run = await runEdge({ edgeUpdateMode: "replace", sshPrivateKey: undefined });
    const server = resourceOf(run, SERVER, "edge");
    const firewall = resourceOf(run, FIREWALL, "edge");
    assert.deepEqual(server.inputs.firewallIds, [Number(idOf(run, FIREWALL, "edge"))]);
    assert.deepEqual(firewall.options.dependsOn, []);
    assert.deepEqual(resourceOf(run, ATTACHMENT, "edge").inputs.serverIds, [Number(idOf(run, SERVER, "edge"))]);
  });

  it("opens on the firewall exactly what the ruleset forwards, WireGuard, ICMP and admin SSH", async () => {
    const run = await runEdge();
    const rules = resourceOf(run, FIREWALL, "edge").inputs.rules as Record<string, unknown>[];
    const summary = rules.map((r) => `${r.protocol}/${r.port ?? "-"} from ${(r.sourceIps as string[]).join(",")}`).sort();
    assert.deepEqual(summary, [
      "icmp/- from 0.0.0.0/0,::/0",
      "tcp/22022 from 198.51.100.0/24,2001:db8:5::/48",
      "tcp/25565 from 0.0.0.0/0,::/0",
      "tcp/443 from 0.0.0.0/0,::/0",
      "tcp/80 from 0.0.0.0/0,::/0",
      "udp/3478 from 0.0.0.0/0,::/0",
      "udp/51820 from 0.0.0.0/0,::/0",
    ]);
    const withoutDerp = await runEdge({ derp: "false" });
    const derpless = resourceOf(withoutDerp, FIREWALL, "edge").inputs.rules as Record<string, unknown>[];
    assert.ok(!derpless.some((r) => r.port === "3478"));
    assert.doesNotMatch(withoutDerp.artifacts["nftables.conf"], /3478/);
  });

  it("can be built on its own, without this project's config files", async () => {
    const run = await runProgram(() => {
      const vps = new Vps("solo", soloArgs({ mode: "replace", commitConfirmSeconds: 60, sshUser: "root" }));
      return { outputs: { ipv4: vps.ipv4 }, artifacts: { ruleset: vps.artifacts.ruleset } };
    });
    assert.equal(resourceOf(run, SERVER, "solo").inputs.location, "hel1");
    assert.match(String(run.outputs.ipv4.value), /^203\.0\.113\.\d+$/);
    assert.match(run.artifacts.ruleset, /tcp dport 2222 ip saddr @ssh_admin_v4 accept/);
    const rules = resourceOf(run, FIREWALL, "solo").inputs.rules as { protocol: string; port?: string }[];
    assert.deepEqual(rules.map((r) => `${r.protocol}/${r.port ?? "-"}`), ["tcp/80", "tcp/443", "udp/51820", "icmp/-", "tcp/2222"]);
  });

  it("refuses mode ssh without a key to connect with", async () => {
    await assert.rejects(
      runProgram(() => {
        new Vps("nokey", soloArgs({ mode: "ssh", commitConfirmSeconds: 60, sshUser: "root" }));
        return { outputs: {}, artifacts: {} };
      }),
      /update mode ssh needs sshPrivateKey/,
    );
  });
});

/** Vps arguments written out by hand, as a program that uses only this component would. */
function soloArgs(update: VpsArgs["update"]): VpsArgs {
  const forwards = [{ peer: "gateway" as const, protocol: "tcp" as const, ports: [80, 443] }];
  return {
    serverType: "cx23",
    location: "hel1",
    image: "debian-12",
    sshPublicKey: "ssh-ed25519 AAAA test",
    ipv6: false,
    ruleset: { wan: "eth0", tunnel: "wg0", wireguardPort: 51820, ssh: { port: 2222, adminCidrs: ["192.0.2.0/24"], newConnectionsPerMinute: 6, burst: 4 }, forwards: forwards.map((f) => ({ ...f, to: { ipv4: "10.9.9.2" } })), spoofedSources: ["10.9.9.0/24"], metadataAddress: "169.254.169.254" },
    firewall: { forwards, wireguardPort: 51820, ssh: { port: 2222, adminCidrs: ["192.0.2.0/24"] } },
    wireguardConfig: "[Interface]\n",
    probe: { peerPublicKey: "key", address: "10.9.9.2", port: 443, maxHandshakeAgeSeconds: 180 },
    update,
    labels: {},
  };
}
