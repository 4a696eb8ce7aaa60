import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OfflineRun } from "../../tools/offline/engine";
import { Netns } from "../support/realTools";
import { derpPeerUp, gatewayPodUp } from "./homePeers";
import { ensureImage, VmImage } from "./image";
import { adminLink, Addresses, labAddresses, Link, Linked } from "./labAddresses";
import { STUN_CLIENT } from "./stun";
import { sh, Vm } from "./vm";
import { planEdgeAndHomeForVm, sshRule } from "./vmPlan";

/** The serial console of the last VM, kept after teardown for a post-mortem. */
export const LAST_CONSOLE = join(tmpdir(), "homelab-vm-last-console.log");

/** The lab's namespaces; `backend` is the Traefik stand-in behind the gateway, `newAdmin` exists once addAdminHost made it. */
export type Host = "router" | "client" | "admin" | "home" | "derp" | "backend" | "newAdmin";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The edge VPS as a VM on a test internet of network namespaces: a router (the VM's tap on its bridge, and one veth
 * to each other host), a client anywhere on the internet, an admin host inside the plan's admin networks, the home
 * gateway peer (wireguard-go with the home plan's gateway config, and the home plan's haproxy.cfg in front of a PROXY
 * v2 backend that stands in for Traefik) and the derp peer.
 */
export class EdgeVmLab {
  readonly dir = mkdtempSync(join(tmpdir(), "edge-vm-lab-"));
  readonly hosts = {} as Record<Host, Netns>;
  readonly addresses: Addresses;
  readonly ssh: { port: number; adminCidrs: string[] };
  readonly key = join(this.dir, "id_ed25519");
  readonly gatewayInterface = `vmgw${randomBytes(2).toString("hex")}`;
  readonly derpInterface = `vmdp${randomBytes(2).toString("hex")}`;
  readonly timings: Record<string, number> = {};
  vm?: Vm;
  private image?: VmImage;
  private readonly processes: ChildProcess[] = [];
  private readonly onExit = () => this.vm?.kill();
  /** The VM's link to the router (its half of the test internet's /24) and the router's address on it. */
  private readonly wanLink: { network: string; router: string };
  private readonly linkAddresses: Partial<Record<Linked, Link>>;
  private readonly etcDirs: string[] = [];
  /** The host the lab's SSH to the VPS goes from: the plan's admin host, until a test moves the admin elsewhere. */
  sshFrom: "admin" | "newAdmin" = "admin";

  /** `edge` is the plan the VM boots from; `home` is the home stack's plan against it. */
  constructor(
    readonly edge: OfflineRun,
    readonly home: OfflineRun,
  ) {
    chmodSync(this.dir, 0o700);
    this.ssh = sshRule(edge);
    ({ addresses: this.addresses, wanLink: this.wanLink, linkAddresses: this.linkAddresses } = labAddresses(edge, this.ssh.adminCidrs));
  }

  /** Plans, builds or reuses the image, wires the namespaces, boots the VM and waits for cloud-init to finish. */
  static async start(log: (line: string) => void): Promise<EdgeVmLab> {
    const { edge, home } = await planEdgeAndHomeForVm();
    const lab = new EdgeVmLab(edge, home);
    try {
      await lab.bringUp(log);
    } catch (err) {
      const tail = lab.vm?.consoleTail() ?? "";
      await lab.teardown();
      throw new Error(`${(err as Error).message}\n--- VM console (all of it in ${LAST_CONSOLE}) ---\n${tail}`);
    }
    return lab;
  }

