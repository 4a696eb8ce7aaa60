import { strict as assert } from "node:assert";
import { edgeAdvice, homeAdvice } from "../../components/config/advice";
import { parseEdgeConfig, parseHomeConfig } from "../../components/config/schema";
import { validEdgeRaw, validHomeRaw } from "../support/fixtures";

describe("home config advice", () => {
  const monitoring = JSON.stringify([{ name: "prometheus", hostname: "prometheus.example.com", exposure: "vpn", port: 9090, component: "prometheus" }]);
  const receivers = JSON.stringify([{ name: "ops", type: "webhook" }]);

  it("says alerts reach no one when the monitoring entry has no receiver", () => {
    const advice = homeAdvice(parseHomeConfig({ ...validHomeRaw(), services: monitoring, derp: "false" }));
    assert.deepEqual(advice.map((a) => a.key), ["homelab:alertReceivers"]);
    assert.match(advice[0].message, /PublicEndpointDown .* reach no one/);
  });

  it("says nothing once a receiver is set, or with no monitoring entry to raise alerts", () => {
    assert.deepEqual(homeAdvice(parseHomeConfig({ ...validHomeRaw(), services: monitoring, derp: "false", alertReceivers: receivers, alertReceiverSecrets: JSON.stringify({ ops: "https://hooks.mylab.net/a" }) })), []);
    assert.deepEqual(homeAdvice(parseHomeConfig({ ...validHomeRaw(), services: "[]", derp: "false" })), []);
  });
});

describe("edge config advice", () => {
  it("says the CAA restriction does not hold while the zone keeps Universal SSL, and nothing by default", () => {
    const kept = edgeAdvice(parseEdgeConfig({ ...validEdgeRaw(), cloudflareUniversalSsl: "true" }));
    assert.deepEqual(kept.map((a) => a.key), ["homelab:cloudflareUniversalSsl"]);
    assert.match(kept[0].message, /CVE-2026-14440.*validationmethods=dns-01/);
    assert.deepEqual(edgeAdvice(parseEdgeConfig(validEdgeRaw())), []);
  });
});
