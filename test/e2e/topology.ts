import { ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FORWARDING_SYSCTL } from "../../components/edge/cloudInit";
import { stunListenAddress } from "../../components/home/headscaleConfig";
import { OfflineRun } from "../../tools/offline/engine";
import { Netns, run } from "../support/realTools";
import { HeadscaleRoute, PodRuntime, POD_NETWORK, startGatewayHaproxy, startTraefikStandIn, traefikStandInPaths } from "../support/tunnelGatewayPod";

export { DIRECT_PORT, HEADSCALE_POD_LINK } from "../support/tunnelGatewayPod";

/** The hosts of the edge path, each a network namespace. */
export type Host = "sw" | "internet" | "admin" | "vps" | "home" | "derp" | "backend";

/** Addresses the test gives hosts; the VPS's come from the plan, the rest avoid the plan's fake range (.10-.249). */
export interface Addresses {
  vps: { ipv4: string; ipv6: string };
  client: { ipv4: string; ipv6: string };
  admin: { ipv4: string; ipv6: string };
  homeUnderlay: string;
  /** The Headscale pod's own addresses, dual stack like a pod's; the client's network is on-link from them. */
  derpUnderlay: { ipv4: string; ipv6: string };
  /** The pod network between the gateway and the backend that stands in for Traefik. */
  gatewayPod: string;
  backend: string;
}

/** The gateway's interface in the test; in the pod it is wg0. */
export const GATEWAY_INTERFACE = "wg-gateway";
/** The derp peer's interface in the test; in Headscale's pod it is wg0. */
export const DERP_INTERFACE = "wg-derp";

/**
 * Answers every datagram with the address it came from, as STUN does, on one socket bound where Headscale's config
 * says (stun_listen_addr "[::]:3478": dual stack, no source address of its own).
 */
const UDP_RESPONDER = `
const dgram = require("dgram");
const [host, port] = JSON.parse(process.argv[1]);
const socket = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4", ipv6Only: false });
const plain = (address) => address.replace(/^::ffff:/, "");
socket.on("message", (_m, r) => socket.send("seen " + plain(r.address), r.port, r.address));
socket.bind(port, host);`;

/** Host and port of Headscale's STUN listener, from its rendered config. */
export function stunListen(headscaleConfig: string): [string, number] {
  const listen = stunListenAddress(headscaleConfig);
  if (!listen) throw new Error("the home plan's Headscale config runs no STUN listener");
  return [listen.host || "0.0.0.0", listen.port];
}

export class EdgeTopology {
  readonly dir = mkdtempSync(join(tmpdir(), "edge-e2e-"));
  /** The Traefik stand-in's self-signed wildcard certificate, which a client told to trust it can verify. */
  readonly certificate = traefikStandInPaths(this.dir).certificate;
  readonly hosts = {} as Record<Host, Netns>;
  readonly processes: ChildProcess[] = [];
  readonly addresses: Addresses;
  private readonly etcDirs = new Set<string>();

  /**
   * With `headscale`, the Traefik stand-in also routes Headscale's host to the Headscale pod (the `derp` host, linked to
   * the backend as the pod network links them), and no STUN stand-in runs: the real Headscale's own STUN listener does.
   */
  constructor(
    readonly edge: OfflineRun,
    readonly home: OfflineRun,
    readonly options: { headscale?: HeadscaleRoute } = {},
  ) {
    chmodSync(this.dir, 0o755);
    const publicIpv4 = String(edge.outputs.publicIpv4.value);
    const publicIpv6 = String(edge.outputs.publicIpv6.value);
    const v6net = publicIpv6.replace(/::1$/, "::");
    this.addresses = {
      vps: { ipv4: publicIpv4, ipv6: publicIpv6 },
      client: { ipv4: "203.0.113.250", ipv6: `${v6net}fa` },
      admin: { ipv4: "198.51.100.7", ipv6: "2001:db8:5::7" },
      homeUnderlay: "203.0.113.251",
      derpUnderlay: { ipv4: "203.0.113.252", ipv6: `${v6net}fc` },
      gatewayPod: POD_NETWORK.gateway,
      backend: POD_NETWORK.backend,
    };
  }

  /** Runs a command in a host, returning stdout. */
  exec(host: Host, cmd: string, args: string[], input?: string): string {
    return this.hosts[host].exec(cmd, args, input);
  }

