import { strict as assert } from "node:assert";
import { parseCommonConfig, projectKeys } from "../../components/config/schema";
import { EXPOSURE_LABEL } from "../../components/contract/policyNames";
import { routeEntrypoints, ruleHosts } from "../../policy/routes";
import { planStacks } from "../../tools/offline/planStacks";
import { runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { loadStackConfig } from "../../tools/offline/stackConfig";
import { resource } from "./fixtures/build";

const route = (name: string, entryPoints: string[], exposure?: string) =>
  resource("kubernetes:traefik.io/v1alpha1:IngressRoute", name, {
    metadata: { name, namespace: name, ...(exposure ? { labels: { [EXPOSURE_LABEL]: exposure } } : {}) },
    spec: { entryPoints, routes: [{ match: `Host(\`${name}.example.com\`)`, kind: "Rule", services: [{ name, port: 80 }] }], tls: {} },
  });
const messages = async (targets: Parameters<typeof runPolicies>[1], config?: Record<string, unknown>) =>
  (await runPolicies([routeEntrypoints], targets, config ? { [routeEntrypoints.name]: config } : {})).map((v) => v.message);

describe("policy: k8s-route-entrypoints", function () {
  this.timeout(120000);

  it("reads the hosts a Traefik rule can match: && narrows, || and any other matcher widen", () => {
    assert.deepEqual(ruleHosts("Host(`a.example.com`)"), ["a.example.com"]);
    assert.deepEqual(ruleHosts("Host(`A.example.com`) && (PathPrefix(`/x`) || Path(`/y`))"), ["a.example.com"]);
    assert.deepEqual(ruleHosts("Host(`a.example.com`) || Host(`b.example.com`)"), ["a.example.com", "b.example.com"]);
    assert.equal(ruleHosts("Host(`a.example.com`) || PathPrefix(`/`)"), "any");
    assert.equal(ruleHosts("!Host(`a.example.com`)"), "any");
    assert.equal(ruleHosts("HostRegexp(`.+`)"), "any");
    assert.equal(ruleHosts("HostSNI(`*`)"), "any");
    assert.deepEqual(ruleHosts("HostSNI(`mc.example.com`)"), ["mc.example.com"]);
    assert.deepEqual(ruleHosts("PathPrefix(`/a)b`) && Host(`a.example.com`)"), ["a.example.com"]);
  });

  it("without publicHosts, holds tunnel routes to the program's public label, and unlabelled ones are refused", async () => {
    assert.deepEqual(await messages([route("wiki", ["websecure", "tunnelwebsecure"], "public"), route("grafana", ["websecure"], "vpn")]), []);
    assert.deepEqual(await messages([route("grafana", ["tunnelwebsecure"], "vpn"), route("charted", ["tunnelweb"])]), [
      `IngressRoute grafana/grafana binds tunnelwebsecure but is not labelled ${EXPOSURE_LABEL}: public, and no publicHosts are configured`,
      `IngressRoute charted/charted binds tunnelweb but is not labelled ${EXPOSURE_LABEL}: public, and no publicHosts are configured`,
    ]);
  });

  it("with publicHosts, the catalog decides and a label claiming public does not help", async () => {
    assert.deepEqual(await messages([route("grafana", ["tunnelwebsecure"], "public")], { publicHosts: ["wiki.example.com"] }), [
      "IngressRoute grafana/grafana binds tunnelwebsecure for grafana.example.com, which is not a public catalog host",
    ]);
  });

  it("passes the shipped catalog's home plan against its own public hosts, and refuses a vpn route moved onto the tunnel", async () => {
    const { config } = loadStackConfig("home", process.cwd());
    const publicHosts = parseCommonConfig(projectKeys(config)).services.filter((s) => s.exposure === "public").map((s) => s.hostname);
    const [home] = (await planStacks(["home"])).stacks;
    const targets = targetsOf(home.run.resources);
    assert.ok(targets.filter((t) => t.type.endsWith(":IngressRoute")).length >= 5);
    assert.deepEqual(await messages(targets, { publicHosts }), []);
    assert.deepEqual(await messages(targets), []);
    const leaked = targets.map((t) => (t.name === "grafana-route" ? { ...t, props: { ...t.props, spec: { ...(t.props.spec as object), entryPoints: ["websecure", "tunnelwebsecure"] } } } : t));
    assert.deepEqual(await messages(leaked, { publicHosts }), ["IngressRoute grafana/grafana binds tunnelwebsecure for grafana.example.com, which is not a public catalog host"]);
  });
});
