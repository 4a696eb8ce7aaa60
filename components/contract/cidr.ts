import { isIPv4, isIPv6 } from "node:net";

/** An IP network parsed into a number, so overlap and containment are plain arithmetic. */
export interface Cidr {
  family: 4 | 6;
  /** Network address as an integer, host bits zero. */
  network: bigint;
  prefix: number;
  /** The text as written, for error messages. */
  text: string;
}

const BITS = { 4: 32, 6: 128 } as const;

function ipv4ToBigInt(address: string): bigint {
  return address.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(missing).fill("0"), ...tailGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** Parses an address (no prefix); undefined when it is neither IPv4 nor IPv6. */
export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: ipv4ToBigInt(text) };
  // Embedded IPv4 and zone ids have no place in this config; refusing them keeps the arithmetic simple.
  if (isIPv6(text) && !text.includes(".") && !text.includes("%")) return { family: 6, value: ipv6ToBigInt(text) };
  return undefined;
}

/** Parses "a.b.c.d/n" or "x::/n". Host bits must be zero, so the text says exactly which network it means. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const address = parseAddress(match[1]);
  if (!address) return undefined;
  const prefix = Number(match[2]);
  const bits = BITS[address.family];
  if (prefix > bits) return undefined;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((address.value & hostMask) !== 0n) return undefined;
  return { family: address.family, network: address.value, prefix, text };
}

function lastAddress(cidr: Cidr): bigint {
  return cidr.network + (1n << BigInt(BITS[cidr.family] - cidr.prefix)) - 1n;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** Whether a network holds an address given as text. */
export function containsAddress(cidr: Cidr, address: string): boolean {
  const parsed = parseAddress(address);
  return parsed !== undefined && parsed.family === cidr.family && cidr.network <= parsed.value && parsed.value <= lastAddress(cidr);
}

/** Whether a network shares any address with the inclusive range first..last of the same family. */
export function addressRangeOverlaps(cidr: Cidr, first: bigint, last: bigint): boolean {
  return cidr.network <= last && first <= lastAddress(cidr);
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.network <= inner.network && lastAddress(inner) <= lastAddress(outer);
}

function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

export function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  return formatIpv6(value);
}

/** The n-th address of a network: host(10.10.10.0/24, 2) is 10.10.10.2. */
export function hostAddress(cidr: Cidr, n: number): string {
  const address = cidr.network + BigInt(n);
  if (address > lastAddress(cidr)) throw new Error(`${cidr.text} has no host number ${n}`);
  return formatAddress(cidr.family, address);
}

/** Hetzner reports a server's IPv6 as its /64 network ("2001:db8:1:2::"); the server itself answers on ::1 of it. */
export function firstHostOfNetwork(networkAddress: string): string {
  const parsed = parseAddress(networkAddress.replace(/\/\d+$/, ""));
  if (!parsed || parsed.family !== 6) throw new Error(`not an IPv6 network address: ${networkAddress}`);
  return formatAddress(6, parsed.value + 1n);
}

/** True for 0.0.0.0/0 and ::/0, which open a port to the whole internet. */
export function isWholeInternet(cidr: Cidr): boolean {
  return cidr.prefix === 0;
}

/** The families whose whole address space the networks cover between them, as 0.0.0.0/1 plus 128.0.0.0/1 do. */
export function familiesCovered(cidrs: Cidr[]): (4 | 6)[] {
  return ([4, 6] as const).filter((family) => {
    let next = 0n;
    for (const cidr of cidrs.filter((c) => c.family === family).sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0))) {
      if (cidr.network > next) return false;
      if (lastAddress(cidr) + 1n > next) next = lastAddress(cidr) + 1n;
    }
    return next === 1n << BigInt(BITS[family]);
  });
}
