import { strict as assert } from "node:assert";
import { parseEdgeConfig } from "../../components/config/schema";
import { FIRST_RUN_WIZARDS, imageName } from "../../components/config/wizards";
import { loadStackConfig } from "../../tools/offline/stackConfig";
import { validEdgeRaw } from "../support/fixtures";

const JELLYFIN = { name: "media", hostname: "media.example.com", port: 8096, image: "lscr.io/linuxserver/jellyfin:10.10.7@sha256:" + "ab".repeat(32) };
const withEntry = (entry: object) => ({ ...validEdgeRaw(), services: JSON.stringify([...JSON.parse(validEdgeRaw().services).filter((s: { name: string }) => s.name !== "jellyfin"), entry]) });
const refusal = (entry: object) => {
  try {
    parseEdgeConfig(withEntry(entry));
  } catch (err) {
    return (err as Error).message;
  }
  return "";
};

describe("first-run admin wizards", () => {
  it("names an image by its last path segment, whatever the registry, tag or digest", () => {
    assert.equal(imageName("docker.io/jellyfin/jellyfin:10.10.7"), "jellyfin");
    assert.equal(imageName(JELLYFIN.image), "jellyfin");
    assert.equal(imageName("registry.local:5000/louislam/uptime-kuma:1.23.16"), "uptime-kuma");
  });

  it("refuses a wizard app public before its admin exists, naming the key, the app and the way out", () => {
    assert.match(refusal({ ...JELLYFIN, exposure: "public" }), /homelab:services\[\d+\]\.exposure: "media" is public, but Jellyfin serves its \/Startup wizard anonymously .* Deploy it as vpn, create the admin account, then set adminClaimed: true/);
    assert.match(refusal({ ...JELLYFIN, name: "status", image: "docker.io/louislam/uptime-kuma:1.23.16", exposure: "public" }), /"status" is public, but Uptime Kuma shows \/setup/);
    assert.match(refusal({ ...JELLYFIN, name: "music", image: "docker.io/deluan/navidrome:0.63.2", exposure: "public" }), /"music" is public, but Navidrome lets its first visitor create the admin account/);
    assert.match(refusal({ ...JELLYFIN, name: "graphs", image: "docker.io/grafana/grafana:12.1.1", exposure: "public" }), /"graphs" is public, but Grafana's admin account has the password admin/);
  });

  it("lets it be vpn or lan, public once adminClaimed says the admin exists, or public behind forward-auth", () => {
    for (const entry of [{ exposure: "vpn" }, { exposure: "lan" }, { exposure: "public", adminClaimed: true }]) assert.equal(refusal({ ...JELLYFIN, ...entry }), "", JSON.stringify(entry));
    assert.doesNotMatch(refusal({ ...JELLYFIN, exposure: "public", forwardAuth: true }), /exposure/, "forward-auth guards the wizard (the edge schema may still ask for homelab:forwardAuth)");
  });

  it("ships no public wizard app in the example catalog (Pulumi.yaml)", () => {
    const catalog = JSON.parse(loadStackConfig("edge", process.cwd()).config["homelab:services"]) as { name: string; image?: string; exposure: string }[];
    const wizards = catalog.filter((s) => s.image && FIRST_RUN_WIZARDS[imageName(s.image)]);
    assert.deepEqual(wizards.map((s) => s.name).sort(), ["grafana", "jellyfin", "navidrome", "uptime-kuma"]);
    assert.deepEqual(wizards.filter((s) => s.exposure === "public"), []);
  });
});
