import { createHash } from "node:crypto";
import { Netns } from "../support/realTools";
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

/** Connects over TCP from a namespace and returns what the far end says first, or undefined if nothing answers in time. */
export function tcpGreeting(netns: Netns, address: string, port: number, timeoutMs = 3000): string | undefined {
  const script = `
const s = require("net").connect({ host: ${JSON.stringify(address)}, port: ${port} });
const done = (text) => { process.stdout.write(text); process.exit(0); };
setTimeout(() => done(""), ${timeoutMs});
s.on("data", (d) => done(String(d)));
s.on("error", () => done(""));`;
  return netns.tryExec(process.execPath, ["-e", script]).stdout || undefined;
}

/**
 * Sends one STUN binding request (RFC 5389) from a host and returns who answered and the address it says it saw
 * (XOR-MAPPED-ADDRESS), or undefined without an answer. Tailscale's STUN server, which Headscale embeds, answers only
 * requests carrying its clients' SOFTWARE attribute ("tailnode") and a FINGERPRINT (tailscale.com v1.101.0-pre, the
 * version Headscale v0.29.3's go.mod requires, as v0.29.2's did: net/stun/stun.go ParseBindingRequest), so this request carries both.
 */
export function stunBinding(netns: Netns, address: string, port: number, timeoutMs = 2000): { from: string; mapped: string } | undefined {
  const script = `
const crypto = require("crypto");
const family = ${JSON.stringify(address.includes(":") ? "udp6" : "udp4")};
const socket = require("dgram").createSocket(family);
const cookie = Buffer.from([0x21, 0x12, 0xa4, 0x42]);
const tx = crypto.randomBytes(12);
const software = Buffer.from([0x80, 0x22, 0x00, 0x08, ...Buffer.from("tailnode")]);
const head = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, software.length + 8]), cookie, tx, software]);
const fingerprint = Buffer.alloc(8);
fingerprint.writeUInt32BE(0x80280004, 0);
fingerprint.writeUInt32BE((require("zlib").crc32(head) ^ 0x5354554e) >>> 0, 4);
const request = Buffer.concat([head, fingerprint]);
setTimeout(() => { process.stdout.write("{}"); process.exit(0); }, ${timeoutMs});
socket.on("message", (m, r) => {
  if (m.readUInt16BE(0) !== 0x0101 || !m.subarray(8, 20).equals(tx)) return;
  for (let at = 20; at + 4 <= m.length; ) {
    const type = m.readUInt16BE(at), length = m.readUInt16BE(at + 2), value = m.subarray(at + 4, at + 4 + length);
    if (type === 0x0020 || type === 0x8020) {
      const mask = Buffer.concat([cookie, tx]);
      const bytes = Buffer.from(value.subarray(4).map((b, i) => b ^ mask[i]));
      // A dual-stack socket sees IPv4 clients as ::ffff:a.b.c.d; Tailscale's client unmaps them (net/stun/stun.go ParseResponse).
      const v4 = value[1] === 1 ? bytes : bytes.subarray(0, 12).equals(Buffer.from("00000000000000000000ffff", "hex")) ? bytes.subarray(12) : undefined;
      const ip = v4 ? [...v4].join(".") : new URL("http://[" + bytes.toString("hex").match(/.{4}/g).join(":") + "]").hostname.slice(1, -1);
      process.stdout.write(JSON.stringify({ from: r.address, mapped: ip }));
      process.exit(0);
    }
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
});
socket.send(request, ${port}, ${JSON.stringify(address)});`;
  const parsed = JSON.parse(netns.tryExec(process.execPath, ["-e", script]).stdout || "{}");
  return parsed.from ? parsed : undefined;
}
