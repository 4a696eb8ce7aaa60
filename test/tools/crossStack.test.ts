import { strict as assert } from "node:assert";
import { crossStackProblems } from "../../tools/offline/crossStack";
import { validEdgeRaw } from "../support/fixtures";
import { runEdge, runFixtureStacks, runHome } from "../support/offline";

describe("checks across the edge and home stacks", () => {
  it("finds a listener on the gateway for every port the edge forwards, and nothing else", async () => {
    const { edge, home } = await runFixtureStacks();
    assert.deepEqual(crossStackProblems(edge, home), []);
  });

  it("reports a route through the tunnel whose hostname the edge does not publish", async () => {
    const wiki = JSON.stringify([{ name: "wiki", hostname: "wiki.example.com", exposure: "public", port: 3000, image: "ghcr.io/example/wiki:2.5.1" }]);
    const home = await runHome({ services: wiki, derp: "false" });
    const edge = await runEdge();
    const unpublished = (problems: string[]) => problems.filter((p) => p.startsWith("the home stack routes"));
    assert.deepEqual(unpublished(crossStackProblems(edge, home)), ["the home stack routes wiki.example.com through the tunnel, but the edge publishes no CNAME for it"]);
    assert.deepEqual(crossStackProblems(await runEdge({ services: wiki, derp: "false" }), home), [], "both directions agree once the edge has the same catalog");
  });

  it("reports a CNAME that no route through the tunnel answers", async () => {
    const edge = await runEdge();
    const withoutHeadscale = JSON.stringify(JSON.parse(validEdgeRaw().services).filter((s: { component?: string }) => !["headscale", "headplane"].includes(s.component ?? "")));
    const home = await runHome({ services: withoutHeadscale, derp: "false" }, edge);
    assert.deepEqual(crossStackProblems(edge, home).filter((p) => p.includes("CNAME")), ["the edge publishes a CNAME for headscale.example.com, but no home route answers it through the tunnel"]);
  });

  it("finds Headscale's STUN listener behind the forwarded UDP port, and reports it missing", async () => {
    const { edge, home } = await runFixtureStacks();
    assert.deepEqual(crossStackProblems(edge, home).filter((p) => p.includes("udp")), []);
    const bound = { ...home, artifacts: { ...home.artifacts, "headscale-config.yaml": home.artifacts["headscale-config.yaml"].replace('stun_listen_addr: "[::]:3478"', "stun_listen_addr: 10.10.10.3:3478") } };
    assert.deepEqual(crossStackProblems(edge, bound), ["the edge forwards udp to fd7a:10:10::3:3478, but nothing in the home stack listens there"], "bound to the IPv4 tunnel address, STUN serves IPv4 only");
    const off = await runHome({ derp: "false" }, edge);
    assert.deepEqual(crossStackProblems(edge, off).filter((p) => p.includes("udp")), [
      "the edge forwards udp to 10.10.10.3:3478, but nothing in the home stack listens there",
      "the edge forwards udp to fd7a:10:10::3:3478, but nothing in the home stack listens there",
    ]);
  });

  it("reports a forwarded port with no listener, and a listener nothing forwards to", async () => {
    const { edge, home } = await runFixtureStacks();
    const narrowed = { ...home, artifacts: { ...home.artifacts, "haproxy.cfg": home.artifacts["haproxy.cfg"].replace(/ {2}bind 10\.10\.10\.2:25565\n/, "  bind 10.10.10.2:2222\n") } };
    assert.deepEqual(crossStackProblems(edge, narrowed), [
      "the edge forwards tcp to 10.10.10.2:25565, but nothing in the home stack listens there",
      "the tunnel gateway listens on 10.10.10.2:2222, which the edge never forwards to",
    ]);
  });
});
