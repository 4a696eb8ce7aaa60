import { strict as assert } from "node:assert";
import { crossStackProblems } from "../../tools/offline/crossStack";
import { runEdge, runHome } from "../support/offline";

describe("checks across the edge and home stacks", () => {
  it("finds a listener on the gateway for every port the edge forwards, and nothing else", async () => {
    const edge = await runEdge();
    const home = await runHome({}, edge);
    assert.deepEqual(crossStackProblems(edge, home), []);
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
