import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A real self-signed CA certificate (its key was thrown away), standing in for the one @pulumi/tls would make. */
const FAKE_CA_PEM = readFileSync(join(__dirname, "fake-ca.pem"), "utf8");

/** Deterministic bytes from a resource name, so two plans of the same tree are byte-identical. */
export function fakeBytes(seed: string, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0; Buffer.concat(out).length < length; counter++) out.push(createHash("sha256").update(`${seed}#${counter}`).digest());
  return Buffer.concat(out).subarray(0, length);
}

const fakeNumber = (seed: string, modulo: number) => fakeBytes(seed, 4).readUInt32BE(0) % modulo;

/** Resource ids: Hetzner's are numbers (and its inputs take them as such), the rest are opaque strings. */
export function fakeId(type: string, name: string): string {
  return type.startsWith("hcloud:") ? String(1_000_000 + fakeNumber(`id:${type}:${name}`, 9_000_000)) : `${name}-id`;
}

/** Names the /24 the plan's fake public IPv4 addresses come from; unset, the documentation range 203.0.113.0/24. */
export const FAKE_PUBLIC_IPV4_ENV = "HOMELAB_PLAN_PUBLIC_IPV4";

/**
 * The first three octets of the fake public IPv4 /24. A test that boots the plan's files where 203.0.113.0/24 is taken
 * (the VM suite) picks another range here instead of editing what the plan rendered.
 */
export function fakePublicIpv4Prefix(value = process.env[FAKE_PUBLIC_IPV4_ENV]): string {
  if (value === undefined || value === "") return "203.0.113";
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(value);
  if (!match || match.slice(1).some((octet) => Number(octet) > 255)) {
    throw new Error(`${FAKE_PUBLIC_IPV4_ENV}: "${value}" is not an IPv4 /24 network; give one like 192.0.2.0/24`);
  }
  return match.slice(1).map(Number).join(".");
}

/**
 * Values the providers would compute, by resource type.
 * Addresses come from the documentation ranges.
 */
export function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey": {
      // Never parsed offline: it only travels, masked, into the Secret the CA issuer reads.
      const body = fakeBytes(`tls:${name}`, 48).toString("base64");
      return { privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`, publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n` };
    }
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { certPem: FAKE_CA_PEM };
    case "random:index/randomBytes:RandomBytes": {
      const bytes = fakeBytes(`random:${name}`, Number(inputs.length ?? 32));
      return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    case "hcloud:index/primaryIp:PrimaryIp":
      // Hetzner reports an IPv6 primary IP as its /64 network, "…::", not as the server's address.
      return inputs.type === "ipv6"
        ? { ipAddress: `2001:db8:${(fakeNumber(name, 0xfffe) + 1).toString(16)}::` }
        : { ipAddress: `${fakePublicIpv4Prefix()}.${10 + fakeNumber(name, 240)}` };
    case "hcloud:index/server:Server":
      return { status: "running", ipv4Address: `${fakePublicIpv4Prefix()}.9`, ipv6Network: "2001:db8:ffff::/64" };
    case "hcloud:index/sshKey:SshKey":
      return { fingerprint: fakeBytes(`ssh:${name}`, 16).toString("hex").replace(/(..)(?!$)/g, "$1:") };
    case "cloudflare:index/apiToken:ApiToken":
      return { value: `fake-cloudflare-token-${fakeBytes(`token:${name}`, 12).toString("hex")}`, status: "active" };
    case "command:remote:Command":
      return { stdout: "", stderr: "" };
    default:
      return {};
  }
}

/**
 * A custom resource's inputs as its provider keeps them in state, which is what stack policies read on the real
 * engine. The hcloud provider stores a server's user-data only as a hash (terraform-provider-hcloud
 * internal/server/resource.go userDataHashSum: base64 of its SHA-1).
 */
export function providerState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (type === "hcloud:index/server:Server" && typeof inputs.userData === "string") {
    return { ...inputs, userData: createHash("sha1").update(inputs.userData).digest("base64") };
  }
  return inputs;
}

/** Provider function results, by token. */
export function fakeInvoke(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "cloudflare:index/getApiTokenPermissionGroupsList:getApiTokenPermissionGroupsList": {
      const name = String(inputs.name ?? "");
      return { ...inputs, results: [{ id: fakeBytes(`permission:${name}`, 16).toString("hex"), name, scopes: [String(inputs.scope ?? "")], category: "dns_and_zones", isSelectable: true }] };
    }
    default:
      throw new Error(`the offline engine has no answer for invoke ${token}; add one to tools/offline/fakes.ts`);
  }
}

/** Outputs that are secret by nature; the leak check looks for them wherever nothing marked them secret. */
export const SECRET_FAKE_OUTPUTS: Record<string, string[]> = {
  "random:index/randomBytes:RandomBytes": ["base64", "hex"],
  "tls:index/privateKey:PrivateKey": ["privateKeyPem"],
  "cloudflare:index/apiToken:ApiToken": ["value"],
};
