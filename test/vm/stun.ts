import { isIPv4 } from "node:net";
import { crc32 } from "node:zlib";

/**
 * The STUN Binding exchange of RFC 5389 (sections 6 and 15.2), as far as a NAT check needs it: a request, and a
 * success response carrying XOR-MAPPED-ADDRESS, the address the server saw. It stands in for the server side of
 * tailscale.com/net/stun v1.101.0-pre (stun.go: ParseBindingRequest and Response), which Headscale v0.29.2's embedded
 * DERP uses, and answers only what that parser accepts: a Binding request from Tailscale's own client, with SOFTWARE
 * "tailnode" and a FINGERPRINT last. A scanner's plain Binding request gets no answer from either.
 */
const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;
const SOFTWARE = 0x8022;
const FINGERPRINT = 0x8028;
const TAILSCALE_SOFTWARE = "tailnode";
const HEADER = 20;

/** RFC 5389 section 15.5: CRC-32 of the message before the attribute, XORed with "STUN". */
const fingerprintOf = (message: Buffer) => (crc32(message) ^ 0x5354554e) >>> 0;

const attribute = (type: number, value: Buffer) => {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
};

/** Each attribute of a message as type and value, or undefined when one runs past the end. */
function attributes(message: Buffer): { type: number; value: Buffer }[] | undefined {
  const found = [];
  for (let at = HEADER; at < message.length; ) {
    if (at + 4 > message.length) return undefined;
    const length = message.readUInt16BE(at + 2);
    if (at + 4 + length > message.length) return undefined;
    found.push({ type: message.readUInt16BE(at), value: message.subarray(at + 4, at + 4 + length) });
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  return found;
}

/** A Binding request as Tailscale's client sends it: SOFTWARE "tailnode", then FINGERPRINT. */
export function bindingRequest(transactionId: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(BINDING_REQUEST, 0);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  const software = attribute(SOFTWARE, Buffer.from(TAILSCALE_SOFTWARE));
  // The length in the header counts the fingerprint attribute, which the CRC then covers.
  header.writeUInt16BE(software.length + 8, 2);
  const signed = Buffer.concat([header, software]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(fingerprintOf(signed));
  return Buffer.concat([signed, attribute(FINGERPRINT, crc)]);
}

/** Whether the server side of tailscale.com/net/stun would take this as a Binding request (ParseBindingRequest). */
export function isTailscaleBindingRequest(message: Buffer): boolean {
  if (message.length < HEADER || (message[0] & 0xc0) !== 0 || message.readUInt32BE(4) !== MAGIC_COOKIE) return false;
  if (message.readUInt16BE(0) !== BINDING_REQUEST) return false;
  const found = attributes(message);
  if (!found?.length) return false;
  if (!found.some((a) => a.type === SOFTWARE && a.value.toString() === TAILSCALE_SOFTWARE)) return false;
  const last = found[found.length - 1];
  return last.type === FINGERPRINT && last.value.length === 4 && last.value.readUInt32BE(0) === fingerprintOf(message.subarray(0, message.length - 8));
}

/** The key an address is XORed with: the cookie for IPv4, the cookie and transaction id for IPv6. */
const xorKey = (transactionId: Buffer) => Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);

/** An IPv4 or IPv6 address as its bytes; two spellings of one IPv6 address give the same bytes. */
export function addressBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split(".").map(Number));
  const groups = (part: string) => (part ? part.split(":") : []);
  const [head, tail] = address.split("::");
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array(8 - groups(head).length - groups(tail).length).fill("0"), ...groups(tail)];
  return Buffer.from(all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** Dotted IPv4, or IPv6 as eight uncompressed groups. */
function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(":");
}

/** The success response to a Binding request, or undefined for anything Tailscale's STUN server would not answer. */
export function bindingResponse(request: Buffer, address: string, port: number): Buffer | undefined {
  if (!isTailscaleBindingRequest(request)) return undefined;
  const transactionId = request.subarray(8, HEADER);
  const key = xorKey(transactionId);
  const raw = addressBytes(address);
  const xored = Buffer.from(raw.map((b, i) => b ^ key[i]));
  const value = Buffer.alloc(4 + xored.length);
  value.writeUInt8(raw.length === 4 ? 0x01 : 0x02, 1);
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  xored.copy(value, 4);
  const mapped = attribute(XOR_MAPPED_ADDRESS, value);
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(BINDING_SUCCESS, 0);
  header.writeUInt16BE(mapped.length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, mapped]);
}

/** The address and port a success response says the server saw, checked against the request's transaction id. */
export function mappedAddress(response: Buffer, transactionId: Buffer): { address: string; port: number } {
  if (response.readUInt16BE(0) !== BINDING_SUCCESS) throw new Error(`not a Binding success response: type 0x${response.readUInt16BE(0).toString(16)}`);
  if (!response.subarray(8, HEADER).equals(transactionId)) throw new Error("the response answers another transaction");
  const value = attributes(response)?.find((a) => a.type === XOR_MAPPED_ADDRESS)?.value;
  if (!value) throw new Error("the response has no XOR-MAPPED-ADDRESS");
  const key = xorKey(transactionId);
  const bytes = Buffer.from(value.subarray(4).map((b, i) => b ^ key[i]));
  return { address: formatAddress(bytes), port: value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16) };
}

/** Loads this file in a child node (argv[1] is its path), from the checkout, whose ts-node compiles it. */
const LOAD_SELF = `require(require.resolve("ts-node/register/transpile-only", { paths: [process.cwd()] }));
const stun = require(process.argv[1]);`;

/** A STUN server on [::]:3478, both families (argv: the path of this file). */
export const STUN_RESPONDER = `${LOAD_SELF}
const socket = require("dgram").createSocket({ type: "udp6", ipv6Only: false });
socket.on("message", (message, from) => {
  const reply = stun.bindingResponse(message, from.address.replace(/^::ffff:/, ""), from.port);
  if (reply) socket.send(reply, from.port, from.address);
});
socket.bind(3478, "::");`;

/** Asks the STUN server at argv[2]:3478, retrying each second; prints what it saw as JSON (argv: this file, host). */
export const STUN_CLIENT = `${LOAD_SELF}
const host = process.argv[2];
const transaction = require("crypto").randomBytes(12);
const socket = require("dgram").createSocket(require("net").isIPv6(host) ? "udp6" : "udp4");
socket.on("message", (message) => { console.log(JSON.stringify(stun.mappedAddress(message, transaction))); process.exit(0); });
let tries = 0;
const ask = () => {
  if (++tries > 8) { console.error("no STUN response from " + host); process.exit(1); }
  socket.send(stun.bindingRequest(transaction), 3478, host);
};
setInterval(ask, 1000);
ask();`;
