import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";
import { z } from "zod";
import { ConfigError, PROJECT } from "./parsing";
import { boolean, DNS_LABEL, json, text } from "./values";

/** The Alertmanager integrations a receiver can be; each reads its one secret (a URL or a token) from a file. */
export const ALERT_RECEIVER_TYPES = ["webhook", "telegram", "slack", "email"] as const;
export type AlertReceiverType = (typeof ALERT_RECEIVER_TYPES)[number];
/** The severities kube-prometheus-stack's rules and this program's own use. */
export const ALERT_SEVERITIES = ["critical", "warning", "info"] as const;
/** The receiver the rendered config routes what no one is sent to (Watchdog, unwanted severities); no one else's name. */
export const NULL_RECEIVER = "null";
/** The config key holding each receiver's secret, by receiver name. */
export const ALERT_SECRETS_KEY = "alertReceiverSecrets";

/** What each kind keeps secret, for the messages that ask for it. */
const SECRET_OF: Record<AlertReceiverType, string> = { webhook: "URL", telegram: "bot token", slack: "incoming-webhook URL", email: "SMTP password" };

const chatId = z.preprocess(
  (v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
  z.number({ error: "must be a Telegram chat id, a whole number (negative for groups)" }).int("must be a whole number").refine((v) => v !== 0 && Number.isSafeInteger(v), "must be a Telegram chat id, a non-zero whole number"),
);
const address = () => text().regex(/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/, 'must be an email address such as "alerts@example.com"');
const common = {
  name: text().regex(DNS_LABEL, "must be a DNS label: it names the receiver and its key in the Secret"),
  severities: z.array(z.enum(ALERT_SEVERITIES, { error: `must be one of ${ALERT_SEVERITIES.join(", ")}` })).min(1, "must list at least one severity").default(["critical", "warning"]),
  sendResolved: boolean().default(true),
};
const receiverSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ ...common, type: z.literal("webhook") }),
    z.strictObject({ ...common, type: z.literal("telegram"), chatId }),
    z.strictObject({ ...common, type: z.literal("slack"), channel: text().optional() }),
    z.strictObject({
      ...common,
      type: z.literal("email"),
      to: address(),
      from: address(),
      smarthost: text().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be "host:port" of the SMTP server, such as "smtp.example.com:587"'),
      username: text(),
    }),
  ],
  { error: `must have a type, one of ${ALERT_RECEIVER_TYPES.join(", ")}` },
);

/** The home stack's key for Alertmanager's receivers; their secrets come from alertReceiverSecrets, outside the schema. */
export const alertingShape = {
  /** Where alerts go: webhook, Telegram, Slack or email receivers, each with the severities it is sent. */
  alertReceivers: json(z.array(receiverSchema, { error: "must be a list of receivers" })).default([]),
};
type ReceiverConfig = z.infer<typeof receiverSchema>;

/** One receiver as the Alertmanager config renders it; its secret is in the Secret, under its name. */
export type AlertReceiver = ReceiverConfig & {
  /** The TCP port Alertmanager reaches it on, which its egress policy opens. */
  port: number;
};

/** Alertmanager's receivers, and their secrets by receiver name. */
export interface AlertingSettings {
  /** The receivers in the order configured, which is the order of their routes. */
  receivers: AlertReceiver[];
  /** Each receiver's URL or token, by receiver name; undefined when there are no receivers. */
  secrets?: pulumi.Output<Record<string, string>>;
}

const HIDDEN = "(the value is secret, not shown)";
/**
 * What the offline plan reads for a `secure:` value it cannot decrypt (tools/offline/stackConfig.ts SECRET_PLACEHOLDER).
 * It is taken unchecked, a URL's port assumed 443 (email's is in the plain smarthost), only without a real engine: under Pulumi's mock monitor, or with no
 * monitor at all (the plan parses the config before its run, for the pack's config). A real engine checks every value.
 */
export const OFFLINE_SECRET = "[secret]";
const withoutEngine = () => {
  const monitor = getMonitor();
  return monitor === undefined || monitor instanceof MockMonitor;
};
const setCommand = (name: string, what: string) => `pulumi config set --stack home --secret --path '${ALERT_SECRETS_KEY}.${name}' '<${what}>'`;

