import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { VPS_PATHS } from "../../components/edge/applyScript";
import { APPLY_STDOUT_ENV } from "../../components/edge/pushCommands";
import { OfflineRun } from "../../tools/offline/engine";
import { renderResourcesJson } from "../../tools/offline/planStacks";
import { diffStack, PlannedResource, StackDiff } from "../../tools/offline/resourceDiff";
import { EdgeChecks, pushCommandsOf, steps } from "./commitConfirm";
import { EdgeVmLab } from "./edgeLab";
import { addressBytes } from "./stun";
import { planEdgeForVm, sshRule } from "./vmPlan";

const SERVER = "hcloud:index/server:Server::edge";
const PUSH = ["command:remote:Command::edge-push-apply", "command:local:Command::edge-push-probe", "command:remote:Command::edge-push-confirm"];

/** What plan:diff says of going from one plan to the next, from the resources.json each would write. */
const diff = (from: OfflineRun, to: OfflineRun): StackDiff => {
  const planned = (run: OfflineRun) => JSON.parse(renderResourcesJson(run)) as PlannedResource[];
  return diffStack("edge", planned(from), planned(to));
};

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

type Peers = { gateway: { publicKey: string }; derp: { publicKey: string } };

/**
 * Issue 14 §1 items 7 and 8, each on a server of its own, booted as the engine would boot it: the old VM is powered
 * off first (deleteBeforeReplace) and the new one takes the same primary addresses. The home peers keep running
 * unchanged throughout, as the home stack's pods would.
 */
