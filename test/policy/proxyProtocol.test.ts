import { strict as assert } from "node:assert";
import { proxyProtocolSources } from "../../policy/proxyProtocol";
import { PolicyTarget, runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { runHome } from "../support/offline";

describe("policy: home-proxy-protocol-sources over the home stack", function () {
  this.timeout(120000);
  let targets: PolicyTarget[];
  before(async () => {
    targets = targetsOf((await runHome()).resources);
  });
  const edit = (name: string, change: (props: Record<string, any>) => Record<string, any>) => targets.map((t) => (t.name === name ? { ...t, props: change(t.props) } : t));

  it("passes: Traefik trusts PROXY on the tunnel pair only, and only the gateway's namespace reaches them", async () => {
    const chart = targets.find((t) => t.type === "kubernetes:helm.sh/v4:Chart" && t.props.chart === "traefik")!;
    const ports = (chart.props.values as { ports: Record<string, { proxyProtocol?: unknown }> }).ports;
    assert.deepEqual(Object.keys(ports).filter((p) => ports[p].proxyProtocol), ["tunnelweb", "tunnelwebsecure"]);
    assert.deepEqual(await runPolicies([proxyProtocolSources], targets), []);
  });

  it("fails when the entrypoints' NetworkPolicy admits the tunnel ports from anywhere, or goes", async () => {
    const opened = edit("traefik-entrypoints", (p) => ({ ...p, spec: { ...p.spec, ingress: p.spec.ingress.map((rule: object) => ({ ...rule, from: undefined })) } }));
    assert.deepEqual(
      (await runPolicies([proxyProtocolSources], opened)).map((v) => v.message),
      ["tunnelweb (traefik, port 8081)", "tunnelwebsecure (traefik, port 8444)"].map((e) => `NetworkPolicy traefik/traefik-entrypoints admits Traefik entrypoint ${e}, which trusts PROXY headers, from anywhere; only edge-tunnel may reach it`),
    );
    const gone = targets.filter((t) => t.name !== "traefik-entrypoints");
    assert.equal((await runPolicies([proxyProtocolSources], gone)).length, 2);
  });
});
