import { ALERT_SECRETS_KEY } from "./alerting";
import { APP_SECRETS_KEY } from "./appSecrets";
import { cidrContains, containsAddress, parseCidr } from "../contract/cidr";
import { ConfigError, PROJECT, SECRET_KEYS } from "./parsing";

/** A config value that can only be the example's: it names no real zone, mailbox or network. */
export interface Placeholder {
  /** The key and path, e.g. `homelab:services[0].hostname`. */
  key: string;
  value: string;
  why: string;
}

// Names reserved for examples (RFC 2606, RFC 6761): no one can own them, so no certificate or mail reaches them.
const EXAMPLE_NAME = /(?:^|[^a-z0-9-])(?:example\.(?:com|net|org)|[a-z0-9-]+\.(?:example|test|invalid|localhost))(?!\.?[a-z0-9-])/i;
// Documentation ranges (RFC 5737, RFC 3849): routed nowhere, so an admin network or address from them admits no one.
const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"].map((text) => parseCidr(text)!);
// The zone id of Cloudflare's API documentation, which the example stack file carries.
const CLOUDFLARE_DOCS_ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353";

function why(value: string): string | undefined {
  if (EXAMPLE_NAME.test(value)) return "a name reserved for examples, which no one can own";
  const cidr = parseCidr(value);
  if (cidr && DOCUMENTATION_RANGES.some((range) => cidrContains(range, cidr))) return "a documentation address range, routed nowhere";
  if (!cidr && DOCUMENTATION_RANGES.some((range) => containsAddress(range, value))) return "a documentation address, routed nowhere";
  if (value === CLOUDFLARE_DOCS_ZONE_ID) return "the zone id from Cloudflare's API documentation";
  return undefined;
}

/** Every leaf of a value with its path; JSON-valued keys (the catalog, the tailnet) are walked inside. */
function leaves(value: unknown, path: string): { path: string; value: string }[] {
  if (typeof value === "string") {
    if (/^[[{]/.test(value.trim())) {
      try {
        return leaves(JSON.parse(value), path);
      } catch {
        return [{ path, value }];
      }
    }
    return [{ path, value }];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => leaves(item, `${path}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => leaves(v, `${path}.${k}`));
  return [];
}

// Keys whose values are secrets: a finding quotes its value, which must never be shown, and a password or token is
// any string at all, so matching it against example names would only refuse real ones.
const SECRET_VALUED_KEYS: ReadonlySet<string> = new Set([APP_SECRETS_KEY, ALERT_SECRETS_KEY, ...SECRET_KEYS.edge, ...SECRET_KEYS.home]);

/** The example's values still in a stack's config (keys without the project namespace), each with why it is one. */
export function placeholdersIn(raw: Record<string, string>): Placeholder[] {
  return Object.entries(raw)
    .filter(([key]) => !SECRET_VALUED_KEYS.has(key))
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([key, value]) => leaves(value, `${PROJECT}:${key}`))
    .flatMap((leaf) => {
      const reason = why(leaf.value);
      return reason ? [{ key: leaf.path, value: leaf.value, why: reason }] : [];
    });
}

/**
 * Refuses a real preview or deploy that still carries the example's values: Let's Encrypt refuses an example.com
 * contact, a certificate for an example name never issues, and an admin network from a documentation range locks the
 * operator out. The offline plan lists them as warnings instead (`npm run plan`).
 */
export function refusePlaceholders(raw: Record<string, string>): void {
  const found = placeholdersIn(raw);
  if (found.length) throw new ConfigError(found.map((p) => `${p.key}: "${p.value}" is ${p.why}; set your own before deploying`));
}
