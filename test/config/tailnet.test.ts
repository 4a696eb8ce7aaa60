import { strict as assert } from "node:assert";
import { parseHomeConfig } from "../../components/config/schema";
import { BUILTIN_TAILNET_HOSTS, SUBNET_ROUTER_USER } from "../../components/config/tailnet";
import { validHomeRaw } from "../support/fixtures";

const refusal = (tailnet: object) => {
  try {
    parseHomeConfig({ ...validHomeRaw(), tailnet: JSON.stringify(tailnet) });
  } catch (err) {
    return (err as Error).message;
  }
  return "";
};

describe("tailnet config", () => {
  it("puts MagicDNS under ts.<domain> unless told otherwise", () => {
    assert.equal(parseHomeConfig(validHomeRaw()).headscale.baseDomain, "ts.example.com");
  });

  it("keeps the built-in host names and the router's user for the program", () => {
    for (const host of BUILTIN_TAILNET_HOSTS) assert.match(refusal({ users: ["alice"], hosts: { [host]: "10.0.0.1/32" }, acls: [] }), new RegExp(`"${host}"`), host);
    assert.match(refusal({ users: [SUBNET_ROUTER_USER], groups: {}, acls: [] }), new RegExp(`"${SUBNET_ROUTER_USER}" is reserved`));
  });

  describe("split DNS to a resolver on the LAN (D11): reached only through the subnet router, so the policy must allow it", () => {
    const TAILNET = { users: ["alice", "bob"], groups: { admins: ["alice"], family: ["alice", "bob"] }, hosts: { nas: "192.168.1.20/32" }, acls: [{ from: ["admins"], to: ["lan"] }, { from: ["family"], to: ["services", "nas:445"] }] };
    const parseWith = (tailnet: typeof TAILNET, resolvers: string[]) => () =>
      parseHomeConfig({ ...validHomeRaw(), headscaleOverrideLocalDns: "false", headscaleSplitDns: JSON.stringify({ "example.com": resolvers }), tailnet: JSON.stringify(tailnet) });
    const withDns = (ports: string) => ({ ...TAILNET, hosts: { ...TAILNET.hosts, dns: "192.168.1.53/32" }, acls: [...TAILNET.acls, { from: ["family"], to: [`dns${ports}`] }] });

    it("refuses one that a group with rules cannot reach on port 53, naming the key, the resolver and the group", () => {
      assert.throws(parseWith(TAILNET, ["192.168.1.53"]), (err: Error) => {
        assert.match(err.message, /homelab:headscaleSplitDns\.example\.com\[0\]: "192\.168\.1\.53" is on the home LAN/);
        assert.match(err.message, /lets group family reach it on port 53/, "admins reach the whole LAN; family does not");
        assert.doesNotMatch(err.message, /group admins/);
        return true;
      });
    });

    it("accepts it once every group has a rule to it on 53, a range holding 53, or all ports", () => {
      for (const ports of [":53", ":50-60", ":22,53", ""]) assert.doesNotThrow(parseWith(withDns(ports), ["192.168.1.53"]), ports);
      assert.throws(parseWith(withDns(":443"), ["192.168.1.53"]), /headscaleSplitDns\.example\.com\[0\]/);
    });

    it("leaves resolvers off the LAN alone: clients reach them without the router", () => {
      assert.doesNotThrow(parseWith(TAILNET, ["1.1.1.1"]));
    });
  });

  describe("Headplane against the pinned Headscale (D2, D5: no release supports 0.29, and older ones have advisories)", () => {
    // The fixture's catalog has Headplane; its Headscale pin is replaced by each case's, or the default.
    const withHeadplane = (overrides: Record<string, string> = {}) => () => {
      const { headscaleImage, ...raw } = validHomeRaw();
      void headscaleImage;
      return parseHomeConfig({ ...raw, ...overrides });
    };

    it("refuses a headplane entry beside the default Headscale, naming the entry, the version and what is supported", () => {
      assert.throws(withHeadplane(), /homelab:services\[5\]\.component: "headplane" runs Headplane, but no Headplane release supports Headscale 0\.29\.3 \(homelab:headscaleImage\); the newest, 0\.6\.3, supports 0\.26 up to but not including 0\.29/);
    });

    it("runs the newest release beside a Headscale it supports, and refuses one with advisories", () => {
      const headscale28 = { headscaleImage: "docker.io/headscale/headscale:v0.28.0" };
      assert.equal(withHeadplane(headscale28)().headscale.images.headplane, "ghcr.io/tale/headplane:0.6.3");
      for (const old of ["0.6.0", "0.6.2"]) assert.throws(withHeadplane({ ...headscale28, headplaneImage: `ghcr.io/tale/headplane:${old}` }), new RegExp(`homelab:headplaneImage: "ghcr\\.io/tale/headplane:${old.replace(/\./g, "\\.")}" has published security advisories`), old);
      assert.throws(withHeadplane({ headscaleImage: "docker.io/headscale/headscale:v0.25.1" }), /supports 0\.26 up to/);
    });

    it("leaves a catalog without Headplane alone, on the default Headscale", () => {
      const { headscaleImage, ...raw } = validHomeRaw();
      void headscaleImage;
      const services = JSON.stringify(JSON.parse(raw.services).filter((s: { component?: string }) => s.component !== "headplane"));
      assert.equal(parseHomeConfig({ ...raw, services }).headscale.image, "docker.io/headscale/headscale:v0.29.3");
    });
  });
});
