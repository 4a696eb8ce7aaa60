import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { SECRET_KEYS, StackRole } from "../../components/config/schema";

/** What the CLI would hand the program: namespaced string values, and which of them are secret. */
export interface StackConfig {
  project: string;
  config: Record<string, string>;
  secretKeys: string[];
  /** Secret keys the stack does not set, planned with a stand-in (see `standInSecrets`). */
  standIns: string[];
}

/** Stands in for values the CLI would decrypt; nothing here can decrypt `secure:` ciphertext. */
export const SECRET_PLACEHOLDER = "[secret]";

const asConfigString = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

const isSecure = (value: unknown): value is { secure: unknown } => Boolean(value && typeof value === "object" && !Array.isArray(value) && "secure" in value);

/**
 * An object or list value with `secure:` leaves (what `pulumi config set --secret --path` writes), each leaf replaced
 * by the placeholder; the CLI marks the whole key secret then (pkg/resource/config, Map.SecureKeys).
 */
function withSecureLeaves(value: unknown): { value: unknown; secure: boolean } {
  if (isSecure(value)) return { value: SECRET_PLACEHOLDER, secure: true };
  if (!value || typeof value !== "object") return { value, secure: false };
  const entries = Object.entries(value).map(([k, v]) => [k, withSecureLeaves(v)] as const);
  const rebuilt = Object.fromEntries(entries.map(([k, v]) => [k, v.value]));
  return { value: Array.isArray(value) ? Object.values(rebuilt) : rebuilt, secure: entries.some(([, v]) => v.secure) };
}

/**
 * Merges Pulumi.yaml's project-level `config:` with Pulumi.<stack>.yaml the way the CLI does: stack values win,
 * project keys without a namespace belong to the project, `value:`/`default:` give the project value, and
 * `secret: true` keys and `secure:` values are secret. As the CLI does (pulumi/pulumi `pkg/workspace/config.go`,
 * `mergeConfig` and `validateStackConfigValue`), a declared key with neither value nor default is required on every
 * stack, and a `secret: true` key set in plain text is refused.
 *
 * `standInSecrets` names secret keys the operator sets with `pulumi config set --secret`, which no committed file
 * can hold: where the stack does not set one, the offline plan uses a placeholder and lists the key in `standIns`.
 */
export function loadStackConfig(stack: string, dir = process.cwd(), standInSecrets: readonly string[] = []): StackConfig {
  const projectFile = parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) ?? {};
  const project = String(projectFile.name);
  const qualify = (key: string) => (key.includes(":") ? key : `${project}:${key}`);
  const config: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const required = new Set<string>();

  for (const [rawKey, declaration] of Object.entries<unknown>(projectFile.config ?? {})) {
    const key = qualify(rawKey);
    if (declaration && typeof declaration === "object" && !Array.isArray(declaration)) {
      const d = declaration as Record<string, unknown>;
      if (d.secret === true) secretKeys.add(key);
      // A project file holds no secure values, so the CLI refuses any value or default of a secret key.
      if (d.secret === true && ("value" in d || "default" in d)) {
        throw new Error(`Stack '${stack}': configuration value '${rawKey}' must be encrypted as it's secret (a project default is never encrypted)`);
      }
      if ("value" in d) config[key] = asConfigString(d.value);
      else if ("default" in d) config[key] = asConfigString(d.default);
      else required.add(key);
    } else if (declaration !== undefined && declaration !== null) {
      config[key] = asConfigString(declaration);
    }
  }

  let stackFile: { config?: Record<string, unknown> } = {};
  try {
    stackFile = parse(readFileSync(join(dir, `Pulumi.${stack}.yaml`), "utf8")) ?? {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  for (const [rawKey, value] of Object.entries(stackFile.config ?? {})) {
    const key = qualify(rawKey);
    const leaves = withSecureLeaves(value);
    if (leaves.secure) {
      secretKeys.add(key);
      config[key] = asConfigString(leaves.value);
    } else if (secretKeys.has(key)) {
      throw new Error(`Stack '${stack}': configuration value '${rawKey}' must be encrypted as it's secret (pulumi config set --secret)`);
    } else {
      config[key] = asConfigString(value);
    }
  }
  const standIns = standInSecrets.map(qualify).filter((key) => !(key in config));
  for (const key of standIns) {
    secretKeys.add(key);
    config[key] = SECRET_PLACEHOLDER;
  }
  const missing = [...required].filter((key) => !(key in config));
  if (missing.length) throw new Error(`Stack '${stack}' is missing configuration value${missing.length > 1 ? "s" : ""} ${missing.map((k) => `'${k.replace(`${project}:`, "")}'`).join(", ")}`);
  return { project, config, secretKeys: [...secretKeys].sort(), standIns };
}

/** A stack's config as the offline plan uses it: the operator-set secrets it lacks planned with stand-ins. */
export const loadPlanConfig = (stack: StackRole, dir = process.cwd()): StackConfig => loadStackConfig(stack, dir, SECRET_KEYS[stack]);
