import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { AlertReceiver } from "../../components/config/alerting";
import { NOT_INTERNET } from "../../components/apps/networkPolicies";
import { ALERTMANAGER_POD_LABEL, ALERTMANAGER_SECRET, alertmanagerEgress, renderAlertmanagerConfig, renderAlertmanagerValues } from "../../components/home/monitoringAlerts";
import { requireRealTools, run, tryRun } from "../support/realTools";

const RECEIVERS: AlertReceiver[] = [
  { name: "ops", type: "webhook", severities: ["critical", "warning"], sendResolved: true, port: 8443 },
  { name: "phone", type: "telegram", chatId: -1001234567890, severities: ["critical"], sendResolved: true, port: 443 },
  { name: "team", type: "slack", channel: "#alerts", severities: ["warning", "info"], sendResolved: false, port: 443 },
  { name: "mail", type: "email", to: "me@example.org", from: "alerts@example.org", smarthost: "smtp.example.org:587", username: "alerts", severities: ["critical"], sendResolved: true, port: 587 },
];

function writeConfig(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), "amtool-")), "alertmanager.yaml");
  writeFileSync(file, stringify(config));
  return file;
}

/** The receivers amtool's own router picks for an alert with these labels, as Alertmanager would route it. */
const routedTo = (file: string, labels: string[]) => run("amtool", ["config", "routes", "test", `--config.file=${file}`, ...labels]).trim();

describe("Alertmanager's receivers", () => {
  it("names each receiver's secret as a file in the mounted Secret, never the secret itself", () => {
    const receivers = renderAlertmanagerConfig(RECEIVERS).receivers as Record<string, any>[];
    const file = (name: string) => `/etc/alertmanager/secrets/${ALERTMANAGER_SECRET}/${name}`;
    assert.deepEqual(receivers.find((r) => r.name === "ops")!.webhook_configs, [{ send_resolved: true, url_file: file("ops") }]);
    assert.deepEqual(receivers.find((r) => r.name === "phone")!.telegram_configs, [{ send_resolved: true, bot_token_file: file("phone"), chat_id: -1001234567890 }]);
    assert.deepEqual(receivers.find((r) => r.name === "team")!.slack_configs, [{ send_resolved: false, api_url_file: file("team"), channel: "#alerts" }]);
    assert.deepEqual(receivers.find((r) => r.name === "mail")!.email_configs, [{ send_resolved: true, to: "me@example.org", from: "alerts@example.org", smarthost: "smtp.example.org:587", auth_username: "alerts", auth_password_file: file("mail") }]);
    // kube-prometheus-stack 88.5.3 templates/alertmanager/alertmanager.yaml copies alertmanagerSpec.secrets into the
    // Alertmanager object, whose operator mounts each under /etc/alertmanager/secrets/<name>.
    const values = renderAlertmanagerValues(RECEIVERS, {}) as any;
    assert.deepEqual(values.alertmanagerSpec.secrets, [ALERTMANAGER_SECRET]);
    assert.equal((renderAlertmanagerValues([], {}) as any).alertmanagerSpec.secrets, undefined, "no receivers, no Secret to mount");
  });

  it("is a config the real amtool accepts, routing each severity to its receivers and Watchdog to no one", function () {
    requireRealTools(this, ["amtool"]);
    const file = writeConfig(renderAlertmanagerConfig(RECEIVERS));
    assert.match(run("amtool", ["check-config", file]), /SUCCESS[\s\S]*5 receivers/);
    assert.equal(routedTo(file, ["severity=critical", "alertname=PublicEndpointDown"]), "ops,phone,mail");
    assert.equal(routedTo(file, ["severity=warning", "alertname=PublicCertificateExpiresSoon"]), "ops,team");
    assert.equal(routedTo(file, ["severity=info", "alertname=KubeletTooManyPods"]), "team");
    assert.equal(routedTo(file, ["severity=none", "alertname=Watchdog"]), "null");
    const none = writeConfig(renderAlertmanagerConfig([]));
    assert.match(run("amtool", ["check-config", none]), /SUCCESS/);
    assert.equal(routedTo(none, ["severity=critical", "alertname=PublicEndpointDown"]), "null");
    // The check is real: a Telegram receiver without its chat is refused.
    const broken = renderAlertmanagerConfig([{ ...RECEIVERS[1], chatId: undefined } as unknown as AlertReceiver]);
    const refused = tryRun("amtool", ["check-config", writeConfig(broken)]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stdout + refused.stderr, /chat_id/);
  });

  it("lets Alertmanager out to the internet on its receivers' ports only, and not at all without receivers", () => {
    const [policy, ...rest] = alertmanagerEgress(RECEIVERS);
    assert.deepEqual(rest, []);
    assert.deepEqual(policy.spec.podSelector, { matchLabels: ALERTMANAGER_POD_LABEL });
    assert.deepEqual(policy.spec.policyTypes, ["Egress"]);
    assert.deepEqual(policy.spec.egress, [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NOT_INTERNET } }], ports: [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 587 }, { protocol: "TCP", port: 8443 }] }]);
    assert.deepEqual(alertmanagerEgress([]), []);
  });
});
