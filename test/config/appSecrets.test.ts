import { strict as assert } from "node:assert";
import { AppSecretRead, resolveAppSecrets } from "../../components/config/appSecrets";
import { ConfigError } from "../../components/config/schema";
import { edgeRefusal, validEdgeRaw } from "../support/fixtures";
import { runProgram } from "../support/offline";

const VALUE = "kY3nR9wq2LpT6vX0zA8bC4dE1fG5hJ7m=";
const read = (secret: string, key: string, overrides: Partial<AppSecretRead> = {}): AppSecretRead => ({
  namespace: "torrent",
  secret,
  key,
  app: "torrent",
  reader: `Gluetun's ${key.toUpperCase()}`,
  at: "services[6].vpn.credentialsSecret",
  ...overrides,
});
const VPN = [read("torrent-vpn", "wireguard_private_key"), read("torrent-vpn", "wireguard_addresses")];
const config = (value: unknown) => JSON.stringify(value);
const complete = { "torrent-vpn": { wireguard_private_key: VALUE, wireguard_addresses: "10.64.0.2/32" } };

function refusal(raw: string | undefined, reads: AppSecretRead[]): string[] {
  try {
    resolveAppSecrets(raw, reads, { standIns: false });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  return assert.fail("accepted");
}

describe("app secrets (homelab:appSecrets)", () => {
  it("makes one Secret per name in the reading apps' namespace, its values secret", async () => {
    const resolved = resolveAppSecrets(config(complete), VPN, { standIns: false });
    assert.deepEqual(resolved.standIns, []);
    assert.deepEqual(resolved.secrets.map(({ namespace, name, apps }) => ({ namespace, name, apps })), [{ namespace: "torrent", name: "torrent-vpn", apps: ["torrent"] }]);
    const run = await runProgram(() => ({ outputs: { data: resolved.secrets[0].data }, artifacts: {} }));
    assert.deepEqual(run.outputs.data, { value: complete["torrent-vpn"], secret: true });
  });

  it("refuses each key an app reads that the config does not set, naming the key, the app, what reads it and the command", () => {
    const problems = refusal(config({ "torrent-vpn": { wireguard_private_key: VALUE } }), VPN);
    assert.deepEqual(problems, [
      `homelab:appSecrets.torrent-vpn.wireguard_addresses is required but not set: read by "torrent" (Gluetun's WIREGUARD_ADDRESSES, from services[6].vpn.credentialsSecret); ` +
        "set it with `pulumi config set --stack home --secret --path 'appSecrets.torrent-vpn.wireguard_addresses' <value>`",
    ]);
    assert.equal(refusal(undefined, VPN).length, 2, "no appSecrets at all: both keys");
  });

  it("refuses a Secret no app reads and a key no app reads, as typos would be", () => {
    const problems = refusal(config({ "torrent-vnp": { x: "y" }, "torrent-vpn": { ...complete["torrent-vpn"], wireguard_privatekey: VALUE } }), VPN);
    assert.deepEqual(problems, [
      `homelab:appSecrets.torrent-vpn.wireguard_privatekey: no app reads key "wireguard_privatekey" of Secret "torrent-vpn"; it is read for wireguard_private_key, wireguard_addresses only. ` +
        "Remove it: `pulumi config rm --stack home --path 'appSecrets.torrent-vpn.wireguard_privatekey'`",
      `homelab:appSecrets.torrent-vnp: no app in the catalog reads a Secret "torrent-vnp" (they read torrent-vpn); a typo, or an app since removed: ` +
        "`pulumi config rm --stack home --path 'appSecrets.torrent-vnp'`",
    ]);
    assert.match(refusal(config(complete), [])[0], /^homelab:appSecrets\.torrent-vpn: no app in the catalog reads a Secret "torrent-vpn" \(they read none\)/);
  });

  it("refuses values that are not text, and malformed shapes, without ever quoting a value", () => {
    const problems = refusal(config({ "torrent-vpn": { wireguard_private_key: { nested: VALUE }, wireguard_addresses: "" } }), VPN);
    assert.deepEqual(problems, [
      "homelab:appSecrets.torrent-vpn.wireguard_private_key: must be a string (the value is not shown: it is secret)",
      "homelab:appSecrets.torrent-vpn.wireguard_addresses: is empty; an app reading it would start without its credential",
    ]);
    for (const bad of [VALUE, config([VALUE]), config({ "torrent-vpn": VALUE })]) {
      const messages = refusal(bad, VPN);
      assert.match(messages[0], /^homelab:appSecrets(\.torrent-vpn)?: must map each Secret's name to its keys and values/);
      assert.ok(messages.every((m) => !m.includes(VALUE)), "the secret never reaches the error");
    }
    assert.deepEqual(resolveAppSecrets(config({ pin: { code: 1234 } }), [read("pin", "code")], { standIns: false }).standIns, [], "a number from ESC is text to Kubernetes");
  });

  it("refuses one Secret name read from two namespaces, which one value cannot fill", () => {
    const reads = [read("db", "password", { namespace: "wiki", app: "wiki", at: "services[1].secretEnv.DB_PASS" }), read("db", "password", { namespace: "blog", app: "blog", at: "services[2].secretEnv.DB_PASS" })];
    assert.deepEqual(refusal(config({ db: { password: VALUE } }), reads), [
      'homelab:services[2].secretEnv.DB_PASS: Secret "db" is read in namespace blog by "blog" and in wiki by "wiki" (services[1].secretEnv.DB_PASS); appSecrets.db fills one Secret in one namespace: give them different names, or put both apps in one group',
    ]);
    const grouped = reads.map((r) => ({ ...r, namespace: "apps" }));
    assert.deepEqual(resolveAppSecrets(config({ db: { password: VALUE } }), grouped, { standIns: false }).secrets.map((s) => s.apps), [["wiki", "blog"]], "one group, one Secret");
  });

  it("names a key with a dot in brackets, as --path needs, and refuses catalog Secret names and keys Kubernetes would", () => {
    assert.deepEqual(resolveAppSecrets(undefined, [read("wiki-files", "config.json")], { standIns: true }).standIns, ['homelab:appSecrets.wiki-files["config.json"]']);
    assert.match(refusal(undefined, [read("wiki-files", "config.json")])[0], /--path 'appSecrets\.wiki-files\["config\.json"\]' <value>/);
    const base = JSON.parse(validEdgeRaw().services) as object[];
    const at = `homelab:services\\[${base.length}\\]`;
    const entry = (secretEnv: object, vpn?: object) => ({ services: JSON.stringify([...base, { name: "wiki", hostname: "wiki.example.com", exposure: "vpn", port: 3000, image: "ghcr.io/requarks/wiki:2.5.307", secretEnv, ...(vpn ? { vpn } : {}) }]) });
    assert.match(edgeRefusal(entry({ DB: { secret: "Wiki.DB", key: "password" } })), new RegExp(`${at}\\.secretEnv\\.DB\\.secret: "Wiki\\.DB" must be a Secret name: a DNS label`));
    assert.match(edgeRefusal(entry({ DB: { secret: "wiki-db", key: "pass word" } })), new RegExp(`${at}\\.secretEnv\\.DB\\.key: "pass word" must be a Secret key: letters, digits, '-', '_' and '\\.' only`));
    assert.match(edgeRefusal(entry({}, { provider: "mullvad", credentialsSecret: "vpn_creds" })), new RegExp(`${at}\\.vpn\\.credentialsSecret: "vpn_creds" must be a Secret name`));
  });

  it("stands in for keys not set when asked (offline only) and lists them, still refusing typos", async () => {
    const resolved = resolveAppSecrets(undefined, VPN, { standIns: true });
    assert.deepEqual(resolved.standIns, ["homelab:appSecrets.torrent-vpn.wireguard_private_key", "homelab:appSecrets.torrent-vpn.wireguard_addresses"]);
    const run = await runProgram(() => ({ outputs: { data: resolved.secrets[0].data }, artifacts: {} }));
    assert.equal(run.outputs.data.secret, true, "stand-ins are secrets too");
    assert.throws(() => resolveAppSecrets(config({ other: { k: "v" } }), VPN, { standIns: true }), /appSecrets\.other: no app in the catalog reads/);
  });
});
