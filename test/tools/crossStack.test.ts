import { strict as assert } from "node:assert";
import { crossStackProblems } from "../../tools/offline/crossStack";
import { runEdge, runHome } from "../support/offline";

describe("checks across the edge and home stacks", () => {
  it("finds a listener on the gateway for every port the edge forwards, and nothing else", async () => {
    const edge = await runEdge();
    const home = await runHome({}, edge);
    assert.deepEqual(crossStackProblems(edge, home), []);
  });

  it("reports a route through the tunnel whose hostname the edge does not publish", async () => {
    const wiki = JSON.stringify([{ name: "wiki", hostname: "wiki.example.com", exposure: "public", port: 3000, image: "ghcr.io/example/wiki:2.5.1" }]);
    const home = await runHome({ services: wiki, derp: "false" });
    const edge = await runEdge();
    assert.deepEqual(crossStackProblems(edge, home).filter((p) => p.includes("CNAME")), ["the home stack routes wiki.example.com through the tunnel, but the edge publishes no CNAME for it"]);
    assert.deepEqual(crossStackProblems(await runEdge({ services: wiki, derp: "false" }), home).filter((p) => p.includes("CNAME")), []);
  });

  it("reports a forwarded port with no listener, and a listener nothing forwards to", async () => {
    const edge = await runEdge();
    const home = await runHome({}, edge);
    const narrowed = { ...home, artifacts: { ...home.artifacts, "haproxy.cfg": home.artifacts["haproxy.cfg"].replace(/ {2}bind 10\.10\.10\.2:25565\n/, "  bind 10.10.10.2:2222\n") } };
    assert.deepEqual(crossStackProblems(edge, narrowed), [
      "the edge forwards tcp to 10.10.10.2:25565, but nothing in the home stack listens there",
      "the tunnel gateway listens on 10.10.10.2:2222, which the edge never forwards to",
    ]);
  });
});
