import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { STAGED_FILES, VPS_PATHS } from "../../components/edge/applyScript";
import { BOOT_ROLLBACK_UNIT } from "../../components/edge/bootRollbackUnit";
import { APPLY_STDOUT_ENV } from "../../components/edge/pushCommands";
import { OfflineRun } from "../../tools/offline/engine";
import { withStagedFile } from "../support/pushInput";
import { EdgeVmLab } from "./edgeLab";
import { planEdgeForVm } from "./vmPlan";

/** Checks the main suite shares with these blocks. */
export interface EdgeChecks {
  /** The client's request through the VPS's public address reaches the backend with the client's own address. */
  requestThroughTunnel(family: "ipv4" | "ipv6"): void;
}

/** The three commands EdgeConfigPush renders, exactly as a plan recorded them, and the change token. */
export function pushCommandsOf(plan: OfflineRun) {
  const find = (type: string, suffix: string) => {
    const found = plan.resources.find((r) => r.type === type && r.name.endsWith(`-push-${suffix}`));
    if (!found) assert.fail(`the plan has no ${type} *-push-${suffix}`);
    return found;
  };
  const apply = find("command:remote:Command", "apply");
  return {
    token: (apply.inputs.triggers as string[])[0],
    apply: String(apply.inputs.create),
    /** The staged files, which the apply command reads on standard input. */
    stdin: String(apply.inputs.stdin),
    probe: String(find("command:local:Command", "probe").inputs.create),
    confirm: String(find("command:remote:Command", "confirm").inputs.create),
  };
}

type Commands = ReturnType<typeof pushCommandsOf>;
const STATE = VPS_PATHS.state;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the push's steps as the command provider does: apply over SSH, the probe locally (on the admin host, where Pulumi runs) with apply's stdout in its environment, confirm over a new connection. */
export const steps = (lab: EdgeVmLab) => ({
  apply: (c: Commands) => lab.tryVps(c.apply, 300_000, c.stdin),
  probe: (c: Commands, applyStdout: string) => lab.tryExec("admin", "env", [`${APPLY_STDOUT_ENV}=${applyStdout}`, "sh", "-c", c.probe], 60_000),
  confirm: (c: Commands, dialAttempts?: number) => lab.viaNewConnection(c.confirm, dialAttempts),
  /** All three, each asserted to succeed. */
  async push(c: Commands) {
    const applied = this.apply(c);
    assert.equal(applied.status, 0, applied.stderr + applied.stdout);
    const probed = this.probe(c, applied.stdout);
    assert.equal(probed.status, 0, probed.stderr + probed.stdout);
    const confirmed = await this.confirm(c);
    assert.equal(confirmed.status, 0, `${confirmed.stderr}${confirmed.stdout} (after ${confirmed.attempts} dial(s))`);
    assert.equal(lab.tryVps(`test -e ${STATE}/pending`).status, 1, "nothing is left pending");
  },
});

/** Polls the VPS, over the admin's multiplexed connection, until the pending change is gone. */
async function waitForRollback(lab: EdgeVmLab, token: string, limitSeconds: number) {
  for (const deadline = Date.now() + limitSeconds * 1000; Date.now() < deadline; await sleep(2000)) {
    if (lab.tryVps(`grep -q '^${token} ' ${STATE}/rolled-back && test ! -e ${STATE}/pending`).status === 0) return;
  }
  assert.fail(`${token} was not rolled back within ${limitSeconds} s:\n${lab.tryVps(`tail -n 5 ${STATE}/log`).stdout}`);
}

const sha = (lab: EdgeVmLab, path: string) => lab.vps(`sha256sum ${path}`).split(" ")[0];

/** Config changes, each planned as its own deploy; the small confirm window is the plan's own value. */
const ADMIN = ["198.51.100.0/24", "2001:db8:5::/48"];
const CHANGES = {
  added: { commitConfirmSeconds: 15, adminCidrs: [...ADMIN, "198.18.0.0/16"] },
  addedAgain: { commitConfirmSeconds: 15, adminCidrs: [...ADMIN, "198.18.0.0/16", "198.19.0.0/16"] },
  // The admin host's networks gone: after this ruleset, no new SSH connection from it gets in.
  lockout: { commitConfirmSeconds: 15, adminCidrs: ["198.18.0.0/16", "2001:db8:99::/48"] },
  // The derp peer leaves wg0.conf; the gateway peer stays.
  peerChange: { commitConfirmSeconds: 15, adminCidrs: [...ADMIN, "198.18.0.0/16"], derp: false },
  // A smaller tunnel MTU, which only wg-quick reads: syncconf alone would leave it for the next boot.
  tunnelMtu: { commitConfirmSeconds: 15, adminCidrs: [...ADMIN, "198.18.0.0/16"], derp: false, tunnelMtu: 1380 },
  // A WAN name the VPS does not have: every DNAT rule matches nothing, while SSH and the tunnel carry on.
  wrongWan: { commitConfirmSeconds: 15, adminCidrs: [...ADMIN, "198.18.0.0/16"], derp: false, wanInterface: "ens3" },
  pendingAtReboot: { commitConfirmSeconds: 600, adminCidrs: [...ADMIN, "198.18.0.0/16", "198.19.0.0/16"], derp: false },
};
type Change = keyof typeof CHANGES;

