import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EdgePaths, GATEWAY_STATE_LINE, renderApplyScript, STAGED_FILES } from "../../components/edge/applyScript";
import { renderConfirmCommand, renderPushCommand, renderPushInput } from "../../components/edge/pushCommands";
import { Netns, requireRealTools, run } from "../support/realTools";

const CONFIRM_SECONDS = 3;

function scratchPaths(): EdgePaths {
  const root = mkdtempSync(join(tmpdir(), "edge-apply-"));
  mkdirSync(join(root, "etc"));
  return { ruleset: join(root, "etc/nftables.conf"), wireguard: join(root, "etc/wg0.conf"), sshdDropIn: join(root, "etc/sshd.conf"), state: join(root, "state") };
}

const rulesetWithPort = (port: number) => `flush ruleset\ntable inet edge {\n  chain input {\n    type filter hook input priority filter; policy drop;\n    tcp dport ${port} accept\n  }\n}\n`;

const PROBE_PEER_KEY = "cHVibGljLWtleS1vZi10aGUtZ2F0ZXdheS1wZWVyLQ==";

function scriptFor(paths: EdgePaths): string {
  return renderApplyScript({
    paths,
    wireguardInterface: "wg0",
    confirmSeconds: CONFIRM_SECONDS,
    probe: { peerPublicKey: PROBE_PEER_KEY, address: "10.10.10.2", port: 443, maxHandshakeAgeSeconds: 180 },
  });
}

