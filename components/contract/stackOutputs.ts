import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/** Each output of a stack contract as a pulumi Output of its validated type. */
export type TypedOutputs<T> = { [K in keyof T]-?: pulumi.Output<T[K]> };

/** Raised when a referenced stack's output is missing or has the wrong shape. */
export class StackContractError extends pulumi.RunError {}

/**
 * Reads every output a contract declares from a StackReference and checks its type. Each key keeps its own secret
 * flag (getOutput does not taint plain outputs with the secret ones), and a missing or mistyped output fails with
 * the stack name, the key and what was expected.
 */
export function readStackOutputs<S extends z.ZodRawShape>(
  ref: pulumi.StackReference,
  shape: S,
): TypedOutputs<z.infer<z.ZodObject<S>>> {
  const entries = Object.entries(shape).map(([key, schema]) => {
    const value = pulumi.all([ref.name, ref.getOutput(key)]).apply(([stackName, raw]) => {
      const parsed = (schema as z.ZodTypeAny).safeParse(raw);
      if (parsed.success) return parsed.data;
      if (raw === undefined && !(schema as z.ZodTypeAny).safeParse(undefined).success) {
        throw new StackContractError(`stack "${stackName}" has no output "${key}"; run \`pulumi up\` on it with this version of the program first`);
      }
      const detail = parsed.error.issues.map((i) => `${[key, ...i.path].join(".")}: ${i.message}`).join("; ");
      throw new StackContractError(`stack "${stackName}" output "${key}" has the wrong shape: ${detail}`);
    });
    return [key, value] as const;
  });
  return Object.fromEntries(entries) as TypedOutputs<z.infer<z.ZodObject<S>>>;
}
