import { strict as assert } from "node:assert";
import { parseCommonConfig } from "../../components/config/common";
import { validEdgeRaw } from "../support/fixtures";

describe("project-level config (both stacks)", () => {
  it("reads the network plan and the catalog both stacks share", () => {
    const c = parseCommonConfig(validEdgeRaw());
    assert.equal(c.network.tunnelCidr, "10.10.10.0/24");
    assert.ok(c.services.some((s) => s.exposure === "public"));
  });

  it("refuses a hostname outside the domain, naming the entry", () => {
    const raw = validEdgeRaw();
    const services = JSON.parse(String(raw.services));
    services[0].hostname = "jellyfin.elsewhere.org";
    assert.throws(() => parseCommonConfig({ ...raw, services: JSON.stringify(services) }), /homelab:services\[0\]\.hostname: "jellyfin\.elsewhere\.org" is outside the domain example\.com/);
  });
});
