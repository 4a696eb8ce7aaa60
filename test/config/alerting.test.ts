import { strict as assert } from "node:assert";
import { ALERT_RECEIVER_TYPES, ALERT_SECRETS_KEY, alertingSettings, OFFLINE_SECRET } from "../../components/config/alerting";
import { SECRET_PLACEHOLDER } from "../../tools/offline/stackConfig";
import { resourcesOf, runHome } from "../support/offline";
import { parseHomeConfig } from "../../components/config/schema";
import { validHomeRaw } from "../support/fixtures";

// An Output's value and secretness, which the public API keeps inside.
const valueOf = async (output: unknown) => {
  const o = output as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
  return { value: await o.promise(), secret: await o.isSecret };
};
const TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
const HOOK = "https://hooks.example.net:8443/alert/s3cr3t-path";
const receivers = [
  { name: "ops", type: "webhook" },
  { name: "phone", type: "telegram", chatId: -1001234567890, severities: ["critical"] },
];
const parse = (list: unknown, secrets?: unknown) =>
  parseHomeConfig({ ...validHomeRaw(), alertReceivers: JSON.stringify(list), ...(secrets === undefined ? {} : { [ALERT_SECRETS_KEY]: typeof secrets === "string" ? secrets : JSON.stringify(secrets) }) });
const refusal = (list: unknown, secrets?: unknown) => {
  try {
    parse(list, secrets);
  } catch (err) {
    return (err as Error).message;
  }
  return "";
};

