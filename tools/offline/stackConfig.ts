import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/** What the CLI would hand the program: namespaced string values, and which of them are secret. */
export interface StackConfig {
  project: string;
  config: Record<string, string>;
  secretKeys: string[];
}

/** Stands in for values the CLI would decrypt; nothing here can decrypt `secure:` ciphertext. */
export const SECRET_PLACEHOLDER = "[secret]";

const asConfigString = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/**
 * Merges Pulumi.yaml's project-level `config:` with Pulumi.<stack>.yaml the way the CLI does: stack values win,
 * project keys without a namespace belong to the project, `value:`/`default:` give the project value, and
 * `secret: true` keys and `secure:` values are secret.
 */
export function loadStackConfig(stack: string, dir = process.cwd()): StackConfig {
  const projectFile = parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) ?? {};
  const project = String(projectFile.name);
  const qualify = (key: string) => (key.includes(":") ? key : `${project}:${key}`);
  const config: Record<string, string> = {};
  const secretKeys = new Set<string>();

  for (const [rawKey, declaration] of Object.entries<unknown>(projectFile.config ?? {})) {
    const key = qualify(rawKey);
    if (declaration && typeof declaration === "object" && !Array.isArray(declaration)) {
      const d = declaration as Record<string, unknown>;
      if (d.secret === true) {
        secretKeys.add(key);
        config[key] = SECRET_PLACEHOLDER;
      } else if ("value" in d) config[key] = asConfigString(d.value);
      else if ("default" in d) config[key] = asConfigString(d.default);
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
    if (value && typeof value === "object" && "secure" in (value as object)) {
      secretKeys.add(key);
      config[key] = SECRET_PLACEHOLDER;
    } else {
      config[key] = asConfigString(value);
    }
  }
  return { project, config, secretKeys: [...secretKeys].sort() };
}
