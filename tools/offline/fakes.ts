import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A real self-signed certificate (its key was thrown away), standing in for what cert-manager would issue. */
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

/**
 * Values the providers would compute, by resource type; `readId` is set when the program reads an existing object.
 * Addresses come from the documentation ranges.
 */
export function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>, readId?: string): Record<string, unknown> {
  switch (type) {
    case "kubernetes:core/v1:Secret": {
      if (!readId) return {};
      // The only Secret the program reads is a certificate cert-manager wrote.
      const pem = Buffer.from(FAKE_CA_PEM).toString("base64");
      return { data: { "tls.crt": pem, "ca.crt": pem } };
    }
    case "random:index/randomBytes:RandomBytes": {
      const bytes = fakeBytes(`random:${name}`, Number(inputs.length ?? 32));
      return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
    }
    case "hcloud:index/primaryIp:PrimaryIp":
      // Hetzner reports an IPv6 primary IP as its /64 network, "…::", not as the server's address.
      return inputs.type === "ipv6"
        ? { ipAddress: `2001:db8:${(fakeNumber(name, 0xfffe) + 1).toString(16)}::` }
        : { ipAddress: `203.0.113.${10 + fakeNumber(name, 240)}` };
    case "hcloud:index/server:Server":
      return { status: "running", ipv4Address: "203.0.113.9", ipv6Network: "2001:db8:ffff::/64" };
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
  "cloudflare:index/apiToken:ApiToken": ["value"],
};