export function describeReplacement(getLab: () => EdgeVmLab, checks: EdgeChecks, log: (line: string) => void) {
  let lab: EdgeVmLab;
  let peers: Peers;
  const installed = (path: string) => lab.vps(`sha256sum ${path}`).split(" ")[0];

  /** Both home peers handshake with this server after `after`, and the client's traffic and STUN pass. */
  const servesThePath = async (after: number) => {
    await lab.waitForHandshakeWith(peers.gateway.publicKey, after, 180);
    await lab.waitForHandshakeWith(peers.derp.publicKey, after, 180);
    checks.requestThroughTunnel("ipv4");
    checks.requestThroughTunnel("ipv6");
    const seen = lab.stunFrom("client", lab.addresses.vps.ipv4);
    assert.ok(addressBytes(seen.address).equals(addressBytes(lab.addresses.client.ipv4)), `STUN saw ${seen.address}`);
  };

  before(function () {
    lab = getLab();
    if (!lab) this.skip();
    peers = (lab.edge.outputs.wireguard.value as { peers: Peers }).peers;
  });

  describe("replacement (F8): a new server booted from the first deploy's user-data gets the current files pushed", () => {
    // The first deploy came before the derp peer: its ruleset forwards no 3478 and its tunnel has one peer.
    let first: OfflineRun;

    before(async function () {
      if (!lab) this.skip();
      first = await planEdgeForVm({ derp: false });
    });

    it("the plan of a replaced server re-pushes: the push's triggers carry the server's id, so a new server (a new vpsImage) replaces apply, probe and confirm while the files' token stays", async () => {
      const replaced = await planEdgeForVm({ vpsImage: "debian-13" });
      const change = diff(lab.edge, replaced);
      assert.ok(change.replaced.some((r) => r.key === SERVER), `the server is replaced: ${change.replaced.map((r) => r.key).join(", ")}`);
      for (const key of PUSH) {
        const push = change.replaced.find((r) => r.key === key);
        assert.ok(push, `${key} is not replaced, so the new server would never get the current files`);
        assert.deepEqual(push.causes, [`triggers (takes the new id of ${SERVER})`]);
      }
      assert.equal(pushCommandsOf(replaced).token, pushCommandsOf(lab.edge).token, "the files are the same: only the server's id re-runs the push");
    });

    describe("the new server", () => {
      before(async function () {
        if (!lab) this.skip();
        await lab.replaceServer("replacement", String(first.artifacts["cloud-init.yaml"]), log);
      });

      it("booted from the first deploy's user-data: cloud-init is done, and it runs that deploy's ruleset and peers", () => {
        assert.match(lab.vps("cloud-init status --long || true"), /^status: done$/m);
        assert.equal(installed(VPS_PATHS.ruleset), sha256(first.artifacts["nftables.conf"]));
        assert.doesNotMatch(lab.vps("nft list table inet edge"), /3478/);
        assert.ok(!lab.vps("wg show wg0 peers").includes(peers.derp.publicKey), "no derp peer yet");
      });

      it("takes the current files with the commands the current plan renders, confirmed over a second connection, and then runs them", async () => {
        const pushedAt = Number(lab.vps("date +%s").trim());
        await steps(lab).push(pushCommandsOf(lab.edge));
        assert.equal(installed(VPS_PATHS.ruleset), sha256(lab.edge.artifacts["nftables.conf"]));
        assert.equal(installed(VPS_PATHS.sshdDropIn), sha256(lab.edge.artifacts["sshd-10-homelab.conf"]));
        assert.match(lab.vps("nft list table inet edge"), /udp dport 3478 dnat ip to 10\.10\.10\.3/);
        await servesThePath(pushedAt);
      });
    });
  });

  describe("lockout recovery: the admin's old network is no longer the operator's", () => {
    // The operator's new address; the lab's admin host keeps the old one, which must lose SSH.
    const NEW_ADMIN = ["198.18.7.0/24", "2001:db8:77::/48"];
    let recovery: OfflineRun;

    before(async function () {
      if (!lab) this.skip();
      recovery = await planEdgeForVm({ adminCidrs: NEW_ADMIN, edgeUpdateMode: "replace" });
    });

    it("the documented run (new adminCidrs, edgeUpdateMode replace) replaces the server, keeps its primary IPs and DNS records, and opens SSH to the new networks only", () => {
      const change = diff(lab.edge, recovery);
      const server = change.replaced.find((r) => r.key === SERVER);
      assert.ok(server, "the server is replaced");
      assert.ok(server.causes.includes("userData"), server.causes.join(", "));
      assert.deepEqual(change.replaced.filter((r) => /PrimaryIp|dnsRecord/.test(r.key)), [], "primary IPs and DNS records stay");
      assert.deepEqual(change.changed.filter((c) => /PrimaryIp|dnsRecord/.test(c.key)), []);
      assert.equal(recovery.outputs.publicIpv4.value, lab.edge.outputs.publicIpv4.value);
      assert.equal(recovery.outputs.publicIpv6.value, lab.edge.outputs.publicIpv6.value);
      assert.deepEqual(sshRule(recovery).adminCidrs, NEW_ADMIN);
      assert.equal(sshRule(recovery).port, lab.ssh.port);
    });

    describe("the server that run boots", () => {
      let poweredOn: number;

      before(async function () {
        if (!lab) this.skip();
        lab.addAdminHost(NEW_ADMIN);
        poweredOn = Math.floor(Date.now() / 1000);
        await lab.replaceServer("recovery", String(recovery.artifacts["cloud-init.yaml"]), log, "newAdmin");
      });

      it("answers SSH from the new admin address, over IPv4 and IPv6, keys only, and not from the old one", async () => {
        for (const family of ["ipv4", "ipv6"] as const) {
          const target = `root@${lab.addresses.vps[family]}`;
          const ssh = (host: "admin" | "newAdmin") => lab.tryExec(host, "ssh", [...lab.sshArgs(["-o", "ControlPath=none"]), target, "echo in"], 60_000);
          const fresh = ssh("newAdmin");
          assert.equal(fresh.status, 0, `new admin over ${family}: ${fresh.stderr}`);
          assert.equal(fresh.stdout.trim(), "in");
          const old = ssh("admin");
          assert.notEqual(old.status, 0);
          assert.match(old.stderr, /timed out/, `old admin over ${family}: ${old.stderr}`);
        }
        const sshd = lab.vps("sshd -T");
        assert.match(sshd, new RegExp(`^port ${lab.ssh.port}$`, "m"));
        assert.match(sshd, /^passwordauthentication no$/m);
      });

      it("keeps the tunnel endpoint: the unchanged home peers handshake with the new server, whose user-data carries the whole edge", async () => {
        await servesThePath(poweredOn - 5);
      });

      it("back in edgeUpdateMode ssh, the plan keeps this server, and its first push reaches it from the new admin host and is confirmed", async () => {
        const back = await planEdgeForVm({ adminCidrs: NEW_ADMIN });
        const change = diff(recovery, back);
        assert.ok(!change.replaced.some((r) => r.key === SERVER), "ssh mode ignores the user-data: no second replacement");
        assert.deepEqual(PUSH.filter((key) => !change.added.includes(key)), [], "the push comes back with ssh mode");
        const c = pushCommandsOf(back);
        const applied = steps(lab).apply(c);
        assert.equal(applied.status, 0, applied.stderr + applied.stdout);
        // The probe runs where `pulumi up` runs: now the new admin host.
        const probed = lab.tryExec("newAdmin", "env", [`${APPLY_STDOUT_ENV}=${applied.stdout}`, "sh", "-c", c.probe], 60_000);
        assert.equal(probed.status, 0, probed.stderr + probed.stdout);
        const confirmed = await steps(lab).confirm(c);
        assert.equal(confirmed.status, 0, `${confirmed.stderr}${confirmed.stdout}`);
        assert.equal(lab.tryVps(`test -e ${VPS_PATHS.state}/pending`).status, 1, "nothing is left pending");
      });
    });
  });
}
