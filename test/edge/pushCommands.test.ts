import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { AddressInfo, createServer, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GATEWAY_STATE_LINE, renderApplyScript, STAGED_FILES } from "../../components/edge/applyScript";
import { APPLY_STDOUT_ENV, renderConfirmCommand, renderPublicProbeCommand, renderPushCommand, renderPushInput } from "../../components/edge/pushCommands";
import { Netns, requireRealTools } from "../support/realTools";

/** Runs the rendered probe through sh, as the command provider's local Command does, with apply's stdout given. */
function probe(port: number, applyStdout: string, hosts = ["127.0.0.1"]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", renderPublicProbeCommand(hosts, port)], { env: { ...process.env, [APPLY_STDOUT_ENV]: applyStdout }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const listening = (): Promise<Server> => new Promise((resolve) => { const server = createServer((s) => s.end()); server.listen(0, "127.0.0.1", () => resolve(server)); });
const portOf = (server: Server) => (server.address() as AddressInfo).port;

describe("the public-path probe between apply and confirm", function () {
  before(function () {
    requireRealTools(this, ["sh", "node"]);
  });

  it("passes when the forwarded port answers and apply said the gateway is up", async () => {
    const server = await listening();
    try {
      const result = await probe(portOf(server), `${GATEWAY_STATE_LINE}up\n`);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /answers through the forwarded public path/);
    } finally {
      server.close();
    }
  });

  it("fails, saying the change breaks the public path, when the gateway is up but the port does not answer", async () => {
    const server = await listening();
    const port = portOf(server);
    await new Promise((r) => server.close(r));
    const result = await probe(port, `some log line\n${GATEWAY_STATE_LINE}up\n`);
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port} does not answer from here \\(ECONNREFUSED\\) though the gateway is up: .*not confirming`));
  });

  it("probes each family: one that does not answer fails the probe, though the other does", async () => {
    const server = await listening();
    try {
      const result = await probe(portOf(server), `${GATEWAY_STATE_LINE}up\n`, ["127.0.0.1", "::1"]);
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.stdout, new RegExp(`127\\.0\\.0\\.1:${portOf(server)} answers`));
      assert.match(result.stderr, new RegExp(`::1:${portOf(server)} does not answer from here \\(ECONNREFUSED\\)`));
    } finally {
      server.close();
    }
  });

  it("skips an IPv6 address this machine has no route to, as on a runner without IPv6, and still probes IPv4", async function () {
    requireRealTools(this, ["ip"], true);
    const ns = new Netns();
    try {
      ns.exec("ip", ["link", "set", "lo", "up"]);
      const script = `require("net").createServer((s) => s.end()).listen(8443, "127.0.0.1", () => { require("child_process").execFile("sh", ["-c", process.argv[1]], { env: { ...process.env, ${APPLY_STDOUT_ENV}: "${GATEWAY_STATE_LINE}up" } }, (err, stdout, stderr) => { console.log(JSON.stringify({ status: err ? err.code : 0, stdout, stderr })); process.exit(0); }); });`;
      const result = JSON.parse(ns.exec(process.execPath, ["-e", script, renderPublicProbeCommand(["127.0.0.1", "2001:db8::1"], 8443)]));
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /127\.0\.0\.1:8443 answers/);
      assert.match(result.stdout, /no IPv6 route from here to 2001:db8::1; its public path is not probed/);
    } finally {
      ns.delete();
    }
  });

  it("skips the probe when apply said the gateway has no recent handshake, as on a first deploy", async () => {
    const server = await listening();
    const port = portOf(server);
    await new Promise((r) => server.close(r));
    const result = await probe(port, `${GATEWAY_STATE_LINE}down\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /no recent handshake; the public path is not probed/);
  });
});

/** Scratch paths for the VPS's files, and the apply script rendered for them. */
function scratchEdge(prefix: string, confirmSeconds: number) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(root, "etc"));
  const paths = { ruleset: join(root, "etc/nftables.conf"), wireguard: join(root, "etc/wg0.conf"), sshdDropIn: join(root, "etc/sshd.conf"), state: join(root, "state") };
  const script = renderApplyScript({ paths, wireguardInterface: "wg0", confirmSeconds, probe: { peerPublicKey: "key", address: "10.10.10.2", port: 443, maxHandshakeAgeSeconds: 180 } });
  return { paths, script };
}

