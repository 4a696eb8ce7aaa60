import * as pulumi from "@pulumi/pulumi";
import { StackBuild } from "../../components/stackBuild";
import { fakeId, fakeInvoke, fakeOutputs, SECRET_FAKE_OUTPUTS } from "./fakes";

/** The wire form of a secret inside a serialized property map. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedOptions {
  dependsOn: string[];
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
  protect: boolean;
  /** URN of the provider that manages the resource (a remote component's, for its package), when not the default. */
  provider?: string;
}

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  /** Set when the program read an existing object (`X.get`, a StackReference) instead of declaring one. */
  read?: true;
  /** A component's registered outputs, secret markers removed, as stack policies see them on the real engine. */
  outputs?: Record<string, unknown>;
  /** URN of the parent; absent only for the stack itself. */
  parent?: string;
  /** Inputs with secret markers removed. */
  inputs: Record<string, unknown>;
  /** Top-level input keys that are secret (a secret anywhere inside marks the whole key). */
  secretInputs: string[];
  options: RecordedOptions;
}

export interface StackReferenceState {
  outputs: Record<string, unknown>;
  secretOutputNames: string[];
}

export interface OfflineOptions {
  stack: string;
  project?: string;
  /** Namespaced config ("homelab:domain") as the CLI would pass it: every value a string. */
  config: Record<string, string>;
  /** Namespaced keys whose values are secret. */
  secretKeys?: string[];
  /** StackReference state by referenced stack name. */
  stackReferences?: Record<string, StackReferenceState>;
  program: () => StackBuild;
}

export interface ResolvedOutput {
  value: unknown;
  secret: boolean;
}

export interface OfflineRun {
  resources: RecordedResource[];
  invokes: { token: string; inputs: Record<string, unknown> }[];
  outputs: Record<string, ResolvedOutput>;
  artifacts: Record<string, string>;
  /** Every place a secret value shows up without being marked secret. */
  leaks: string[];
}

function unwrapSecrets(value: unknown): { value: unknown; secret: boolean } {
  if (Array.isArray(value)) {
    const items = value.map(unwrapSecrets);
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG] === SECRET_SIG_VALUE) return { value: unwrapSecrets(record.value).value, secret: true };
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      const inner = unwrapSecrets(v);
      out[k] = inner.value;
      secret ||= inner.secret;
    }
    return { value: out, secret };
  }
  return { value, secret: false };
}

/** Output internals the public API does not expose: its value and whether it is secret. */
async function resolve(input: pulumi.Input<unknown>): Promise<ResolvedOutput> {
  const output = pulumi.output(input) as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
  return { value: await output.promise(), secret: await output.isSecret };
}

/**
 * A secret config value, and each string inside it when it is an object or list (`config set --secret --path` keeps
 * one key per object): a program that copies one leaf into a plain input leaks it as surely as the whole value.
 */
