import { strict as assert } from "node:assert";
import { changeToken } from "../../components/edge/configPush";
import { APPLY_STDOUT_ENV, renderPublicProbeCommand } from "../../components/edge/pushCommands";
import { wireguardPublicKey } from "../../components/edge/wireguard";
import { idOf, resourceOf, runEdge } from "../support/offline";
import { stagedFilesOf } from "../support/pushInput";

const COMMAND = "command:remote:Command";
const files = { ruleset: "r", wireguard: "w", sshdDropIn: "s", script: "x" };

describe("EdgeConfigPush component", () => {
  it("names a change by the hash of every file", () => {
    assert.match(changeToken(files), /^[0-9a-f]{16}$/);
    for (const key of Object.keys(files) as (keyof typeof files)[]) {
      assert.notEqual(changeToken({ ...files, [key]: `${files[key]}!` }), changeToken(files), `${key} changes the token`);
    }
  });

  it("applies over one SSH connection and confirms over a second, new one", async () => {
    const run = await runEdge();
    const apply = resourceOf(run, COMMAND, "edge-push-apply");
    const confirm = resourceOf(run, COMMAND, "edge-push-confirm");
    const server = resourceOf(run, "hcloud:index/server:Server", "edge");
    assert.ok(apply.options.dependsOn.includes(server.urn), "the push waits for the server");
    const probe = resourceOf(run, "command:local:Command", "edge-push-probe");
    assert.ok(probe.options.dependsOn.includes(apply.urn), "the public-path probe runs after apply");
    assert.ok(confirm.options.dependsOn.includes(probe.urn), "confirm runs only after the probe passed");
    assert.deepEqual(apply.inputs.triggers, confirm.inputs.triggers);
    assert.deepEqual(probe.inputs.triggers, confirm.inputs.triggers, "every new push probes again");
    const [token, serverId] = apply.inputs.triggers as string[];
    assert.equal(serverId, idOf(run, "hcloud:index/server:Server", "edge"), "a replaced server (a new id) gets the current files pushed and confirmed");
    assert.match(token, /^[0-9a-f]{16}$/);
    assert.match(String(confirm.inputs.create), new RegExp(`confirm '${token}'`));
    assert.match(String(apply.inputs.create), new RegExp(`apply "\\$staged" '${token}'`));
    assert.match(String(apply.inputs.create), /cloud-init status --wait/);
  });

  it("probes the VPS's public addresses, both families, on the forwarded 443, with apply's report of the gateway in its environment", async () => {
    const run = await runEdge();
    const probe = resourceOf(run, "command:local:Command", "edge-push-probe");
    const [publicIpv4, publicIpv6] = [String(run.outputs.publicIpv4.value), String(run.outputs.publicIpv6.value)];
    assert.equal(probe.inputs.create, renderPublicProbeCommand([publicIpv4, publicIpv6], 443));
    const v4Only = resourceOf(await runEdge({ ipv6: "false" }), "command:local:Command", "edge-push-probe");
    assert.equal(v4Only.inputs.create, renderPublicProbeCommand([publicIpv4], 443), "no IPv6 on the VPS, none probed");
    assert.deepEqual(Object.keys(probe.inputs.environment as object), [APPLY_STDOUT_ENV]);
  });

  it("connects to the admin SSH port with the secret key, and keeps the pushed files secret", async () => {
    const run = await runEdge();
    const apply = resourceOf(run, COMMAND, "edge-push-apply");
    const connection = apply.inputs.connection as Record<string, unknown>;
    assert.equal(connection.port, 22022);
    assert.equal(connection.user, "root");
    assert.ok(apply.secretInputs.includes("connection"), "the private key is secret");
    assert.ok(apply.secretInputs.includes("stdin"), "standard input carries wg0.conf");
    assert.ok(!String(apply.inputs.create).includes(Buffer.from(run.artifacts["wg0.conf"]).toString("base64")), "the command line carries no file");
    assert.deepEqual(run.leaks, []);
  });

  it("pushes exactly the files cloud-init writes", async () => {
    const run = await runEdge();
    const byName = stagedFilesOf(String(resourceOf(run, COMMAND, "edge-push-apply").inputs.stdin));
    const pushed = Object.entries(byName);
    assert.deepEqual(Object.keys(byName).sort(), ["apply.sh", "nftables.conf", "sshd.conf", "wg0.conf"]);
    assert.equal(byName["nftables.conf"], run.artifacts["nftables.conf"]);
    assert.equal(byName["wg0.conf"], run.artifacts["wg0.conf"]);
    assert.equal(byName["sshd.conf"], run.artifacts["sshd-10-homelab.conf"]);
    assert.equal(byName["apply.sh"], run.artifacts["apply.sh"]);
    for (const [, content] of pushed) assert.ok(run.artifacts["cloud-init.yaml"].includes(content.split("\n")[0]));
  });

  it("delivers the VPS's WireGuard private key, which the user-data leaves out in this mode", async () => {
    const run = await runEdge();
    const wg0 = stagedFilesOf(String(resourceOf(run, COMMAND, "edge-push-apply").inputs.stdin))["wg0.conf"];
    const key = /^PrivateKey = (\S+)$/m.exec(wg0)?.[1];
    assert.ok(key, "the pushed wg0.conf has a PrivateKey");
    assert.equal(wireguardPublicKey(key), (run.outputs.wireguard.value as { vpsPublicKey: string }).vpsPublicKey);
    assert.ok(!run.artifacts["cloud-init.yaml"].includes(key));
  });
});
