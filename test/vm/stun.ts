import { isIPv4 } from "node:net";

/**
 * The STUN Binding exchange of RFC 5389 (sections 6 and 15.2), as far as a NAT check needs it: a request, and a
 * success response carrying XOR-MAPPED-ADDRESS, the address the server saw. It stands in for the server side of
 * tailscale.com/net/stun (stun.go: ParseBindingRequest and Response), which Headscale v0.29.2's embedded DERP uses.
 */
const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;
const HEADER = 20;

export function bindingRequest(transactionId: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(BINDING_REQUEST, 0);
  header.writeUInt16BE(0, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  return header;
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

/** The success response to a Binding request, or undefined for anything that is not one. */
export function bindingResponse(request: Buffer, address: string, port: number): Buffer | undefined {
  if (request.length < HEADER || request.readUInt16BE(0) !== BINDING_REQUEST || request.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const transactionId = request.subarray(8, HEADER);
  const key = xorKey(transactionId);
  const raw = addressBytes(address);
  const xored = Buffer.from(raw.map((b, i) => b ^ key[i]));
  const value = Buffer.alloc(4 + xored.length);
  value.writeUInt8(raw.length === 4 ? 0x01 : 0x02, 1);
  value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  xored.copy(value, 4);
  const attribute = Buffer.alloc(4);
  attribute.writeUInt16BE(XOR_MAPPED_ADDRESS, 0);
  attribute.writeUInt16BE(value.length, 2);
  const header = Buffer.alloc(HEADER);
  header.writeUInt16BE(BINDING_SUCCESS, 0);
  header.writeUInt16BE(attribute.length + value.length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  return Buffer.concat([header, attribute, value]);
}

/** The address and port a success response says the server saw, checked against the request's transaction id. */
export function mappedAddress(response: Buffer, transactionId: Buffer): { address: string; port: number } {
  if (response.readUInt16BE(0) !== BINDING_SUCCESS) throw new Error(`not a Binding success response: type 0x${response.readUInt16BE(0).toString(16)}`);
  if (!response.subarray(8, HEADER).equals(transactionId)) throw new Error("the response answers another transaction");
  for (let at = HEADER; at + 4 <= response.length; ) {
    const type = response.readUInt16BE(at);
    const length = response.readUInt16BE(at + 2);
    if (type === XOR_MAPPED_ADDRESS) {
      const value = response.subarray(at + 4, at + 4 + length);
      const key = xorKey(transactionId);
      const bytes = Buffer.from(value.subarray(4).map((b, i) => b ^ key[i]));
      return { address: formatAddress(bytes), port: value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16) };
    }
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  throw new Error("the response has no XOR-MAPPED-ADDRESS");
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
