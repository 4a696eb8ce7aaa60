import * as pulumi from "@pulumi/pulumi";
import { ConfigError, PROJECT } from "./parsing";

/** The config key that holds the catalog apps' Secrets: appSecrets.<Secret name>.<key> = value, set as a secret. */
export const APP_SECRETS_KEY = "appSecrets";

/** One key of one Secret that a catalog app's pod reads, as the app (or its sidecar) declares it. */
export interface AppSecretRead {
  /** The namespace the pod runs in, and so where the Secret must be. */
  namespace: string;
  /** The Secret's name. */
  secret: string;
  /** The key within it. */
  key: string;
  /** The catalog entry's name. */
  app: string;
  /** What in the pod reads it, e.g. "its DB_PASS" or "Gluetun's WIREGUARD_PRIVATE_KEY". */
  reader: string;
  /** The catalog field that names the Secret, e.g. "services[8].vpn.credentialsSecret". */
  at: string;
}

/** One Secret the program makes in an app namespace from the operator's secret config. */
export interface AppSecretValues {
  namespace: string;
  name: string;
  /** The catalog apps whose pods read it. */
  apps: string[];
  /** Key to value, a Pulumi secret from the moment it is read. */
  data: pulumi.Output<Record<string, string>>;
}

export interface ResolvedAppSecrets {
  secrets: AppSecretValues[];
  /** Keys the config does not set, given a stand-in (offline plan and tests only), e.g. `homelab:appSecrets.vpn.key`. */
  standIns: string[];
}

/**
 * The path of one Secret key under appSecrets, as `pulumi config set --path` takes it: a key with a dot in it
 * ("config.json") goes in brackets, since a dot would start a new segment.
 */
export const appSecretPath = (secret: string, key?: string) =>
  [APP_SECRETS_KEY, secret, ...(key === undefined ? [] : [key])].map((segment, i) => (i === 0 ? segment : /^[\w-]+$/.test(segment) ? `.${segment}` : `["${segment}"]`)).join("");
const configKey = (secret: string, key?: string) => `${PROJECT}:${appSecretPath(secret, key)}`;
const setCommand = (secret: string, key: string) => `pulumi config set --stack home --secret --path '${appSecretPath(secret, key)}' <value>`;
const list = (names: Iterable<string>) => [...names].join(", ") || "none";

/** Secret → key → value; a key whose value was refused maps to undefined, so it is not reported missing as well. */
type Values = Map<string, Map<string, string | undefined>>;

/** Reads the raw JSON of appSecrets into Secret → key → value. No message ever quotes a value: they are secrets. */
function parseValues(raw: string | undefined, problems: string[]): Values {
  const values: Values = new Map();
  if (raw === undefined) return values;
  const shape = `must map each Secret's name to its keys and values, as \`${setCommand("<secret>", "<key>")}\` writes it`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    problems.push(`${PROJECT}:${APP_SECRETS_KEY}: ${shape}`);
    return values;
  }
  for (const [secret, keys] of Object.entries(parsed)) {
    if (!keys || typeof keys !== "object" || Array.isArray(keys)) {
      problems.push(`${configKey(secret)}: ${shape}`);
      continue;
    }
    const entries = new Map<string, string | undefined>();
    for (const [key, value] of Object.entries(keys)) {
      entries.set(key, undefined);
      // A number or boolean is how ESC or `--path` may hand over a PIN or a flag; Kubernetes stores text either way.
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") problems.push(`${configKey(secret, key)}: must be a string (the value is not shown: it is secret)`);
      else if (String(value).length === 0) problems.push(`${configKey(secret, key)}: is empty; an app reading it would start without its credential`);
      else entries.set(key, String(value));
    }
    values.set(secret, entries);
  }
  return values;
}

/** Refuses a Secret name read from two namespaces: one appSecrets entry would have to fill two Secrets. Once per catalog field. */
function sharedAcrossNamespaces(reads: AppSecretRead[]): string[] {
  const home = new Map<string, AppSecretRead>();
  const problems: string[] = [];
  for (const read of reads) {
    const first = home.get(read.secret);
    if (!first) home.set(read.secret, read);
    else if (first.namespace !== read.namespace && !problems.some((p) => p.startsWith(`${PROJECT}:${read.at}:`))) {
      problems.push(
        `${PROJECT}:${read.at}: Secret "${read.secret}" is read in namespace ${read.namespace} by "${read.app}" and in ${first.namespace} by "${first.app}" (${first.at}); ` +
          `${appSecretPath(read.secret)} fills one Secret in one namespace: give them different names, or put both apps in one group`,
      );
    }
  }
  return problems;
}

/**
 * Matches the operator's appSecrets against the keys the catalog's apps read: every key read must be set, and every
 * key set must be read (a typo, or an app since removed, would otherwise go unnoticed). With `standIns` (the offline
 * plan and tests, never a real engine) a key not set gets a stand-in value and is listed instead of refused.
 * Throws one ConfigError naming every problem; returns one Secret per name, its values secret.
 */
export function resolveAppSecrets(raw: string | undefined, reads: AppSecretRead[], options: { standIns: boolean }): ResolvedAppSecrets {
  const problems = sharedAcrossNamespaces(reads);
  const values = parseValues(raw, problems);
  const byName = new Map<string, AppSecretRead[]>();
  for (const read of reads) byName.set(read.secret, [...(byName.get(read.secret) ?? []), read]);

  const standIns: string[] = [];
  const secrets: AppSecretValues[] = [];
  for (const [name, readers] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const set = values.get(name) ?? new Map<string, string | undefined>();
    const data: Record<string, string> = {};
    for (const key of new Set(readers.map((r) => r.key))) {
      const value = set.get(key);
      if (value !== undefined) data[key] = value;
      else if (set.has(key)) continue;
      else if (options.standIns) {
        standIns.push(configKey(name, key));
        data[key] = `stand-in for ${appSecretPath(name, key)}, planned offline`;
      } else {
        const who = readers.filter((r) => r.key === key).map((r) => `"${r.app}" (${r.reader}, from ${r.at})`);
        problems.push(`${configKey(name, key)} is required but not set: read by ${who.join(" and ")}; set it with \`${setCommand(name, key)}\``);
      }
    }
    const unread = [...set.keys()].filter((key) => !readers.some((r) => r.key === key));
    for (const key of unread) {
      problems.push(`${configKey(name, key)}: no app reads key "${key}" of Secret "${name}"; it is read for ${list(new Set(readers.map((r) => r.key)))} only. Remove it: \`pulumi config rm --stack home --path '${appSecretPath(name, key)}'\``);
    }
    secrets.push({ namespace: readers[0].namespace, name, apps: [...new Set(readers.map((r) => r.app))], data: pulumi.secret(data) });
  }
  for (const name of [...values.keys()].filter((n) => !byName.has(n))) {
    problems.push(`${configKey(name)}: no app in the catalog reads a Secret "${name}" (they read ${list(byName.keys())}); a typo, or an app since removed: \`pulumi config rm --stack home --path '${appSecretPath(name)}'\``);
  }
  if (problems.length) throw new ConfigError(problems);
  return { secrets, standIns };
}
