import { strict as assert } from "node:assert";
import { ACME_TOKEN_PERMISSIONS, pickPermissionGroup, ZONE_SCOPE } from "../../components/edge/cloudflareDns";
import { resourceOf, resourcesOf, runEdge } from "../support/offline";

const RECORD = "cloudflare:index/dnsRecord:DnsRecord";
const TOKEN = "cloudflare:index/apiToken:ApiToken";
const UNIVERSAL_SSL = "cloudflare:index/universalSslSetting:UniversalSslSetting";
const ZONE = "023e105f4ecef8ad9ca31a8372d0c353";

describe("CloudflareDns component", () => {
  it("publishes the edge's A and AAAA, DNS-only, and a CNAME to it for each public service only", async () => {
    const run = await runEdge();
    const records = resourcesOf(run, RECORD).map((r) => r.inputs);
    const a = records.find((r) => r.type === "A")!;
    assert.equal(a.name, "edge.example.com");
    assert.equal(a.content, run.outputs.publicIpv4.value);
    assert.equal(a.proxied, false);
    assert.equal(records.find((r) => r.type === "AAAA")!.content, run.outputs.publicIpv6.value);
    const cnames = records.filter((r) => r.type === "CNAME");
    assert.deepEqual(cnames.map((r) => r.name).sort(), ["headscale.example.com", "jellyfin.example.com", "mc.example.com"]);
    assert.ok(cnames.every((r) => r.content === "edge.example.com" && r.proxied === false && r.zoneId === ZONE));
    assert.ok(!records.some((r) => r.name === "grafana.example.com"), "a vpn service never appears in public DNS");
  });

  it("publishes no AAAA when IPv6 is off", async () => {
    const run = await runEdge({ ipv6: "false" });
    assert.ok(!resourcesOf(run, RECORD).some((r) => r.inputs.type === "AAAA"));
  });

  it("allows only the configured CA through CAA, and only by DNS-01", async () => {
    const run = await runEdge();
    const caa = resourcesOf(run, RECORD).filter((r) => r.inputs.type === "CAA").map((r) => r.inputs.data as Record<string, unknown>);
    assert.deepEqual(caa.map((d) => `${d.flags} ${d.tag} ${d.value}`).sort(), ["0 iodef mailto:admin@example.com", "0 issue letsencrypt.org; validationmethods=dns-01", "0 issuewild letsencrypt.org; validationmethods=dns-01"]);
  });

  it("turns the zone's Universal SSL off, so CAs see those CAA records, unless cloudflareUniversalSsl keeps it", async () => {
    const setting = resourcesOf(await runEdge(), UNIVERSAL_SSL);
    assert.deepEqual(setting.map((r) => r.inputs), [{ zoneId: ZONE, enabled: false }]);
    assert.deepEqual(resourcesOf(await runEdge({ cloudflareUniversalSsl: "true" }), UNIVERSAL_SSL), []);
  });

  it("makes a DNS-01 token scoped to this one zone, with zone read and DNS write only", async () => {
    const run = await runEdge();
    const token = resourceOf(run, TOKEN, "dns-acme-dns01");
    const [policy, ...others] = token.inputs.policies as Record<string, unknown>[];
    assert.equal(others.length, 0);
    assert.equal(policy.effect, "allow");
    assert.deepEqual(JSON.parse(String(policy.resources)), { [`${ZONE_SCOPE}.${ZONE}`]: "*" });
    const lookups = run.invokes.filter((i) => i.token.endsWith("getApiTokenPermissionGroupsList"));
    assert.deepEqual(lookups.map((l) => l.inputs.name).sort(), [...ACME_TOKEN_PERMISSIONS].sort());
    assert.ok(lookups.every((l) => l.inputs.scope === ZONE_SCOPE));
    const ids = (policy.permissionGroups as { id: string }[]).map((g) => g.id);
    assert.equal(ids.length, 2);
    assert.equal(new Set(ids).size, 2);
    assert.deepEqual(token.options.additionalSecretOutputs, ["value"], "the provider marks the token value secret");
  });

  it("exports the token only as a secret", async () => {
    const run = await runEdge();
    assert.equal(run.outputs.acmeDnsToken.secret, true);
    assert.match(String(run.outputs.acmeDnsToken.value), /^fake-cloudflare-token-/);
    assert.deepEqual(run.leaks, []);
  });

  it("refuses a permission-group lookup that is not exactly one match", () => {
    assert.equal(pickPermissionGroup("DNS Write", [{ id: "a", name: "DNS Write" }, { id: "b", name: "DNS Read" }]), "a");
    assert.throws(() => pickPermissionGroup("DNS Write", []), /returned 0 permission groups named "DNS Write"/);
    assert.throws(() => pickPermissionGroup("DNS Write", [{ id: "a", name: "DNS Write" }, { id: "b", name: "DNS Write" }]), /returned 2/);
  });
});