/**
 * The same push with one staged file rewritten, standing in for a renderer bug: the schema refuses every config known
 * to render a file the VPS would refuse, so such a file has to be written here. The command around it is the one the
 * plan rendered.
 */
function withStaged(c: Commands, file: keyof typeof STAGED_FILES, rewrite: (content: string) => string): Commands {
  const stdin = withStagedFile(c.stdin, STAGED_FILES[file], rewrite);
  assert.notEqual(stdin, c.stdin, "the rewrite changed nothing");
  return { ...c, stdin };
}

/** Plans every change once, before the tests that push them. */
async function planChanges(): Promise<Record<Change, { plan: OfflineRun; commands: Commands }>> {
  const planned = {} as Record<Change, { plan: OfflineRun; commands: Commands }>;
  for (const [name, config] of Object.entries(CHANGES)) {
    const plan = await planEdgeForVm(config);
    planned[name as Change] = { plan, commands: pushCommandsOf(plan) };
  }
  return planned;
}

let planned: Record<Change, { plan: OfflineRun; commands: Commands }>;

export function describeCommitConfirm(getLab: () => EdgeVmLab, checks: EdgeChecks) {
  describe("commit-confirm, with the commands the plan of a changed config renders", () => {
    let lab: EdgeVmLab;
    let run: ReturnType<typeof steps>;
    const ruleset = () => lab.vps("nft list table inet edge");

    before(async function () {
      lab = getLab();
      if (!lab) this.skip();
      run = steps(lab);
      planned = await planChanges();
    });

    it("a changed ruleset is applied, probed through the public path and confirmed over a second connection; the boot unit is in place", async () => {
      await run.push(planned.added.commands);
      assert.match(ruleset(), /198\.18\.0\.0\/16/);
      assert.equal(lab.vps(`systemctl is-enabled ${BOOT_ROLLBACK_UNIT.name}`).trim(), "enabled");
      checks.requestThroughTunnel("ipv4");
    });

    it("an unconfirmed change is rolled back by the VPS's own systemd timer after the SSH session is gone, and a late confirm fails saying so", async () => {
      const c = planned.addedAgain.commands;
      const applied = run.apply(c);
      assert.equal(applied.status, 0, applied.stderr);
      assert.match(ruleset(), /198\.19\.0\.0\/16/);
      assert.match(lab.vps(`systemctl list-timers --all --no-legend homelab-edge-rollback-${c.token}.timer`), new RegExp(`homelab-edge-rollback-${c.token}\\.timer`));
      lab.closeMux();
      await sleep((CHANGES.addedAgain.commitConfirmSeconds + 5) * 1000);
      await waitForRollback(lab, c.token, 30);
      assert.doesNotMatch(ruleset(), /198\.19\.0\.0\/16/);
      assert.match(ruleset(), /198\.18\.0\.0\/16/, "the last confirmed change is what runs");
      assert.equal(sha(lab, VPS_PATHS.ruleset), sha(lab, `${STATE}/last-good/nftables.conf`));
      const late = await run.confirm(c);
      assert.equal(late.status, 5, late.stderr);
      assert.match(late.stderr, new RegExp(`${c.token} was rolled back at \\S+ before this confirm arrived`));
    });

    it("a ruleset nft -c rejects never replaces the running one", () => {
      const before = sha(lab, VPS_PATHS.ruleset);
      // A network inside another in one interval set: nft refuses it ("conflicting intervals specified").
      const nested = withStaged(planned.added.commands, "ruleset", (ruleset) => ruleset.replace(`elements = { ${ADMIN[0]}`, `elements = { ${ADMIN[0]}, 198.51.100.0/25`));
      const rejected = run.apply(nested);
      assert.equal(rejected.status, 3, rejected.stderr);
      assert.match(rejected.stderr, /conflicting intervals[\s\S]*rejected: the staged ruleset does not load; the running one stays/);
      assert.equal(sha(lab, VPS_PATHS.ruleset), before);
      assert.match(ruleset(), /198\.18\.0\.0\/16/);
      assert.equal(lab.tryVps(`test -e ${STATE}/pending`).status, 1);
    });

    it("a change that locks the admin out is rolled back by the timer, and SSH from the admin host works again", async () => {
      const c = planned.lockout.commands;
      const applied = run.apply(c);
      assert.equal(applied.status, 0, applied.stderr);
      assert.equal(run.probe(c, applied.stdout).status, 0, "the public path still works: only SSH is locked");
      const locked = await run.confirm(c, 1);
      assert.equal(locked.status, 255, "the confirm cannot connect");
      assert.match(locked.stderr, /timed out/, locked.stderr);
      await sleep(CHANGES.lockout.commitConfirmSeconds * 1000);
      const back = await lab.viaNewConnection("echo in");
      assert.equal(back.status, 0, back.stderr);
      assert.equal(back.stdout.trim(), "in");
      assert.match(ruleset(), /198\.51\.100\.0\/24/);
      const late = await run.confirm(c);
      assert.equal(late.status, 5, "the locked-out change stays rolled back");
    });

    it("an sshd drop-in that alone locks the admin out, with the ruleset unchanged, is rolled back by the timer", async () => {
      const c = withStaged(planned.added.commands, "sshdDropIn", (dropIn) => dropIn.replace(/^AllowUsers .*$/m, "AllowUsers nobody@192.0.2.250/32"));
      const applied = run.apply(c);
      assert.equal(applied.status, 0, applied.stderr);
      assert.match(lab.vps("sshd -T"), /^allowusers nobody@192\.0\.2\.250\/32$/m);
      const refused = await run.confirm(c, 1);
      assert.equal(refused.status, 255, "the confirm cannot log in");
      assert.match(refused.stderr, /Permission denied \(publickey\)/, refused.stderr);
      await sleep(CHANGES.added.commitConfirmSeconds * 1000);
      await waitForRollback(lab, c.token, 30);
      const back = await lab.viaNewConnection("echo in");
      assert.equal(back.status, 0, back.stderr);
      assert.match(lab.vps("sshd -T"), /^allowusers root@198\.51\.100\.0\/24$/m);
    });

    it("a change that fails halfway through installing is rolled back at once, in full", () => {
      const wg = VPS_PATHS.wireguard;
      const before = sha(lab, VPS_PATHS.ruleset);
      // The new wg0.conf cannot be written (a read-only bind mount); the ruleset before it in the install order can.
      lab.vps(`mount --bind ${wg} ${wg} && mount -o remount,bind,ro ${wg}`);
      try {
        const half = run.apply(planned.peerChange.commands);
        assert.equal(half.status, 4, half.stderr);
        assert.match(half.stderr, /the new files failed to install/);
        assert.doesNotMatch(half.stderr, /did not all come back/);
      } finally {
        lab.vps(`umount ${wg}`);
      }
      assert.equal(sha(lab, VPS_PATHS.ruleset), before);
      assert.match(ruleset(), /udp dport 3478/, "the running ruleset is the last good one");
      assert.equal(lab.tryVps(`test -e ${STATE}/pending`).status, 1, "nothing pending: the rollback completed");
      checks.requestThroughTunnel("ipv4");
    });

    const peers = () => (lab.edge.outputs.wireguard.value as { peers: Record<string, { publicKey: string }> }).peers;
    const handshake = () => Number(lab.vps("wg show wg0 latest-handshakes").split("\n").find((l) => l.startsWith(peers().gateway.publicKey))?.split("\t")[1] ?? 0);

    it("a WireGuard peer change keeps the tunnel up (wg syncconf): the client's requests pass throughout, the gateway's session stays", async () => {
      const before = handshake();
      assert.ok(before > 0, "the gateway has a session before the change");
      const stop = join(lab.dir, "stop-requests");
      const loop = `while [ ! -e ${stop} ]; do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 3 http://${lab.addresses.vps.ipv4}/ || true; sleep 0.3; done`;
      const requests = spawn("ip", ["netns", "exec", lab.hosts.client.name, "sh", "-c", loop]);
      let codes = "";
      requests.stdout.on("data", (chunk) => (codes += chunk));
      const done = new Promise((r) => requests.once("exit", r));
      try {
        await sleep(2000);
        await run.push(planned.peerChange.commands);
        await sleep(2000);
      } finally {
        writeFileSync(stop, "");
        await done;
      }
      const results = codes.trim().split("\n");
      assert.ok(results.length >= 5, `only ${results.length} requests ran`);
      assert.deepEqual(results.filter((code) => code !== "200"), [], `of ${results.length} requests during the change`);
      assert.ok(handshake() >= before, `the gateway's handshake went from ${before} to ${handshake()}: the session was torn down`);
      const live = lab.vps("wg show wg0 peers");
      assert.ok(live.includes(peers().gateway.publicKey));
      assert.ok(!live.includes(peers().derp.publicKey), "the derp peer is gone");
      assert.doesNotMatch(ruleset(), /3478/);
    });

    it("a tunnel MTU change runs at once, set in place on the kernel interface: the gateway keeps its session and requests pass", async () => {
      const before = handshake();
      await run.push(planned.tunnelMtu.commands);
      assert.match(lab.vps("ip link show wg0"), new RegExp(`mtu ${CHANGES.tunnelMtu.tunnelMtu} `));
      assert.match(lab.vps(`grep '^MTU' ${VPS_PATHS.wireguard}`), new RegExp(`^MTU = ${CHANGES.tunnelMtu.tunnelMtu}$`, "m"));
      checks.requestThroughTunnel("ipv4");
      checks.requestThroughTunnel("ipv6");
      assert.ok(handshake() >= before, `the gateway's handshake went from ${before} to ${handshake()}: the session was torn down`);
    });

    it("a change that breaks the forwarded public path while the tunnel is up is refused by the probe before any confirm, and rolls back", async () => {
      const c = planned.wrongWan.commands;
      const applied = run.apply(c);
      assert.equal(applied.status, 0, applied.stderr);
      assert.match(applied.stdout, /homelab-edge-gateway: up/, "the tunnel is up, so the tunnel-side probe alone would pass");
      const probed = run.probe(c, applied.stdout);
      const state = () => [lab.tryVps(`nft list chain inet edge prerouting; tail -n 12 ${STATE}/log; journalctl --no-pager -n 40 | grep homelab`).stdout, lab.tryExec("admin", "ss", ["-tn"]).stdout].join("\n---\n");
      assert.equal(probed.status, 1, `${probed.stdout}${probed.stderr}\n${state()}`);
      assert.match(probed.stderr, new RegExp(`${lab.addresses.vps.ipv4.replace(/\./g, "\\.")}:443 does not answer from here .*not confirming`));
      // The probe failed, so the engine never runs the confirm; the VPS rolls the change back by itself.
      await sleep(CHANGES.wrongWan.commitConfirmSeconds * 1000);
      await waitForRollback(lab, c.token, 30);
      assert.match(ruleset(), /iifname "eth0"/);
      checks.requestThroughTunnel("ipv4");
      checks.requestThroughTunnel("ipv6");
    });
  });
}