describe("alerting config", function () {
  this.timeout(60000);
  it("has no receivers and no secret unless configured", () => {
    const { alerting } = parseHomeConfig(validHomeRaw());
    assert.deepEqual(alerting.receivers, []);
    assert.equal(alerting.secrets, undefined);
  });

  it("reads receivers with their defaults, the port each is reached on, and the secrets as one Pulumi secret", async () => {
    const { alerting } = parse(receivers, { ops: HOOK, phone: ` ${TOKEN}\n` });
    assert.deepEqual(alerting.receivers, [
      { name: "ops", type: "webhook", severities: ["critical", "warning"], sendResolved: true, port: 8443 },
      { name: "phone", type: "telegram", chatId: -1001234567890, severities: ["critical"], sendResolved: true, port: 443 },
    ]);
    const secrets = await valueOf(alerting.secrets!);
    assert.deepEqual(secrets, { value: { ops: HOOK, phone: TOKEN }, secret: true }, "trimmed, as a file Alertmanager reads should be");
    assert.equal(parse([{ name: "plain", type: "webhook" }], { plain: "http://10.0.0.1/hook" }).alerting.receivers[0].port, 80);
    const mail = { name: "mail", type: "email", to: "me@example.org", from: "alerts@example.org", smarthost: "smtp.example.org:465", username: "alerts" };
    assert.equal(parse([mail], { mail: "app-password" }).alerting.receivers[0].port, 465, "the smarthost's port");
    assert.match(refusal([{ ...mail, smarthost: "smtp.example.org" }], { mail: "x" }), /homelab:alertReceivers\[0\]\.smarthost: "smtp\.example\.org" must be "host:port" of the SMTP server/);
    assert.match(refusal([{ ...mail, to: "me" }], { mail: "x" }), /homelab:alertReceivers\[0\]\.to: "me" must be an email address/);
    assert.match(refusal([mail], {}), /alertReceiverSecrets\.mail is required but not set: receiver "mail" \(email\) needs its SMTP password/);
  });

  it("refuses an unknown type, a bad severity, a duplicate name and a stray field, naming the key and what is allowed", () => {
    assert.match(refusal([{ name: "x", type: "pager" }]), new RegExp(`homelab:alertReceivers\\[0\\]\\.type: "pager" must have a type, one of ${ALERT_RECEIVER_TYPES.join(", ")}`));
    assert.match(refusal([{ name: "x", type: "webhook", severities: ["page"] }]), /homelab:alertReceivers\[0\]\.severities\[0\]: "page" must be one of critical, warning, info/);
    assert.match(refusal([{ name: "Bad Name", type: "webhook" }]), /homelab:alertReceivers\[0\]\.name: "Bad Name" must be a DNS label/);
    assert.match(refusal([{ name: "x", type: "telegram", chatId: "abc" }]), /homelab:alertReceivers\[0\]\.chatId: "abc" must be a Telegram chat id/);
    assert.match(refusal([{ name: "x", type: "webhook", url: HOOK }]), /homelab:alertReceivers\[0\]: unknown field\(s\) "url"/);
    assert.match(refusal([{ name: "x", type: "webhook" }, { name: "x", type: "slack" }], { x: HOOK }), /homelab:alertReceivers\[1\]\.name: "x" is taken by an earlier receiver/);
    assert.match(refusal([{ name: "null", type: "webhook" }], { null: HOOK }), /homelab:alertReceivers\[0\]\.name: "null" is the receiver that drops alerts no one is sent/);
  });

  it("asks for each receiver's secret by its key and command, and refuses secrets no receiver has", () => {
    assert.match(refusal(receivers, { ops: HOOK }), /homelab:alertReceiverSecrets\.phone is required but not set: receiver "phone" \(telegram\) needs its bot token; set it with pulumi config set --stack home --secret --path 'alertReceiverSecrets\.phone'/);
    assert.match(refusal(receivers, { ops: HOOK, phone: TOKEN, phnoe: TOKEN }), /homelab:alertReceiverSecrets\.phnoe: no receiver has this name; homelab:alertReceivers names ops, phone/);
    assert.match(refusal([], { stray: HOOK }), /alertReceiverSecrets\.stray: no receiver has this name; homelab:alertReceivers names none/);
  });

  it("refuses the offline plan's stand-in for an undecrypted value under a real engine", () => {
    assert.equal(OFFLINE_SECRET, SECRET_PLACEHOLDER, "the offline engine's placeholder, as stackConfig.ts writes it");
    const parsed = parse(receivers, { ops: HOOK, phone: TOKEN }).alerting.receivers;
    const real = (secrets: unknown) => () => alertingSettings(parsed, secrets, false);
    assert.throws(real({ ops: OFFLINE_SECRET, phone: TOKEN }), /alertReceiverSecrets\.ops: .* must be a URL/);
    assert.throws(real(OFFLINE_SECRET), /homelab:alertReceiverSecrets: .* must be an object/);
    assert.equal(alertingSettings(parsed, OFFLINE_SECRET, true).receivers.length, 2, "offline, the whole key's stand-in stands for every receiver's");
    const mail = parse([{ name: "mail", type: "email", to: "me@example.org", from: "alerts@example.org", smarthost: "smtp.example.org:465", username: "alerts" }], { mail: "pw" }).alerting.receivers;
    assert.equal(alertingSettings(mail, { mail: OFFLINE_SECRET }, true).receivers[0].port, 465, "an email receiver's port is plain config, stand-in or not");
  });

  it("plans offline with the stand-ins of secure leaves, and still asks for a receiver's missing secret", async () => {
    // The whole key's stand-in is checked on alertingSettings above; one run shows the leaves' through the program.
    const home = await runHome({ alertReceivers: JSON.stringify(receivers), alertReceiverSecrets: JSON.stringify({ ops: SECRET_PLACEHOLDER, phone: SECRET_PLACEHOLDER }) });
    assert.equal(resourcesOf(home, "kubernetes:core/v1:Secret").filter((r) => r.name === "monitoring-alert-receivers").length, 1);
    await assert.rejects(runHome({ alertReceivers: JSON.stringify(receivers), alertReceiverSecrets: JSON.stringify({ ops: SECRET_PLACEHOLDER }) }), /alertReceiverSecrets\.phone is required but not set/);
  });

  it("checks each secret's form for its kind without ever printing it", () => {
    const messages = [
      refusal(receivers, { ops: "hooks.example.net/s3cr3t-path", phone: TOKEN }),
      refusal(receivers, { ops: "ftp://hooks.example.net/s3cr3t-path", phone: TOKEN }),
      refusal(receivers, { ops: HOOK, phone: "s3cr3t-path" }),
      refusal([{ name: "team", type: "slack" }], { team: "http://hooks.slack.com/services/s3cr3t-path" }),
      refusal(receivers, { ops: 42, phone: TOKEN }),
      refusal(receivers, "s3cr3t-path"),
    ];
    assert.match(messages[0], /homelab:alertReceiverSecrets\.ops: \(the value is secret, not shown\) must be a URL such as "https:\/\/host\/path", as receiver "ops" is webhook/);
    assert.match(messages[1], /alertReceiverSecrets\.ops: .* must be an http:\/\/ or https:\/\/ URL/);
    assert.match(messages[2], /alertReceiverSecrets\.phone: .* must be a bot token as BotFather gives it/);
    assert.match(messages[3], /alertReceiverSecrets\.team: .* must be an https:\/\/ URL, as receiver "team" is slack/);
    assert.match(messages[4], /alertReceiverSecrets\.ops: .* must be a string/);
    assert.match(messages[5], /homelab:alertReceiverSecrets: \(the value is secret, not shown\) must be an object mapping each receiver's name to its secret/);
    for (const message of messages) assert.doesNotMatch(message, /s3cr3t/);
  });
});