/** Stages files as the push command would, and returns the directory. */
function stage(paths: EdgePaths, name: string, ruleset: string, wireguard = "[Interface]\nPrivateKey = x\n"): string {
  const dir = join(paths.state, "..", `staged-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, STAGED_FILES.ruleset), ruleset);
  writeFileSync(join(dir, STAGED_FILES.wireguard), wireguard);
  writeFileSync(join(dir, STAGED_FILES.sshdDropIn), `Port ${name.length + 22000}\n`);
  writeFileSync(join(dir, STAGED_FILES.script), scriptFor(paths));
  return dir;
}

async function waitFor(condition: () => boolean, seconds: number): Promise<boolean> {
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (condition()) return true;
  }
  return condition();
}

describe("edge apply-with-rollback script", () => {
  it("is valid POSIX sh that shellcheck passes, and so is the push command", function () {
    requireRealTools(this, ["sh", "shellcheck"]);
    const paths = scratchPaths();
    const push = renderPushCommand("abc123", paths);
    for (const script of [scriptFor(paths), push]) {
      run("sh", ["-n"], script);
      run("shellcheck", ["--shell=sh", "-"], script);
    }
    assert.match(push, /^set -eu\nif command -v cloud-init .* cloud-init status --wait/);
    assert.match(push, /apply "\$staged" 'abc123'\n$/);
    assert.equal(renderConfirmCommand("abc123", paths), `sh '${paths.state}/apply.sh' confirm 'abc123'\n`);
  });

  describe("run for real in a network namespace", function () {
    let ns: Netns;
    let paths: EdgePaths;
    const sh = (...args: string[]) => ns.tryExec("sh", args);
    const loaded = () => ns.exec("nft", ["list", "ruleset"]);

    before(function () {
      requireRealTools(this, ["nft", "ip", "setsid", "install"], true);
      ns = new Netns();
      paths = scratchPaths();
    });
    after(() => ns?.delete());

    it("applies a ruleset and keeps it once confirmed over a second call", async () => {
      const dir = stage(paths, "first", rulesetWithPort(22022));
      const applied = sh(join(dir, STAGED_FILES.script), "apply", dir, "tok-1");
      assert.equal(applied.status, 0, applied.stderr);
      assert.match(loaded(), /tcp dport 22022 accept/);
      const confirmed = sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-1");
      assert.equal(confirmed.status, 0, confirmed.stderr);
      assert.ok(!existsSync(join(paths.state, "pending")));
      await new Promise((r) => setTimeout(r, (CONFIRM_SECONDS + 1) * 1000));
      assert.match(loaded(), /tcp dport 22022 accept/, "a confirmed change stays after the timer");
      assert.equal(readFileSync(paths.ruleset, "utf8"), rulesetWithPort(22022));
    });

    it("returns at once (the timer is detached), then rolls back an unconfirmed change by itself", async () => {
      const dir = stage(paths, "second", rulesetWithPort(22023));
      const started = Date.now();
      const applied = sh(join(dir, STAGED_FILES.script), "apply", dir, "tok-2");
      const seconds = (Date.now() - started) / 1000;
      assert.equal(applied.status, 0, applied.stderr);
      assert.ok(seconds < CONFIRM_SECONDS, `apply held its output open for ${seconds}s: the rollback timer is not detached`);
      assert.match(loaded(), /tcp dport 22023 accept/);
      assert.ok(await waitFor(() => !existsSync(join(paths.state, "pending")), CONFIRM_SECONDS + 5), "the timer never fired");
      assert.match(loaded(), /tcp dport 22022 accept/, "the last good ruleset is back");
      assert.doesNotMatch(loaded(), /22023/);
      assert.equal(readFileSync(paths.ruleset, "utf8"), rulesetWithPort(22022));
      assert.equal(readFileSync(paths.sshdDropIn, "utf8"), "Port 22005\n", "the sshd drop-in came back too");
      assert.match(readFileSync(join(paths.state, "log"), "utf8"), /rolling back to the last good files/);
    });

    it("checks the sshd drop-in even where no running ssh.service has made /run/sshd", function () {
      requireRealTools(this, ["sshd", "unshare", "mount"]);
      // A private, empty /run in a mount namespace of its own: the fresh machine, with the host's /run untouched.
      const dir = stage(paths, "no-privsep-dir", rulesetWithPort(22022));
      const inFreshRun = 'mount -t tmpfs tmpfs /run && sh "$0" apply "$1" "$2" && test -d /run/sshd && echo made-privsep-dir';
      const applied = ns.tryExec("unshare", ["--mount", "sh", "-c", inFreshRun, join(dir, STAGED_FILES.script), dir, "tok-privsep"]);
      assert.equal(applied.status, 0, applied.stderr);
      assert.match(applied.stdout, /made-privsep-dir/);
      assert.equal(sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-privsep").status, 0);
    });

    it("pushes even when cloud-init ended with an error, as Debian 12's exits 1 for any failed module, and says so", () => {
      const bin = mkdtempSync(join(tmpdir(), "fake-cloud-init-"));
      writeFileSync(join(bin, "cloud-init"), '#!/bin/sh\n[ "$2" = --long ] && echo "status: error"\nexit 1\n', { mode: 0o755 });
      const files = { ruleset: rulesetWithPort(22022), wireguard: "[Interface]\nPrivateKey = x\n", sshdDropIn: "Port 22022\n", script: scriptFor(paths) };
      const pushed = ns.tryExec("env", [`PATH=${bin}:${process.env.PATH}`, "sh", "-c", renderPushCommand("tok-ci-error", paths)], renderPushInput(files));
      assert.equal(pushed.status, 0, pushed.stderr);
      assert.match(pushed.stderr, /cloud-init ended with errors; applying anyway: status: error/);
      assert.equal(sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-ci-error").status, 0);
    });

    it("rejects a broken ruleset before touching anything, and the old one keeps serving", () => {
      const dir = stage(paths, "broken", rulesetWithPort(22024).replace("policy drop;", "policy maybe;"));
      const applied = sh(join(dir, STAGED_FILES.script), "apply", dir, "tok-3");
      assert.equal(applied.status, 3, applied.stderr);
      assert.match(applied.stderr, /rejected: the staged ruleset does not load/);
      assert.match(loaded(), /tcp dport 22022 accept/);
      assert.equal(readFileSync(paths.ruleset, "utf8"), rulesetWithPort(22022));
      assert.ok(!existsSync(join(paths.state, "pending")));
    });

    it("refuses to confirm a change that is not pending", () => {
      const confirmed = sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-never");
      assert.equal(confirmed.status, 5);
      assert.match(confirmed.stderr, /nothing pending for tok-never/);
    });

    it("refuses a confirm that comes after the rollback, and says the change was rolled back", async () => {
      const dir = stage(paths, "late", rulesetWithPort(22025));
      assert.equal(sh(join(dir, STAGED_FILES.script), "apply", dir, "tok-late").status, 0);
      assert.ok(await waitFor(() => !existsSync(join(paths.state, "pending")), CONFIRM_SECONDS + 5), "the timer never fired");
      const confirmed = sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-late");
      assert.equal(confirmed.status, 5);
      assert.match(confirmed.stderr, /tok-late was rolled back at \d{4}-\d\d-\d\dT[\d:]+Z before this confirm arrived/);
      assert.doesNotMatch(loaded(), /22025/);
    });

    it("says on stdout, for the public-path probe, that the gateway has no recent handshake when it has none", () => {
      const dir = stage(paths, "stdout", rulesetWithPort(22028));
      const applied = sh(join(dir, STAGED_FILES.script), "apply", dir, "tok-stdout");
      assert.equal(applied.status, 0, applied.stderr);
      assert.equal(applied.stdout, `${GATEWAY_STATE_LINE}down\n`);
      assert.equal(sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-stdout").status, 0);
    });

    it("counts the confirm window from when the change runs, not from before a slow load", async () => {
      // sshd -t that takes longer than the whole window, as on a busy VPS.
      const bin = mkdtempSync(join(tmpdir(), "slow-sshd-"));
      writeFileSync(join(bin, "sshd"), `#!/bin/sh\nsleep ${CONFIRM_SECONDS + 2}\n`, { mode: 0o755 });
      const dir = stage(paths, "slow-load", rulesetWithPort(22031));
      const applied = ns.tryExec("env", [`PATH=${bin}:${process.env.PATH}`, "sh", join(dir, STAGED_FILES.script), "apply", dir, "tok-slow"]);
      assert.equal(applied.status, 0, applied.stderr);
      assert.match(loaded(), /tcp dport 22031 accept/, `the timer armed before the load has not rolled the change back ${readFileSync(join(paths.state, "log"), "utf8").split("\n").slice(-8).join("\n")} ${applied.stderr}`);
      const confirmed = sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-slow");
      assert.equal(confirmed.status, 0, confirmed.stderr);
      await new Promise((r) => setTimeout(r, 1000));
      assert.match(loaded(), /tcp dport 22031 accept/);
    });

    it("at boot, puts the last good files back when a change is still pending, and records the rollback", () => {
      const dir = stage(paths, "before-reboot", rulesetWithPort(22029));
      assert.equal(sh(join(dir, STAGED_FILES.script), "apply", dir, "tok-reboot").status, 0);
      // The timer dies with the old boot; the boot command must not wait for it.
      const booted = sh(join(paths.state, STAGED_FILES.script), "boot");
      assert.equal(booted.status, 0, booted.stderr);
      assert.match(booted.stderr, /booted with tok-reboot unconfirmed: restoring the last good files/);
      assert.equal(readFileSync(paths.ruleset, "utf8"), rulesetWithPort(22031), "the confirmed ruleset is the file nftables.service will load");
      assert.ok(!existsSync(join(paths.state, "pending")));
      const late = sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-reboot");
      assert.equal(late.status, 5);
      assert.match(late.stderr, /tok-reboot was rolled back at/);
      assert.equal(sh(join(paths.state, STAGED_FILES.script), "boot").status, 0, "with nothing pending, boot does nothing");
      assert.equal(readFileSync(paths.ruleset, "utf8"), rulesetWithPort(22031));
    });

    it("a confirm still probing when the timer fires wins: the timer waits for it, and the change it confirmed stays", async () => {
      // The gateway peer has a fresh handshake, and the forwarded-port probe takes longer than the rest of the window.
      const bin = mkdtempSync(join(tmpdir(), "slow-probe-"));
      writeFileSync(join(bin, "wg"), `#!/bin/sh\nprintf '%s\\t%s\\n' '${PROBE_PEER_KEY}' "$(date +%s)"\n`, { mode: 0o755 });
      writeFileSync(join(bin, "bash"), `#!/bin/sh\nsleep 2.5\n`, { mode: 0o755 });
      const withStubs = (...args: string[]) => ns.tryExec("env", [`PATH=${bin}:${process.env.PATH}`, "sh", ...args]);
      const dir = stage(paths, "race", rulesetWithPort(22033));
      assert.equal(withStubs(join(dir, STAGED_FILES.script), "apply", dir, "tok-race").status, 0);
      await new Promise((r) => setTimeout(r, 1500));
      const confirmed = withStubs(join(paths.state, STAGED_FILES.script), "confirm", "tok-race");
      await new Promise((r) => setTimeout(r, (CONFIRM_SECONDS + 1) * 1000));
      const log = readFileSync(join(paths.state, "log"), "utf8").split("\n").slice(-4).join("\n");
      assert.equal(confirmed.status, 0, `${confirmed.stderr}\n${log}`);
      assert.match(loaded(), /tcp dport 22033 accept/, `confirmed, so the change must be what runs:\n${log}`);
      assert.doesNotMatch(log, /rolling back/);
    });

    it("refuses to confirm when the live files are no longer those the change installed, and the timer rolls it back", async () => {
      const dir = stage(paths, "edited", rulesetWithPort(22034));
      assert.equal(sh(join(dir, STAGED_FILES.script), "apply", dir, "tok-edited").status, 0);
      writeFileSync(paths.ruleset, rulesetWithPort(22035));
      const confirmed = sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-edited");
      assert.equal(confirmed.status, 7, confirmed.stderr);
      assert.match(confirmed.stderr, /the live files are not those tok-edited installed; not confirming/);
      assert.ok(await waitFor(() => !existsSync(join(paths.state, "pending")), CONFIRM_SECONDS + 5), "the timer never fired");
      assert.match(loaded(), /tcp dport 22033 accept/, "the last confirmed change runs again");
    });

    it("sets a changed tunnel MTU and addresses in place, beside the peers wg syncconf sets, and puts them back on rollback", async () => {
      // A veth stands in for wg0, so ip and /sys are real; wg and wg-quick strip, which need a WireGuard interface,
      // only record their calls (the VM suite changes a real kernel tunnel).
      const bin = mkdtempSync(join(tmpdir(), "wg-stubs-"));
      const calls = join(bin, "calls");
      writeFileSync(join(bin, "wg"), `#!/bin/sh\necho "wg $*" >> ${calls}\n`, { mode: 0o755 });
      writeFileSync(join(bin, "wg-quick"), `#!/bin/sh\necho "wg-quick $*" >> ${calls}\n`, { mode: 0o755 });
      ns.exec("ip", ["link", "add", "wg0", "type", "veth", "peer", "name", "wg0-peer"]);
      ns.exec("ip", ["link", "set", "wg0", "up"]);
      const withStubs = (...args: string[]) => ns.tryExec("env", [`PATH=${bin}:${process.env.PATH}`, "sh", ...args]);
      const tunnel = (mtu: number, addresses: string) => `[Interface]\nPrivateKey = x\nAddress = ${addresses}\nMTU = ${mtu}\n`;
      const link = () => ({ mtu: ns.exec("cat", ["/sys/class/net/wg0/mtu"]).trim(), addresses: ns.exec("ip", ["-o", "address", "show", "dev", "wg0", "scope", "global"]).split("\n").filter(Boolean).map((l) => l.split(/\s+/)[3]).sort() });
      const push = (name: string, wireguard: string, confirm: boolean) => {
        writeFileSync(calls, "");
        const dir = stage(paths, name, rulesetWithPort(22036), wireguard);
        const applied = withStubs(join(dir, STAGED_FILES.script), "apply", dir, `tok-${name}`);
        assert.equal(applied.status, 0, applied.stderr);
        if (confirm) assert.equal(withStubs(join(paths.state, STAGED_FILES.script), "confirm", `tok-${name}`).status, 0);
        assert.match(readFileSync(calls, "utf8"), /^wg syncconf wg0 /m, "the peers and key still go through syncconf");
      };
      try {
        writeFileSync(join(bin, "wg"), `#!/bin/sh\necho "wg $*" >> ${calls}\n[ "$1" = syncconf ] && exit 1\nexit 0\n`, { mode: 0o755 });
        const refused = stage(paths, "tunnel-refused", rulesetWithPort(22036), tunnel(1420, "10.10.10.1/24"));
        assert.equal(withStubs(join(refused, STAGED_FILES.script), "apply", refused, "tok-tunnel-refused").status, 4, "a syncconf that fails fails the change");
        assert.ok(!existsSync(join(paths.state, "wg-stripped.conf")), "the stripped copy, which holds the key, is gone");
        writeFileSync(join(bin, "wg"), `#!/bin/sh\necho "wg $*" >> ${calls}\n`, { mode: 0o755 });
        push("tunnel-base", tunnel(1420, "10.10.10.1/24, fd7a:10:10::1/64"), true);
        assert.deepEqual(link(), { mtu: "1420", addresses: ["10.10.10.1/24", "fd7a:10:10::1/64"] });
        push("tunnel-moved", tunnel(1380, "10.10.20.1/24, fd7a:10:20::1/64"), false);
        assert.deepEqual(link(), { mtu: "1380", addresses: ["10.10.20.1/24", "fd7a:10:20::1/64"] }, "the change runs before it is confirmed");
        assert.ok(await waitFor(() => !existsSync(join(paths.state, "pending")), CONFIRM_SECONDS + 5), "the timer never fired");
        assert.deepEqual(link(), { mtu: "1420", addresses: ["10.10.10.1/24", "fd7a:10:10::1/64"] }, "the rollback puts the confirmed values back");
      } finally {
        ns.exec("ip", ["link", "del", "wg0"]);
      }
    });

    it("rolls back at once when the timer cannot be armed again once the change runs, and leaves nothing pending", function () {
      requireRealTools(this, ["unshare", "mount"], true);
      // systemd as the script sees it: /run/systemd/system, and a systemd-run that arms the first timer and fails
      // the second. Private tmpfs mounts keep the host's /run and /etc/systemd/system out of reach.
      const bin = mkdtempSync(join(tmpdir(), "systemd-stubs-"));
      writeFileSync(join(bin, "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      writeFileSync(join(bin, "systemd-run"), `#!/bin/sh\nif [ -e ${bin}/armed ]; then exit 1; fi\ntouch ${bin}/armed\n`, { mode: 0o755 });
      const base = stage(paths, "armed-base", rulesetWithPort(22038));
      assert.equal(sh(join(base, STAGED_FILES.script), "apply", base, "tok-armed-base").status, 0);
      assert.equal(sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-armed-base").status, 0);
      const dir = stage(paths, "unarmed", rulesetWithPort(22037));
      const inSystemd = `mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && mount -t tmpfs tmpfs /etc/systemd/system && PATH=${bin}:$PATH exec sh "$0" apply "$1" tok-unarmed`;
      const applied = ns.tryExec("unshare", ["--mount", "sh", "-c", inSystemd, join(dir, STAGED_FILES.script), dir]);
      assert.equal(applied.status, 4, applied.stderr);
      assert.match(applied.stderr, /the rollback timer could not be armed again[\s\S]*rolling back to the last good files/);
      assert.match(loaded(), /tcp dport 22038 accept/, "the last good ruleset runs again");
      assert.ok(!existsSync(join(paths.state, "pending")));
    });
  });

  describe("a change that fails halfway through installing", function () {
    let ns: Netns;
    let paths: EdgePaths;
    before(function () {
      requireRealTools(this, ["nft", "ip", "setsid", "install"], true);
      ns = new Netns();
      paths = scratchPaths();
      // The WireGuard config's directory is a file, so installing it fails after the ruleset went in.
      writeFileSync(join(paths.state, "..", "blocker"), "");
      paths = { ...paths, wireguard: join(paths.state, "..", "blocker", "wg0.conf") };
    });
    after(() => ns?.delete());

    it("puts the last good files back at once instead of leaving a half-installed change with no timer", () => {
      const sh = (...args: string[]) => ns.tryExec("sh", args);
      const good = stage(paths, "good", rulesetWithPort(22022));
      rmSync(join(good, STAGED_FILES.wireguard));
      assert.equal(sh(join(good, STAGED_FILES.script), "apply", good, "tok-good").status, 0);
      assert.equal(sh(join(paths.state, STAGED_FILES.script), "confirm", "tok-good").status, 0);
      const half = stage(paths, "half", rulesetWithPort(22026));
      const applied = sh(join(half, STAGED_FILES.script), "apply", half, "tok-half");
      assert.equal(applied.status, 4, applied.stderr);
      assert.match(applied.stderr, /the new files failed to install/);
      assert.equal(readFileSync(paths.ruleset, "utf8"), rulesetWithPort(22022), "the ruleset that did go in came back out");
      assert.match(ns.exec("nft", ["list", "ruleset"]), /tcp dport 22022 accept/);
      assert.ok(!existsSync(join(paths.state, "pending")));
    });

    it("rolls back in full when the file that failed to install is one the rollback need not write", function () {
      requireRealTools(this, ["unshare", "mount", "cmp"]);
      const writable = { ...paths, wireguard: join(paths.state, "..", "etc", "wg0.conf") };
      const script = (dir: string) => writeFileSync(join(dir, STAGED_FILES.script), scriptFor(writable));
      const good = stage(writable, "good2", rulesetWithPort(22022));
      script(good);
      assert.equal(ns.tryExec("sh", [join(good, STAGED_FILES.script), "apply", good, "tok-good2"]).status, 0);
      assert.equal(ns.tryExec("sh", [join(writable.state, STAGED_FILES.script), "confirm", "tok-good2"]).status, 0);
      const next = stage(writable, "ro-wireguard", rulesetWithPort(22030));
      writeFileSync(join(next, STAGED_FILES.wireguard), "[Interface]\nPrivateKey = y\n");
      script(next);
      // wg0.conf read-only in a mount namespace of its own: the new one cannot go in, the old one is still there.
      const readOnly = 'mount --bind "$3" "$3" && mount -o remount,bind,ro "$3" && sh "$0" apply "$1" "$2"';
      const applied = ns.tryExec("unshare", ["--mount", "sh", "-c", readOnly, join(next, STAGED_FILES.script), next, "tok-ro", writable.wireguard]);
      assert.equal(applied.status, 4, applied.stderr);
      assert.match(applied.stderr, /the new files failed to install/);
      assert.doesNotMatch(applied.stderr, /did not all come back/);
      assert.equal(readFileSync(writable.ruleset, "utf8"), rulesetWithPort(22022));
      assert.match(ns.exec("nft", ["list", "ruleset"]), /tcp dport 22022 accept/);
      assert.ok(!existsSync(join(writable.state, "pending")), "nothing left pending for a rollback that did complete");
    });
  });
});