describe("the push command, run for real in a network namespace", function () {
  const confirmSeconds = 2;
  let ns: Netns;

  before(function () {
    requireRealTools(this, ["nft", "ip", "setsid", "install", "flock", "sha256sum"], true);
    ns = new Netns();
  });
  after(() => ns?.delete());

  it("leaves no staged directory, which holds the private key, once apply returns, applied or rejected, and still rolls back", async () => {
    const { paths, script } = scratchEdge("edge-push-", confirmSeconds);
    // cloud-init is done, as it is when Pulumi's push gets in.
    const bin = mkdtempSync(join(tmpdir(), "fake-cloud-init-"));
    writeFileSync(join(bin, "cloud-init"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const inNs = (command: string, input?: string) => ns.tryExec("env", [`PATH=${bin}:${process.env.PATH}`, "sh", "-c", command], input);
    const ruleset = (port: number, policy = "drop") => `flush ruleset\ntable inet edge {\n  chain input {\n    type filter hook input priority filter; policy ${policy};\n    tcp dport ${port} accept\n  }\n}\n`;
    const push = (token: string, rules: string) => inNs(renderPushCommand(token, paths), renderPushInput({ ruleset: rules, wireguard: `[Interface]\nPrivateKey = key-of-${token}\n`, sshdDropIn: "Port 22022\n", script }));
    const stagedRoot = join(paths.state, "staged");
    // What a push from before this change left behind.
    mkdirSync(join(stagedRoot, "tok-older"), { recursive: true });
    writeFileSync(join(stagedRoot, "tok-older", STAGED_FILES.wireguard), "[Interface]\nPrivateKey = key-of-tok-older\n");

    const first = push("tok-first", ruleset(22022));
    assert.equal(first.status, 0, first.stderr);
    assert.ok(!existsSync(stagedRoot), "the staged files are gone, an older push's too");
    assert.equal(inNs(renderConfirmCommand("tok-first", paths)).status, 0);

    const second = push("tok-second", ruleset(22023));
    assert.equal(second.status, 0, second.stderr);
    assert.ok(!existsSync(stagedRoot));
    assert.match(readFileSync(paths.wireguard, "utf8"), /key-of-tok-second/);
    assert.equal(statSync(paths.state).mode & 0o777, 0o700, "the last good copy of the key sits where only root reads");
    for (const deadline = Date.now() + (confirmSeconds + 5) * 1000; existsSync(join(paths.state, "pending")) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 200));
    assert.ok(!existsSync(join(paths.state, "pending")), "the unconfirmed change was never rolled back");
    assert.match(readFileSync(paths.wireguard, "utf8"), /key-of-tok-first/, "the rollback took the last good wg0.conf from the state directory");
    assert.match(ns.exec("nft", ["list", "ruleset"]), /tcp dport 22022 accept/);

    const rejected = push("tok-rejected", ruleset(22024, "maybe"));
    assert.equal(rejected.status, 3, `apply's own status comes back: ${rejected.stderr}`);
    assert.ok(!existsSync(stagedRoot), "a rejected push leaves none either");
  });

  it("keeps the files off every command line while it runs: any process can read /proc/<pid>/cmdline, and wg0.conf holds the key", async () => {
    const { paths, script } = scratchEdge("edge-push-argv-", confirmSeconds);
    // cloud-init still running, as on a first deploy: the push waits, alive, with its files already sent.
    const bin = mkdtempSync(join(tmpdir(), "slow-cloud-init-"));
    writeFileSync(join(bin, "cloud-init"), "#!/bin/sh\nsleep 2\nexit 0\n", { mode: 0o755 });
    const key = "key-of-tok-argv-0123456789";
    const files = { ruleset: "flush ruleset\n", wireguard: `[Interface]\nPrivateKey = ${key}\n`, sshdDropIn: "Port 22022\n", script };
    const pushing = spawn("ip", ["netns", "exec", ns.name, "env", `PATH=${bin}:${process.env.PATH}`, "sh", "-c", renderPushCommand("tok-argv", paths)]);
    pushing.stdin.end(renderPushInput(files));
    const done = new Promise((r) => pushing.once("exit", r));
    await new Promise((r) => setTimeout(r, 700));
    const secrets = [key, Buffer.from(files.wireguard).toString("base64")];
    const seen = readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, "utf8")];
      } catch {
        return [];
      }
    });
    assert.ok(seen.some((cmdline) => cmdline.includes("tok-argv")), "the push is running while the command lines are read");
    assert.deepEqual(seen.filter((cmdline) => secrets.some((s) => cmdline.includes(s))), []);
    await done;
  });
});
