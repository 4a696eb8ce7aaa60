import { createHash } from "node:crypto";
import { EdgeTopology, Host } from "./topology";

/** curl from a host; returns status, body and timing, never throws. */
export function curl(topology: EdgeTopology, host: Host, url: string, extra: string[] = []) {
  const result = topology.hosts[host].tryExec("curl", ["-sk", "--max-time", "10", "-g", ...extra, url]);
  return { ok: result.status === 0, body: result.stdout, status: result.status };
}

/** Bracket an IPv6 literal for a URL. */
export const urlHost = (address: string) => (address.includes(":") ? `[${address}]` : address);

export const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Sends one UDP datagram from a host and waits for an answer; returns who answered and what, or undefined. */
export function udpExchange(topology: EdgeTopology, host: Host, address: string, port: number, timeoutMs = 2000): { from: string; body: string } | undefined {
  const script = `
const dgram = require("dgram");
const socket = dgram.createSocket(${JSON.stringify(address.includes(":") ? "udp6" : "udp4")});
const timer = setTimeout(() => { process.stdout.write("{}"); process.exit(0); }, ${timeoutMs});
socket.on("message", (m, r) => { clearTimeout(timer); process.stdout.write(JSON.stringify({ from: r.address, body: String(m) })); process.exit(0); });
socket.send("probe", ${port}, ${JSON.stringify(address)});`;
  const out = topology.hosts[host].tryExec(process.execPath, ["-e", script]).stdout;
  const parsed = JSON.parse(out || "{}");
  return parsed.from ? parsed : undefined;
}

/** Opens TCP connections from a host one after another; returns how many the far end accepted. */
export function tcpBurst(topology: EdgeTopology, host: Host, address: string, port: number, attempts: number, timeoutMs = 700): boolean[] {
  const script = `
const net = require("net");
const results = [];
(async () => {
  for (let i = 0; i < ${attempts}; i++) {
    results.push(await new Promise((resolve) => {
      const s = net.connect({ host: ${JSON.stringify(address)}, port: ${port} });
      const done = (ok) => { s.destroy(); resolve(ok); };
      s.setTimeout(${timeoutMs}, () => done(false));
      s.on("connect", () => done(true));
      s.on("error", () => done(false));
    }));
  }
  process.stdout.write(JSON.stringify(results));
})();`;
  return JSON.parse(topology.hosts[host].tryExec(process.execPath, ["-e", script]).stdout);
}

/** Polls until the check passes or the time is up; returns the seconds it took, or undefined. */
export async function secondsUntil(check: () => boolean, limitSeconds: number): Promise<number | undefined> {
  const started = Date.now();
  while ((Date.now() - started) / 1000 < limitSeconds) {
    if (check()) return (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}
