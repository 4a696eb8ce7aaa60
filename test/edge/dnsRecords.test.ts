import { strict as assert } from "node:assert";
import { planDnsRecords, renderDnsTable } from "../../components/edge/dnsRecords";

const spec = { domain: "example.com", edgeHostname: "edge.example.com", ipv4: "203.0.113.7", publicHostnames: ["b.example.com", "a.example.com"], caaIssuer: "letsencrypt.org", caaContact: "admin@example.com" };

describe("DNS record plan", () => {
  it("lists the edge address, sorted CNAMEs and CAA, with stable keys", () => {
    const records = planDnsRecords(spec);
    assert.deepEqual(records.map((r) => r.key), ["edge-a", "cname-a.example.com", "cname-b.example.com", "caa-issue", "caa-issuewild", "caa-iodef"]);
    assert.ok(!records.some((r) => r.type === "AAAA"));
    assert.equal(planDnsRecords({ ...spec, ipv6: "2001:db8::1" }).filter((r) => r.type === "AAAA").length, 1);
  });

  it("lets the CA issue, wildcard or not, only through DNS-01 (RFC 8657), which a compromised VPS cannot pass", () => {
    const caa = planDnsRecords(spec).filter((r) => r.type === "CAA" && r.data?.tag !== "iodef");
    assert.deepEqual(caa.map((r) => r.data?.value), ["letsencrypt.org; validationmethods=dns-01", "letsencrypt.org; validationmethods=dns-01"]);
  });

  it("renders an aligned table", () => {
    const table = renderDnsTable(planDnsRecords(spec));
    const lines = table.trimEnd().split("\n");
    assert.equal(lines[0], "NAME              TYPE   CONTENT");
    assert.equal(lines[1], "edge.example.com  A      203.0.113.7");
    assert.equal(lines.at(-1), 'example.com       CAA    0 iodef "mailto:admin@example.com"');
  });
});