/** What a reboot test needs to know of the change it left pending. */
export interface PendingChange {
  token: string;
  /** sha256 of the ruleset file before the change: the last good one. */
  lastGood: string;
}

/** Applies a change and leaves it unconfirmed (its plan's window is 600 s), for the reboot that follows to find. */
export function leaveChangePending(lab: EdgeVmLab): PendingChange {
  if (!planned) assert.fail("the commit-confirm block plans the changes; it did not run");
  const c = planned.pendingAtReboot.commands;
  const lastGood = sha(lab, VPS_PATHS.ruleset);
  const applied = steps(lab).apply(c);
  assert.equal(applied.status, 0, applied.stderr);
  assert.match(lab.vps("nft list table inet edge"), /198\.19\.0\.0\/16/);
  return { token: c.token, lastGood };
}

/** The checks of a boot that found a change pending; registered inside the block that rebooted. */
export function itRolledBackAtBoot(getLab: () => EdgeVmLab, getPending: () => PendingChange) {
  it("rolled the unconfirmed change back at boot: the last good ruleset is what nftables loaded", () => {
    const lab = getLab();
    assert.doesNotMatch(lab.vps("nft list table inet edge"), /198\.19\.0\.0\/16/);
    assert.equal(sha(lab, VPS_PATHS.ruleset), getPending().lastGood);
    assert.equal(lab.tryVps(`test -e ${STATE}/pending`).status, 1);
    assert.match(lab.vps(`cat ${STATE}/log`), new RegExp(`booted with ${getPending().token} unconfirmed`));
  });

  it("ran the boot unit before nftables.service started", () => {
    const lab = getLab();
    const at = (unit: string, property: string) => Number(lab.vps(`systemctl show -P ${property} ${unit}`).trim());
    const rolledBack = at(BOOT_ROLLBACK_UNIT.name, "ExecMainExitTimestampMonotonic");
    const nftables = at("nftables.service", "ExecMainStartTimestampMonotonic");
    assert.ok(rolledBack > 0, "the boot unit ran");
    assert.ok(rolledBack < nftables, `boot unit exited at ${rolledBack} us, nftables started at ${nftables} us`);
  });

  it("refuses the late confirm of that change, saying it was rolled back", async () => {
    const late = await steps(getLab()).confirm(planned.pendingAtReboot.commands);
    assert.equal(late.status, 5);
    assert.match(late.stderr, new RegExp(`${getPending().token} was rolled back at`));
  });
}