  /** Starts a long-running process in a host (of the topology's, or a namespace of the caller's); teardown kills it. */
  start(host: Host | Netns, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const netns = typeof host === "string" ? this.hosts[host] : host;
    const child = spawn("ip", ["netns", "exec", netns.name, cmd, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
    child.stderr?.on("data", () => undefined);
    this.processes.push(child);
    return child;
  }

  /** Writes a file into the test's scratch directory. */
  file(name: string, content: string, mode = 0o600): string {
    const path = join(this.dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, content, { mode });
    return path;
  }

  /** Plugs a namespace (a host of the topology's, or one of the caller's) into the internet's switch as eth0. */
  wire(host: Host | Netns, port: string, addresses: string[], onLink: string[] = []) {
    const netns = typeof host === "string" ? this.hosts[host] : host;
    run("ip", ["-n", this.hosts.sw.name, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns.name]);
    run("ip", ["-n", this.hosts.sw.name, "link", "set", port, "master", "br0", "up"]);
    for (const address of addresses) netns.exec("ip", ["address", "add", address, "dev", "eth0", "nodad"]);
    netns.exec("ip", ["link", "set", "eth0", "up"]);
    for (const prefix of onLink) netns.exec("ip", [prefix.includes(":") ? "-6" : "-4", "route", "add", prefix, "dev", "eth0"]);
  }

  /** Writes a file that `ip netns exec` binds over /etc/<name> in that namespace (hosts, resolv.conf); teardown removes it. */
  etcFile(netns: Netns, name: string, content: string): void {
    mkdirSync(`/etc/netns/${netns.name}`, { recursive: true });
    writeFileSync(`/etc/netns/${netns.name}/${name}`, content);
    this.etcDirs.add(`/etc/netns/${netns.name}`);
  }

  /**
   * Brings a WireGuard peer up from its rendered config with wg-quick, as the pod's init container does. Each host
   * needs its own interface name: wireguard-go's control socket lives in /var/run, which namespaces share.
   */
  wireguardUp(host: Host, name: string, config: string) {
    const path = this.file(`${host}/${name}.conf`, config);
    this.exec(host, "wg-quick", ["up", path]);
  }

  build(): this {
    for (const host of ["sw", "internet", "admin", "vps", "home", "derp", "backend"] as Host[]) {
      this.hosts[host] = new Netns();
      this.exec(host, "sysctl", ["-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    }
    const a = this.addresses;
    this.exec("sw", "ip", ["link", "add", "br0", "type", "bridge"]);
    this.exec("sw", "ip", ["link", "set", "br0", "up"]);
    this.wire("vps", "p-vps", [`${a.vps.ipv4}/24`, `${a.vps.ipv6}/64`], ["198.51.100.0/24", "2001:db8:5::/48"]);
    this.wire("internet", "p-inet", [`${a.client.ipv4}/24`, `${a.client.ipv6}/64`]);
    this.wire("admin", "p-admin", [`${a.admin.ipv4}/24`, `${a.admin.ipv6}/64`], [`${a.vps.ipv4}/32`, `${a.vps.ipv6}/128`]);
    this.wire("home", "p-home", [`${a.homeUnderlay}/24`]);
    this.wire("derp", "p-derp", [`${a.derpUnderlay.ipv4}/24`, `${a.derpUnderlay.ipv6}/64`]);

    // The VPS: forwarding as cloud-init enables it, the rendered ruleset and wg0.conf.
    this.exec("vps", "sysctl", ["-q", "-p", this.file("vps/forwarding.conf", FORWARDING_SYSCTL)]);
    this.exec("vps", "nft", ["-f", this.file("vps/nftables.conf", this.edge.artifacts["nftables.conf"])]);
    this.wireguardUp("vps", "wg0", this.edge.artifacts["wg0.conf"]);
    const sshd = this.file("vps/sshd_config", `${this.edge.artifacts["sshd-10-homelab.conf"]}PidFile ${this.dir}/sshd.pid\n`);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(this.dir, "vps/host_key")]);
    mkdirSync("/run/sshd", { recursive: true });
    this.start("vps", "/usr/sbin/sshd", ["-D", "-e", "-f", sshd, "-h", join(this.dir, "vps/host_key")]);

    // The backend, on the pod network behind the gateway; the gateway: wg-quick on the rendered peer config, HAProxy.
    const runtime: PodRuntime = { dir: this.dir, start: (netns, cmd, args) => this.start(netns, cmd, args), etcFile: (netns, name, content) => this.etcFile(netns, name, content) };
    startTraefikStandIn(runtime, this.hosts.home, this.hosts.backend, this.options.headscale && { netns: this.hosts.derp, route: this.options.headscale });
    this.wireguardUp("home", GATEWAY_INTERFACE, this.home.artifacts["gateway-wg0.conf"]);
    startGatewayHaproxy(runtime, this.hosts.home, this.home.artifacts["haproxy.cfg"]);

    // The Headscale pod: the derp peer from the home plan's Secret, and STUN listening as Headscale's config says. Its
    // eth0 shares a network with the client, so an answer routed by the main table would reach it from the wrong address.
    this.wireguardUp("derp", DERP_INTERFACE, this.home.artifacts["derp-wg0.conf"]);
    if (!this.options.headscale) this.start("derp", process.execPath, ["-e", UDP_RESPONDER, JSON.stringify(stunListen(this.home.artifacts["headscale-config.yaml"]))]);
    return this;
  }

  teardown(): void {
    for (const child of this.processes) child.kill("SIGKILL");
    for (const host of Object.values(this.hosts)) host.delete();
    for (const dir of this.etcDirs) rmSync(dir, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