function secretConfigStrings(value: string, into: Set<string>) {
  into.add(value);
  if (!/^\s*[[{]/.test(value)) return;
  try {
    collectStrings(JSON.parse(value), into);
  } catch {
    // Not JSON after all: the whole string is the secret.
  }
}

function collectStrings(value: unknown, into: Set<string>) {
  if (typeof value === "string") into.add(value);
  else if (Array.isArray(value)) value.forEach((v) => collectStrings(v, into));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => collectStrings(v, into));
}

function containsAny(value: unknown, secrets: Set<string>): string | undefined {
  const strings = new Set<string>();
  collectStrings(value, strings);
  for (const text of strings) for (const secret of secrets) if (secret.length >= 8 && text.includes(secret)) return secret;
  return undefined;
}

/** Reads one monitor request into a record; getters a request kind lacks count as unset. */
function recordOf(req: any, urn: string, properties: any, read: boolean): RecordedResource {
  const inputs: Record<string, unknown> = {};
  const secretInputs: string[] = [];
  for (const [key, raw] of Object.entries((properties?.toJavaScript() ?? {}) as Record<string, unknown>)) {
    const { value, secret } = unwrapSecrets(raw);
    inputs[key] = value;
    if (secret) secretInputs.push(key);
  }
  const get = (getter: string) => (typeof req[getter] === "function" ? req[getter]() : undefined);
  // A reference is "<urn>::<id>"; a remote component (a v4 Chart) names its providers by package instead.
  const providerRef: string | undefined = get("getProvider") || get("getProvidersMap")?.get(req.getType().split(":")[0]);
  const provider = providerRef ? providerRef.slice(0, providerRef.lastIndexOf("::")) : undefined;
  return {
    urn,
    type: req.getType(),
    name: req.getName(),
    custom: get("getCustom") ?? true,
    ...(read ? { read: true as const } : {}),
    parent: req.getParent() || undefined,
    inputs,
    secretInputs,
    options: {
      dependsOn: [...(get("getDependenciesList") ?? [])].sort(),
      retainOnDelete: Boolean(get("getRetainondelete")),
      deleteBeforeReplace: Boolean(get("getDeletebeforereplace")),
      ignoreChanges: get("getIgnorechangesList") ?? [],
      additionalSecretOutputs: get("getAdditionalsecretoutputsList") ?? [],
      protect: Boolean(get("getProtect")),
      ...(provider ? { provider } : {}),
    },
  };
}

let runQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs a program under Pulumi's mock runtime and records what it registers. Runs are serialized: the runtime's
 * state is global to the process.
 */
export function runOffline(options: OfflineOptions): Promise<OfflineRun> {
  const run = runQueue.then(() => runOnce(options));
  runQueue = run.catch(() => undefined);
  return run;
}

async function runOnce(options: OfflineOptions): Promise<OfflineRun> {
  const resources: RecordedResource[] = [];
  const invokes: OfflineRun["invokes"] = [];
  const rootSecrets = new Set<string>();
  const unanswered: string[] = [];
  for (const key of options.secretKeys ?? []) if (options.config[key] !== undefined) secretConfigStrings(options.config[key], rootSecrets);

  pulumi.runtime.setAllConfig(options.config, options.secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type === "pulumi:pulumi:StackReference") {
          const name = String(args.inputs.name ?? args.name);
          const state = options.stackReferences?.[name];
          if (!state) throw new Error(`the offline engine has no outputs for stack reference "${name}"`);
          return { id: name, state: { name, outputs: state.outputs, secretOutputNames: state.secretOutputNames } };
        }
        const outputs = fakeOutputs(args.type, args.name, args.inputs);
        for (const key of SECRET_FAKE_OUTPUTS[args.type] ?? []) if (typeof outputs[key] === "string") rootSecrets.add(outputs[key] as string);
        return { id: fakeId(args.type, args.name), state: { ...args.inputs, ...outputs } };
      },
      call(args) {
        invokes.push({ token: args.token, inputs: args.inputs });
        try {
          return fakeInvoke(args.token, args.inputs);
        } catch (err) {
          // The runtime reduces errors thrown here to a bare "Error"; keep the message for the report below.
          unanswered.push((err as Error).message);
          throw err;
        }
      },
    },
    options.project ?? "homelab",
    options.stack,
    false,
  );

  // The mock API hides parents, options and secret markers; the monitor's request still has them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings");
  const monitor = settings.getMonitor();
  // Registrations and reads (a StackReference is read by id) both become records.
  const recordCalls = (method: "registerResource" | "readResource", properties: (req: any) => any) => {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req: any, callback: (err: unknown, response: unknown) => void) =>
      original(req, (err: unknown, response: any) => {
        if (!err && response) resources.push(recordOf(req, response.getUrn(), properties(req), method === "readResource"));
        callback(err, response);
      });
  };
  recordCalls("registerResource", (req) => req.getObject());
  recordCalls("readResource", (req) => req.getProperties());
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req: any, callback: (err: unknown, response: unknown) => void) => {
    const record = resources.find((r) => r.urn === req.getUrn());
    if (record && !record.custom) {
      const raw = (req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
      record.outputs = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, unwrapSecrets(value).value]));
    }
    registerOutputs(req, callback);
  };

  const outputs: Record<string, ResolvedOutput> = {};
  const artifacts: Record<string, string> = {};
  // An error inside an input's apply surfaces only as an unhandled rejection; the CLI fails the update on it, so must we.
  const programErrors: unknown[] = [];
  const onRejection = (reason: unknown) => programErrors.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    let build: StackBuild | undefined;
    await pulumi.runtime.runInPulumiStack(async () => {
      build = options.program();
      return build.outputs;
    });
    for (const [key, value] of Object.entries(build!.outputs)) outputs[key] = await resolve(value);
    for (const [key, value] of Object.entries(build!.artifacts)) artifacts[key] = String((await resolve(value)).value);
    // Resources whose inputs were still resolving are registered after the program returns; wait for all of them.
    await settings.waitForRPCs();
    await new Promise((resolve) => setImmediate(resolve));
  } catch (err) {
    // A failed invoke surfaces from the runtime as a bare "Error"; the recorded message says what was missing.
    throw unanswered.length ? new Error(unanswered.join("\n")) : err;
  } finally {
    process.off("unhandledRejection", onRejection);
  }
  if (unanswered.length) throw new Error(unanswered.join("\n"));
  if (programErrors.length) throw programErrors[0];

  const leaks: string[] = [];
  for (const r of resources) {
    for (const [key, value] of Object.entries(r.inputs)) {
      if (!r.secretInputs.includes(key) && containsAny(value, rootSecrets)) leaks.push(`${r.type} "${r.name}" input "${key}" carries a secret value in plain text`);
    }
  }
  for (const [key, output] of Object.entries(outputs)) {
    if (!output.secret && containsAny(output.value, rootSecrets)) leaks.push(`stack output "${key}" carries a secret value but is not secret`);
  }
  resources.sort((a, b) => a.urn.localeCompare(b.urn));
  return { resources, invokes, outputs, artifacts, leaks };
}
