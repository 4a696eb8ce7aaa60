import { z } from "zod";
import { Cidr, parseAddress, parseCidr } from "../contract/cidr";

// The value types every config key is built from: they accept the string forms the Pulumi CLI passes.

const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Config arrives from Pulumi as strings; these accept the string forms the CLI writes. */
export const integer = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z.number({ error: "must be a whole number" }).int("must be a whole number").min(min, `must be between ${min} and ${max}`).max(max, `must be between ${min} and ${max}`),
  );
export const boolean = () =>
  z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean({ error: "must be true or false" }));
export const json = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => {
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }, schema);
export const text = () => z.string({ error: "must be a string" }).trim().min(1, "must not be empty");

export const ipAddress = () => text().refine((v) => parseAddress(v) !== undefined, "must be an IP address");

export const domain = () => text().regex(DOMAIN_PATTERN, 'must be a lower-case DNS name such as "example.com"');

export function cidr(family: 4 | 6, extra?: (c: Cidr) => string | undefined) {
  const familyName = family === 4 ? "an IPv4" : "an IPv6";
  return text().superRefine((value, ctx) => {
    const parsed = parseCidr(value);
    if (!parsed || parsed.family !== family) {
      ctx.addIssue({ code: "custom", message: `must be ${familyName} CIDR with host bits zero, such as ${family === 4 ? '"10.10.10.0/24"' : '"fd10:10:10::/64"'}` });
      return;
    }
    const problem = extra?.(parsed);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

export const anyCidr = () =>
  text().superRefine((value, ctx) => {
    if (!parseCidr(value)) ctx.addIssue({ code: "custom", message: 'must be a CIDR with host bits zero, such as "198.51.100.7/32" or "2001:db8::/48"' });
  });

/** A container image pinned by tag (not "latest") or digest. */
export const image = () =>
  text().superRefine((value, ctx) => {
    const digest = /@sha256:[0-9a-f]{64}$/.test(value);
    const tag = /:([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(value.replace(/@sha256:[0-9a-f]{64}$/, ""))?.[1];
    if (!digest && (!tag || tag === "latest")) ctx.addIssue({ code: "custom", message: 'must be pinned: "repository:tag" (not latest) or "repository@sha256:<digest>"' });
  });

export const hostOrAddress = () => text().regex(/^[A-Za-z0-9.:-]+$/, "must be a host name or an IP address");
export const chartVersion = () => text().regex(/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'must be an exact chart version such as "1.18.2"');

/** Whether a hostname is the domain or sits below it. */
export function isWithin(hostname: string, domain: string): boolean {
  return hostname === domain || hostname.endsWith(`.${domain}`);
}
