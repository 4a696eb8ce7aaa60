import { AlertReceiver, NULL_RECEIVER } from "../config/alerting";
import { internet, PolicySpec, tcp } from "../apps/networkPolicies";

/** The Secret the program writes each receiver's URL or token into, one key per receiver, named after it. */
export const ALERTMANAGER_SECRET = "alertmanager-receivers";
/** Where the operator mounts an alertmanagerSpec.secrets entry in the Alertmanager pod (one directory per Secret). */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";
/** The Alertmanager pods' name label, as the operator sets it and the chart's Service selects it. */
export const ALERTMANAGER_POD_LABEL = { "app.kubernetes.io/name": "alertmanager" };

const secretFile = (receiver: AlertReceiver) => `${ALERTMANAGER_SECRETS_DIR}/${ALERTMANAGER_SECRET}/${receiver.name}`;

/** One receiver's integration: its secret is only ever a file path here, so no URL or token enters the chart's values. */
function integration(receiver: AlertReceiver): Record<string, unknown> {
  const send_resolved = receiver.sendResolved;
  switch (receiver.type) {
    case "webhook":
      return { webhook_configs: [{ send_resolved, url_file: secretFile(receiver) }] };
    case "telegram":
      return { telegram_configs: [{ send_resolved, bot_token_file: secretFile(receiver), chat_id: receiver.chatId }] };
    case "slack":
      return { slack_configs: [{ send_resolved, api_url_file: secretFile(receiver), ...(receiver.channel ? { channel: receiver.channel } : {}) }] };
    case "email":
      return { email_configs: [{ send_resolved, to: receiver.to, from: receiver.from, smarthost: receiver.smarthost, auth_username: receiver.username, auth_password_file: secretFile(receiver) }] };
  }
}

/**
 * Alertmanager's whole configuration (alertmanager.yaml), written out in full so that Helm's merge with the chart's
 * default `alertmanager.config` (kube-prometheus-stack 88.5.3 values.yaml) keeps nothing of it by accident: the
 * default's global, inhibit rules, templates and route timings are carried over, its null-only routing replaced.
 * Every receiver gets each alert of its severities (`continue`, so one receiver does not hide the next); Watchdog,
 * which fires always to prove the pipeline, goes nowhere.
 */
export function renderAlertmanagerConfig(receivers: AlertReceiver[]): Record<string, unknown> {
  return {
    global: { resolve_timeout: "5m" },
    inhibit_rules: [
      { source_matchers: ["severity = critical"], target_matchers: ["severity =~ warning|info"], equal: ["namespace", "alertname"] },
      { source_matchers: ["severity = warning"], target_matchers: ["severity = info"], equal: ["namespace", "alertname"] },
      { source_matchers: ["alertname = InfoInhibitor"], target_matchers: ["severity = info"], equal: ["namespace"] },
      { target_matchers: ["alertname = InfoInhibitor"] },
    ],
    route: {
      group_by: ["namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "12h",
      receiver: NULL_RECEIVER,
      routes: [
        { matchers: ['alertname = "Watchdog"'], receiver: NULL_RECEIVER },
        ...receivers.map((r) => ({ matchers: [`severity =~ "${r.severities.join("|")}"`], receiver: r.name, continue: true })),
      ],
    },
    receivers: [{ name: NULL_RECEIVER }, ...receivers.map((r) => ({ name: r.name, ...integration(r) }))],
    templates: ["/etc/alertmanager/config/*.tmpl"],
  };
}

/** The chart's alertmanager values: the config above, and the receivers' Secret mounted where its files point. */
export function renderAlertmanagerValues(receivers: AlertReceiver[], resources: Record<string, unknown>): Record<string, unknown> {
  return {
    config: renderAlertmanagerConfig(receivers),
    alertmanagerSpec: { resources, ...(receivers.length ? { secrets: [ALERTMANAGER_SECRET] } : {}) },
  };
}

/** Alertmanager's way out: to the internet, on the ports its receivers listen on, and nowhere else. */
export function alertmanagerEgress(receivers: AlertReceiver[]): PolicySpec[] {
  if (!receivers.length) return [];
  const ports = [...new Set(receivers.map((r) => r.port))].sort((a, b) => a - b);
  return [{ name: "alertmanager-to-receivers", spec: { podSelector: { matchLabels: ALERTMANAGER_POD_LABEL }, policyTypes: ["Egress"], egress: [{ to: internet(), ports: tcp(ports) }] } }];
}