  private async bringUp(log: (line: string) => void) {
    let started = Date.now();
    const image = ensureImage(log);
    this.timings.imageSeconds = (Date.now() - started) / 1000;

    for (const host of ["router", "client", "admin", "home", "derp", "backend"] as Host[]) {
      this.hosts[host] = new Netns();
      this.exec(host, "sysctl", ["-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    }
    this.exec("router", "sysctl", ["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
    this.exec("router", "ip", ["link", "add", "br0", "type", "bridge"]);
    this.exec("router", "ip", ["address", "add", `${this.wanLink.router}/25`, "dev", "br0"]);
    // Hetzner's IPv6 gateway is fe80::1 on the server's link; the /64 is routed to it.
    this.exec("router", "ip", ["address", "add", "fe80::1/64", "dev", "br0", "nodad"]);
    this.exec("router", "ip", ["link", "set", "br0", "up"]);
    this.exec("router", "ip", ["-6", "route", "add", `${this.addresses.vps.ipv6.replace(/::1$/, "::")}/64`, "dev", "br0"]);
    for (const host of ["client", "admin", "home", "derp"] as const) this.wire(host);

    sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vm-test", "-f", this.key]);
    gatewayPodUp(this);
    derpPeerUp(this);

    this.image = image;
    process.once("exit", this.onExit);
    const { toSsh, toCloudInitDone } = await this.boot(String(this.edge.artifacts["cloud-init.yaml"]));
    this.timings.bootToSshSeconds = toSsh;
    this.timings.bootToCloudInitDoneSeconds = toCloudInitDone;
    log(`VM up: image ${this.timings.imageSeconds.toFixed(0)} s, power-on to cloud-init done ${toCloudInitDone.toFixed(0)} s`);
  }

  /**
   * Powers on a server from a copy of the image with this user-data, on the plan's addresses, and waits, over SSH
   * from `sshFrom`, until cloud-init has finished; returns the seconds from power-on to SSH and to cloud-init done.
   */
  private async boot(userData: string): Promise<{ toSsh: number; toCloudInitDone: number }> {
    this.vm = new Vm({
      image: this.image!,
      userData,
      publicKeys: [readFileSync(`${this.key}.pub`, "utf8").trim()],
      wan: { addresses: [`${this.addresses.vps.ipv4}/25`, `${this.addresses.vps.ipv6}/64`], gateway4: this.wanLink.router, gateway6: "fe80::1" },
      hostname: "edge",
    });
    const started = Date.now();
    await this.vm.start();
    // QEMU has the tap open; it keeps working after the move into the router's namespace.
    sh("ip", ["link", "set", this.vm.tap, "netns", this.hosts.router.name]);
    this.exec("router", "ip", ["link", "set", this.vm.tap, "master", "br0", "up"]);
    await this.waitForSsh(600);
    const toSsh = (Date.now() - started) / 1000;
    // `status --wait` returns at the first error; boot-finished is written when the final stage is over.
    this.vps("until [ -e /var/lib/cloud/instance/boot-finished ]; do sleep 2; done", 900_000);
    return { toSsh, toCloudInitDone: (Date.now() - started) / 1000 };
  }

  /**
   * Replaces the server, as the engine does with deleteBeforeReplace: the old VM is powered off first, then a new one
   * boots from `userData` on the same primary addresses and takes the same place on the router; from then on the lab's
   * SSH goes from `sshFrom`. Returns the seconds from power-on to cloud-init done, and logs them under `label`.
   */
  async replaceServer(label: string, userData: string, log: (line: string) => void, sshFrom = this.sshFrom): Promise<number> {
    this.closeMux();
    this.sshFrom = sshFrom;
    const old = this.vm!;
    await old.stop();
    spawnSync("ip", ["-n", this.hosts.router.name, "link", "delete", old.tap], { stdio: "ignore" });
    try {
      const { toCloudInitDone } = await this.boot(userData);
      this.timings[`${label}BootSeconds`] = toCloudInitDone;
      log(`${label}: a new server, power-on to cloud-init done ${toCloudInitDone.toFixed(0)} s`);
      return toCloudInitDone;
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- VM console ---\n${this.vm?.consoleTail() ?? ""}`);
    }
  }

  /** Plugs in a second admin host, in networks of the caller's (an operator's new address), as host newAdmin. */
  addAdminHost(adminCidrs: string[]): void {
    const { link } = adminLink(adminCidrs);
    this.hosts.newAdmin = new Netns();
    this.exec("newAdmin", "sysctl", ["-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    this.linkAddresses.newAdmin = link;
    this.wire("newAdmin");
  }

  /** The unix time of the VPS's latest handshake with a peer (0 for none), by the peer's public key. */
  latestHandshake(publicKey: string): number {
    const line = this.vps("wg show wg0 latest-handshakes 2>/dev/null || true").split("\n").find((l) => l.startsWith(publicKey));
    return Number(line?.split("\t")[1] ?? 0);
  }

  /** Waits until the VPS has a handshake with the peer newer than `after` (unix seconds); fails after the limit. */
  async waitForHandshakeWith(publicKey: string, after: number, limitSeconds: number): Promise<number> {
    for (const deadline = Date.now() + limitSeconds * 1000; Date.now() < deadline; await sleep(3000)) {
      const latest = this.latestHandshake(publicKey);
      if (latest > after) return latest;
    }
    throw new Error(`no handshake from ${publicKey} newer than ${after} within ${limitSeconds} s:\n${this.tryVps("wg show wg0").stdout}`);
  }

  private wire(host: Linked) {
    const port = `r-${host}`;
    const { host: hostAddresses, router } = this.linkAddresses[host]!;
    sh("ip", ["-n", this.hosts.router.name, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", this.hosts[host].name]);
    for (const address of router) this.exec("router", "ip", ["address", "add", address, "dev", port, "nodad"]);
    this.exec("router", "ip", ["link", "set", port, "up"]);
    for (const address of hostAddresses) this.exec(host, "ip", ["address", "add", address, "dev", "eth0", "nodad"]);
    this.exec(host, "ip", ["link", "set", "eth0", "up"]);
    this.exec(host, "ip", ["-4", "route", "add", "default", "via", router[0].split("/")[0]]);
    this.exec(host, "ip", ["-6", "route", "add", "default", "via", router[1].split("/")[0]]);
  }

  /** The address and port a STUN server at target:3478 says it saw, asked from a host of the lab. */
  stunFrom(host: Host, target: string): { address: string; port: number } {
    const result = this.tryExec(host, process.execPath, ["-e", STUN_CLIENT, join(__dirname, "stun.ts"), target], 60_000);
    if (result.status !== 0) throw new Error(`STUN from ${host} to ${target}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  exec(host: Host, cmd: string, args: string[], input?: string): string {
    return this.hosts[host].exec(cmd, args, input);
  }

  tryExec(host: Host, cmd: string, args: string[], timeoutMs = 120_000, input?: string) {
    const result = spawnSync("ip", ["netns", "exec", this.hosts[host].name, cmd, ...args], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, input });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
  }

  /** Starts a long-running process in a host of the lab's (or a namespace of it); teardown kills it. */
  start(host: Host | Netns, cmd: string, args: string[]): ChildProcess {
    const netns = typeof host === "string" ? this.hosts[host] : host;
    const child = spawn("ip", ["netns", "exec", netns.name, cmd, ...args], { stdio: "ignore" });
    this.processes.push(child);
    return child;
  }

  /** Writes a file that `ip netns exec` binds over /etc/<name> in that namespace; teardown removes it. */
  etcFile(netns: Netns, name: string, content: string): void {
    const dir = `/etc/netns/${netns.name}`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), content);
    this.etcDirs.push(dir);
  }

  /** ssh options: the test's key, no host-key memory (every VM has new host keys), no agent, no config. */
  sshArgs(extra: string[] = []): string[] {
    return [
      "-F", "/dev/null", "-i", this.key, "-p", String(this.ssh.port),
      "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
      "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
      ...extra,
    ];
  }

  /**
   * Runs a shell command on the VPS as root, from the admin host, over one multiplexed connection: the ruleset
   * rate-limits new SSH connections per source, and a test must not spend the admin's budget.
   */
  tryVps(command: string, timeoutMs = 120_000, input?: string) {
    const mux = ["-o", "ControlMaster=auto", "-o", `ControlPath=${this.muxPath}`, "-o", "ControlPersist=900"];
    return this.tryExec(this.sshFrom, "ssh", [...this.sshArgs(mux), `root@${this.addresses.vps.ipv4}`, command], timeoutMs, input);
  }

  vps(command: string, timeoutMs = 120_000): string {
    const result = this.tryVps(command, timeoutMs);
    if (result.status !== 0) throw new Error(`on the VPS: ${command} exited ${result.status}:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  /**
   * Runs a command over a connection of its own, as the command provider runs each remote Command: a dial error
   * (refused, timed out) is retried, as its dialErrorLimit does; any other failure is the command's own.
   */
  async viaNewConnection(command: string, dialAttempts = 20) {
    for (let attempt = 1; ; attempt++) {
      const result = this.tryExec(this.sshFrom, "ssh", [...this.sshArgs(["-o", "ControlPath=none"]), `root@${this.addresses.vps.ipv4}`, command], 120_000);
      const dialError = result.status === 255 && /ssh: connect to host .* port \d+: /.test(result.stderr);
      if (!dialError || attempt >= dialAttempts) return { ...result, attempts: attempt };
      await sleep(3000);
    }
  }

  /** Reboots the VPS and waits until SSH answers and systemd has finished starting; returns the seconds it took. */
  async reboot(): Promise<number> {
    const started = Date.now();
    this.tryVps("systemctl reboot", 15_000);
    this.closeMux();
    await sleep(10_000);
    await this.waitForSsh(600);
    this.vps("systemctl is-system-running --wait >/dev/null || true", 300_000);
    return (Date.now() - started) / 1000;
  }

  /** Closes the multiplexed connection (before a reboot, so the next command opens a fresh one). */
  closeMux() {
    this.tryExec(this.sshFrom, "ssh", [...this.sshArgs(["-o", `ControlPath=${this.muxPath}`, "-O", "exit"]), `root@${this.addresses.vps.ipv4}`], 10_000);
  }

  /** One multiplexed connection per admin host: each has its own rate-limit budget and its own route in. */
  private get muxPath() {
    return `${this.dir}/mux-${this.sshFrom}`;
  }

  /** Polls SSH from the admin host until the VPS answers (one probe every few seconds, inside the rate limit). */
  async waitForSsh(limitSeconds: number): Promise<void> {
    const deadline = Date.now() + limitSeconds * 1000;
    let last = "";
    while (Date.now() < deadline) {
      const result = this.tryVps("true", 20_000);
      if (result.status === 0) return;
      last = result.stderr;
      await sleep(5000);
    }
    throw new Error(`SSH to the VPS did not answer within ${limitSeconds} s: ${last}`);
  }

  /** Kills everything the lab started and removes its namespaces, tap and files; safe after a partial start. */
  async teardown(): Promise<void> {
    if (this.hosts[this.sshFrom]) this.closeMux();
    this.vm?.saveConsole(LAST_CONSOLE);
    await this.vm?.stop();
    process.removeListener("exit", this.onExit);
    for (const child of this.processes) child.kill("SIGKILL");
    if (this.hosts.home) this.tryExec("home", "wg-quick", ["down", join(this.dir, `${this.gatewayInterface}.conf`)], 20_000);
    if (this.hosts.derp) this.tryExec("derp", "wg-quick", ["down", join(this.dir, `${this.derpInterface}.conf`)], 20_000);
    if (this.hosts.router && this.vm) spawnSync("ip", ["-n", this.hosts.router.name, "link", "delete", this.vm.tap], { stdio: "ignore" });
    for (const host of Object.values(this.hosts)) host.delete();
    for (const dir of this.etcDirs) rmSync(dir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
