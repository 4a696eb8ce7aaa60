import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostAddress, parseCidr } from "../../components/config/cidr";
import { OfflineRun } from "../../tools/offline/engine";
import { Netns } from "../support/realTools";
import { ensureImage } from "./image";
import { STUN_CLIENT, STUN_RESPONDER } from "./stun";
import { sh, Vm } from "./vm";
import { planEdgeForVm, sshRule, TEST_INTERNET_V4 } from "./vmPlan";

const CLIENT_V6_NET = "2001:db8:ffc1::/64";
const HOME_V6_NET = "2001:db8:ffc2::/64";
const DERP_V6_NET = "2001:db8:ffc3::/64";
/** The serial console of the last VM, kept after teardown for a post-mortem. */
export const LAST_CONSOLE = join(tmpdir(), "homelab-vm-last-console.log");

type Host = "router" | "client" | "admin" | "home" | "derp";

interface Addresses {
  vps: { ipv4: string; ipv6: string };
  client: { ipv4: string; ipv6: string };
  admin: { ipv4: string; ipv6: string };
  home: { ipv4: string; ipv6: string };
  derp: { ipv4: string; ipv6: string };
}

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`not a CIDR: ${text}`);
  return parsed;
};

/** A /64 (or the network itself when narrower) of an IPv6 admin network, and host n in it. */
const v6Host = (network: string, n: number) => `${hostAddress(cidr(network), n)}/${Math.max(64, cidr(network).prefix)}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The edge VPS as a VM on a test internet of network namespaces: a router (the VM's tap on its bridge, and one veth
 * to each other host), a client anywhere on the internet, an admin host inside the plan's admin networks, and the
 * home gateway peer (wireguard-go with the plan's own peer config, and a backend behind it).
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
  private readonly processes: ChildProcess[] = [];
  private readonly onExit = () => this.vm?.kill();
  /** The VM's link to the router (its half of the test internet's /24) and the router's address on it. */
  private readonly wanLink: { network: string; router: string };
  private readonly linkAddresses: Record<Exclude<Host, "router">, { host: string[]; router: string[] }>;

  constructor(readonly edge: OfflineRun) {
    chmodSync(this.dir, 0o700);
    this.ssh = sshRule(edge);
    const vps = { ipv4: String(edge.outputs.publicIpv4.value), ipv6: String(edge.outputs.publicIpv6.value) };
    const internet = cidr(TEST_INTERNET_V4);
    if (!vps.ipv4.startsWith(TEST_INTERNET_V4.replace(/0\/24$/, ""))) {
      throw new Error(`the plan's public IPv4 ${vps.ipv4} is not in the test internet ${TEST_INTERNET_V4}`);
    }
    // The VPS's half of the /24 is its link to the router; the other half holds the client's and the home's links.
    const lastOctet = Number(vps.ipv4.split(".")[3]);
    const far = lastOctet < 128 ? 128 : 0;
    const adminV4 = this.ssh.adminCidrs.find((c) => !c.includes(":"))!;
    const adminV6 = this.ssh.adminCidrs.find((c) => c.includes(":"))!;
    this.addresses = {
      vps,
      client: { ipv4: hostAddress(internet, far + 2), ipv6: hostAddress(cidr(CLIENT_V6_NET), 2) },
      home: { ipv4: hostAddress(internet, far + 66), ipv6: hostAddress(cidr(HOME_V6_NET), 2) },
      derp: { ipv4: hostAddress(internet, far + 34), ipv6: hostAddress(cidr(DERP_V6_NET), 2) },
      admin: { ipv4: hostAddress(cidr(adminV4), 10), ipv6: hostAddress(cidr(adminV6), 10) },
    };
    const wanBase = far === 128 ? 0 : 128;
    const router = hostAddress(internet, wanBase + 1) === vps.ipv4 ? hostAddress(internet, wanBase + 2) : hostAddress(internet, wanBase + 1);
    this.wanLink = { network: `${hostAddress(internet, wanBase)}/25`, router };
    this.linkAddresses = {
      client: { host: [`${this.addresses.client.ipv4}/27`, `${this.addresses.client.ipv6}/64`], router: [`${hostAddress(internet, far + 1)}/27`, `${hostAddress(cidr(CLIENT_V6_NET), 1)}/64`] },
      derp: { host: [`${this.addresses.derp.ipv4}/27`, `${this.addresses.derp.ipv6}/64`], router: [`${hostAddress(internet, far + 33)}/27`, `${hostAddress(cidr(DERP_V6_NET), 1)}/64`] },
      home: { host: [`${this.addresses.home.ipv4}/26`, `${this.addresses.home.ipv6}/64`], router: [`${hostAddress(internet, far + 65)}/26`, `${hostAddress(cidr(HOME_V6_NET), 1)}/64`] },
      admin: { host: [`${this.addresses.admin.ipv4}/${cidr(adminV4).prefix}`, v6Host(adminV6, 10)], router: [`${hostAddress(cidr(adminV4), 1)}/${cidr(adminV4).prefix}`, v6Host(adminV6, 1)] },
    };
  }

  /** Plans, builds or reuses the image, wires the namespaces, boots the VM and waits for cloud-init to finish. */
  static async start(log: (line: string) => void): Promise<EdgeVmLab> {
    const lab = new EdgeVmLab(await planEdgeForVm());
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

    for (const host of ["router", "client", "admin", "home", "derp"] as Host[]) {
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
    this.homePeerUp();
    this.derpPeerUp();

    this.vm = new Vm({
      image,
      userData: String(this.edge.artifacts["cloud-init.yaml"]),
      publicKeys: [readFileSync(`${this.key}.pub`, "utf8").trim()],
      wan: { addresses: [`${this.addresses.vps.ipv4}/25`, `${this.addresses.vps.ipv6}/64`], gateway4: this.wanLink.router, gateway6: "fe80::1" },
      hostname: "edge",
    });
    process.once("exit", this.onExit);
    started = Date.now();
    await this.vm.start();
    // QEMU has the tap open; it keeps working after the move into the router's namespace.
    sh("ip", ["link", "set", this.vm.tap, "netns", this.hosts.router.name]);
    this.exec("router", "ip", ["link", "set", this.vm.tap, "master", "br0", "up"]);
    await this.waitForSsh(600);
    this.timings.bootToSshSeconds = (Date.now() - started) / 1000;
    // `status --wait` returns at the first error; boot-finished is written when the final stage is over.
    this.vps("until [ -e /var/lib/cloud/instance/boot-finished ]; do sleep 2; done", 900_000);
    this.timings.bootToCloudInitDoneSeconds = (Date.now() - started) / 1000;
    log(`VM up: image ${this.timings.imageSeconds.toFixed(0)} s, power-on to cloud-init done ${this.timings.bootToCloudInitDoneSeconds.toFixed(0)} s`);
  }

  private wire(host: Exclude<Host, "router">) {
    const port = `r-${host}`;
    const { host: hostAddresses, router } = this.linkAddresses[host];
    sh("ip", ["-n", this.hosts.router.name, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", this.hosts[host].name]);
    for (const address of router) this.exec("router", "ip", ["address", "add", address, "dev", port, "nodad"]);
    this.exec("router", "ip", ["link", "set", port, "up"]);
    for (const address of hostAddresses) this.exec(host, "ip", ["address", "add", address, "dev", "eth0", "nodad"]);
    this.exec(host, "ip", ["link", "set", "eth0", "up"]);
    this.exec(host, "ip", ["-4", "route", "add", "default", "via", router[0].split("/")[0]]);
    this.exec(host, "ip", ["-6", "route", "add", "default", "via", router[1].split("/")[0]]);
  }

  /** The gateway peer from the plan's homePeerConfigs, brought up by wg-quick on wireguard-go, and a backend behind it. */
  private homePeerUp() {
    const configs = this.edge.outputs.homePeerConfigs.value as Record<string, string>;
    const path = join(this.dir, `${this.gatewayInterface}.conf`);
    writeFileSync(path, configs.gateway, { mode: 0o600 });
    this.exec("home", "wg-quick", ["up", path]);
    // Answers each HTTP request on 80 and 443 with the address it came from, as a PROXY-protocol-aware backend would
    // log it. It reads the request before answering, and a reset connection never takes the process down.
    const backend = `
const net = require("net");
for (const port of [80, 443]) net.createServer((s) => {
  s.on("error", () => s.destroy());
  const from = s.remoteAddress.replace(/^::ffff:/, "");
  let request = "";
  s.on("data", (chunk) => {
    request += chunk;
    if (request.includes("\\r\\n\\r\\n")) s.end("HTTP/1.1 200 OK\\r\\nContent-Length: " + Buffer.byteLength(from) + "\\r\\nConnection: close\\r\\n\\r\\n" + from);
  });
}).listen({ port, host: "::" });`;
    this.start("home", process.execPath, ["-e", backend]);
  }

  /**
   * The derp peer from the plan's homePeerConfigs, on wireguard-go, with a STUN responder on 3478/udp standing in for
   * Headscale's embedded DERP STUN server (headscale v0.29.2 serves it with tailscale.com/net/stun; stun.test.ts
   * checks the codec against RFC 5389). The plan's PostUp sends replies from port 3478 back through the tunnel.
   */
  private derpPeerUp() {
    const configs = this.edge.outputs.homePeerConfigs.value as Record<string, string>;
    if (!configs.derp) return;
    const path = join(this.dir, `${this.derpInterface}.conf`);
    writeFileSync(path, configs.derp, { mode: 0o600 });
    this.exec("derp", "wg-quick", ["up", path]);
    this.start("derp", process.execPath, ["-e", STUN_RESPONDER, join(__dirname, "stun.ts")]);
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

  tryExec(host: Host, cmd: string, args: string[], timeoutMs = 120_000) {
    const result = spawnSync("ip", ["netns", "exec", this.hosts[host].name, cmd, ...args], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
  }

  start(host: Host, cmd: string, args: string[]): ChildProcess {
    const child = spawn("ip", ["netns", "exec", this.hosts[host].name, cmd, ...args], { stdio: "ignore" });
    this.processes.push(child);
    return child;
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
  tryVps(command: string, timeoutMs = 120_000) {
    const mux = ["-o", "ControlMaster=auto", "-o", `ControlPath=${this.dir}/mux`, "-o", "ControlPersist=900"];
    return this.tryExec("admin", "ssh", [...this.sshArgs(mux), `root@${this.addresses.vps.ipv4}`, command], timeoutMs);
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
      const result = this.tryExec("admin", "ssh", [...this.sshArgs(["-o", "ControlPath=none"]), `root@${this.addresses.vps.ipv4}`, command], 120_000);
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
    this.tryExec("admin", "ssh", [...this.sshArgs(["-o", `ControlPath=${this.dir}/mux`, "-O", "exit"]), `root@${this.addresses.vps.ipv4}`], 10_000);
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
    if (this.hosts.admin) this.closeMux();
    this.vm?.saveConsole(LAST_CONSOLE);
    await this.vm?.stop();
    process.removeListener("exit", this.onExit);
    for (const child of this.processes) child.kill("SIGKILL");
    if (this.hosts.home) this.tryExec("home", "wg-quick", ["down", join(this.dir, `${this.gatewayInterface}.conf`)], 20_000);
    if (this.hosts.derp) this.tryExec("derp", "wg-quick", ["down", join(this.dir, `${this.derpInterface}.conf`)], 20_000);
    if (this.hosts.router && this.vm) spawnSync("ip", ["-n", this.hosts.router.name, "link", "delete", this.vm.tap], { stdio: "ignore" });
    for (const host of Object.values(this.hosts)) host.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