/** The port of an http(s) URL, or a reason it is not one; the reason never repeats the URL, which is secret. */
function urlPort(value: string, httpsOnly: boolean): number | string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return `must be a URL such as "https://host/path"`;
  }
  if (url.protocol !== "https:" && (httpsOnly || url.protocol !== "http:")) return httpsOnly ? "must be an https:// URL" : "must be an http:// or https:// URL";
  if (!url.hostname) return "must name a host";
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

const smarthostPort = (receiver: Extract<ReceiverConfig, { type: "email" }>) => Number(receiver.smarthost.split(":")[1]);

/** Where a receiver's traffic goes, from its secret; or why the secret cannot be one for its kind. */
function receiverPort(receiver: ReceiverConfig, secret: string): number | string {
  switch (receiver.type) {
    case "webhook":
      return urlPort(secret, false);
    case "slack":
      return urlPort(secret, true);
    case "telegram":
      // The Bot API's token form, as BotFather issues it; Alertmanager reaches api.telegram.org over HTTPS.
      return /^\d+:[A-Za-z0-9_-]{30,}$/.test(secret.trim()) ? 443 : 'must be a bot token as BotFather gives it, "<digits>:<30 or more letters, digits, - or _>"';
    case "email":
      return secret.trim() ? smarthostPort(receiver) : "must not be empty";
  }
}

function secretMap(raw: unknown): Record<string, unknown> | undefined {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The receivers with their secrets: every receiver has one, no secret lacks its receiver, each is the right form for
 * its kind. Messages name the key and what is allowed but never the value, and the values leave here as a secret.
 * `offline` says whether this is the offline plan, whose stand-ins for undecrypted values go unchecked.
 */
export function alertingSettings(receivers: ReceiverConfig[], rawSecrets: unknown, offline = withoutEngine()): AlertingSettings {
  const undecrypted = (value: unknown) => offline && value === OFFLINE_SECRET;
  const key = (name?: string) => `${PROJECT}:${ALERT_SECRETS_KEY}${name ? `.${name}` : ""}`;
  const problems: string[] = [];
  const names = receivers.map((r) => r.name);
  receivers.forEach((r, i) => {
    if (r.name === NULL_RECEIVER) problems.push(`${PROJECT}:alertReceivers[${i}].name: "${r.name}" is the receiver that drops alerts no one is sent; pick another name`);
    else if (names.indexOf(r.name) !== i) problems.push(`${PROJECT}:alertReceivers[${i}].name: "${r.name}" is taken by an earlier receiver; each needs its own name`);
  });
  // A whole value set with --secret (not --path) is one placeholder offline: every receiver's secret is unseen then.
  const secrets = rawSecrets === undefined ? {} : undecrypted(rawSecrets) ? Object.fromEntries(names.map((n) => [n, OFFLINE_SECRET])) : secretMap(rawSecrets);
  if (!secrets) throw new ConfigError([`${key()}: ${HIDDEN} must be an object mapping each receiver's name to its secret; set one with ${setCommand("<receiver>", "secret")}`]);
  const ports = receivers.map((r) => {
    const secret = secrets[r.name];
    if (secret === undefined) {
      problems.push(`${key(r.name)} is required but not set: receiver "${r.name}" (${r.type}) needs its ${SECRET_OF[r.type]}; set it with ${setCommand(r.name, SECRET_OF[r.type])}`);
      return 0;
    }
    const unseen = r.type === "email" ? smarthostPort(r) : 443;
    const port = undecrypted(secret) ? unseen : typeof secret === "string" ? receiverPort(r, secret) : "must be a string";
    if (typeof port === "string") problems.push(`${key(r.name)}: ${HIDDEN} ${port}, as receiver "${r.name}" is ${r.type}`);
    return typeof port === "number" ? port : 0;
  });
  for (const name of Object.keys(secrets).filter((n) => !names.includes(n))) {
    problems.push(`${key(name)}: no receiver has this name; homelab:alertReceivers names ${names.join(", ") || "none"}`);
  }
  if (problems.length) throw new ConfigError(problems);
  if (!receivers.length) return { receivers: [] };
  return {
    receivers: receivers.map((r, i) => ({ ...r, port: ports[i] })),
    secrets: pulumi.secret(Object.fromEntries(receivers.map((r) => [r.name, (secrets[r.name] as string).trim()]))),
  };
}
