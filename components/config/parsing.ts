import { RunError } from "@pulumi/pulumi";
import { z } from "zod";
import { serviceSchema } from "./services";

/** The Pulumi project name, and so the namespace of every config key this program reads. */
export const PROJECT = "homelab";

/** Which graph a stack builds. */
export type StackRole = "edge" | "home";

/**
 * Thrown for any invalid config value; the message lists every problem found, each naming its key.
 * A RunError, so `pulumi up` prints the message alone instead of a stack trace.
 */
export class ConfigError extends RunError {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Keys declared `secret: true`; their values never pass through the schema as plain text. */
export const SECRET_KEYS = { edge: ["sshPrivateKey"], home: [] } as const satisfies Record<StackRole, readonly string[]>;

/** One cross-field finding: the key (without the project namespace) and what is wrong with it. */
export type Problem = { key: string; message: string };

function keyName(path: PropertyKey[]): string {
  const [head, ...rest] = path;
  return `${PROJECT}:${String(head)}${rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}`;
}

function valueAt(raw: Record<string, unknown>, path: PropertyKey[]): unknown {
  let value: unknown = raw[String(path[0])];
  if (typeof value === "string" && path.length > 1) {
    try {
      value = JSON.parse(value);
    } catch {
      return value;
    }
  }
  for (const step of path.slice(1)) value = (value as Record<PropertyKey, unknown> | undefined)?.[step];
  return value;
}

/** Shows a value as the operator wrote it: numbers and booleans bare even though the CLI passes them as strings. */
function showValue(value: unknown): string {
  if (typeof value === "string" && /^(-?\d+(\.\d+)?|true|false)$/.test(value.trim())) return value.trim();
  return JSON.stringify(value);
}

function describeIssue(raw: Record<string, unknown>, issue: z.core.$ZodIssue): string {
  const key = keyName(issue.path);
  const value = valueAt(raw, issue.path);
  if (issue.code === "unrecognized_keys") {
    const unknown = `${key}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    const isCatalogEntry = issue.path.length === 2 && issue.path[0] === "services";
    return isCatalogEntry ? `${unknown}; allowed fields are ${Object.keys(serviceSchema.shape).join(", ")}` : unknown;
  }
  if (value === undefined) return `${key} is required but not set`;
  return `${key}: ${showValue(value)} ${issue.message}`;
}

/** Parses raw config with a schema, then its cross-field checks; every finding becomes one line of a ConfigError. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, raw: Record<string, unknown>, crossChecks: (value: z.infer<S>) => Problem[]): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => describeIssue(raw, issue)));
  const problems = crossChecks(result.data);
  if (problems.length) throw new ConfigError(problems.map((p) => `${PROJECT}:${p.key}: ${p.message}`));
  return result.data;
}

/** Strips the project namespace, so `homelab:domain` becomes `domain`; keys of other namespaces are not ours to check. */
export function projectKeys(config: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith(`${PROJECT}:`))
      .map(([key, value]) => [key.slice(PROJECT.length + 1), value]),
  );
}
