import { strict as assert } from "node:assert";
import { parseEdgeConfig } from "../../components/config/schema";
import { allPolicies } from "../../policy/policies";
import { stackRule } from "../../policy/support";
import { packConfigFor } from "../../tools/offline/packConfig";
import { planStacks } from "../../tools/offline/planStacks";
import { runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { providerState } from "../../tools/offline/fakes";
import { VPS_COMPONENT } from "../../components/contract/policyNames";
import { validEdgeRaw } from "../support/fixtures";
import { runEdge } from "../support/offline";

describe("the policy pack over the example stacks", () => {
  it("the repository's edge and home plans pass every mandatory rule, and the gateway's, Headscale's and the apps' waivers are reported", async () => {
    const plan = await planStacks(["edge", "home"]);
    for (const stack of plan.stacks) assert.deepEqual(stack.violations.filter((v) => v.level === "mandatory"), [], stack.stack);
    const advisory = plan.stacks.flatMap((s) => s.violations.filter((v) => v.level === "advisory").map((v) => v.message));
    assert.deepEqual(advisory.map((m) => /^(\S+ \S+) is exempt from ([^:]+):/.exec(m)!.slice(1).join(": ")), [
      "StatefulSet qbittorrent/qbittorrent: k8s-capabilities",
      "StatefulSet qbittorrent/qbittorrent: k8s-run-as-non-root, k8s-run-as-user",
      "StatefulSet headscale/headscale: k8s-capabilities",
      "StatefulSet headscale/headscale: k8s-run-as-non-root",
      "StatefulSet headscale/headscale: k8s-run-as-user",
      "Job headscale/headscale-bootstrap: k8s-service-account-token",
      "Deployment edge-tunnel/tunnel-gateway: k8s-capabilities",
      "Deployment edge-tunnel/tunnel-gateway: k8s-run-as-non-root",
      "Deployment edge-tunnel/tunnel-gateway: k8s-run-as-user",
    ]);
  });

  it("a catalog with raw TCP ports passes too, with the pack config it implies", async () => {
    const run = await runEdge();
    const packConfig = packConfigFor(parseEdgeConfig(validEdgeRaw()));
    assert.deepEqual(packConfig["edge-firewall-allowed-ports"], { tcp: [80, 443, 25565], udp: [51820, 3478] });
    assert.deepEqual(await runPolicies(allPolicies, targetsOf(run.resources), packConfig), []);
    const withDefaults = await runPolicies(allPolicies, targetsOf(run.resources));
    assert.deepEqual(withDefaults.map((v) => `${v.policy}: ${v.message}`), ["edge-firewall-allowed-ports: opens tcp/25565 to the internet; allowed are tcp 80, 443 and udp 51820, 3478"]);
  });

  it("a firewall opened to the world for SSH fails with the rule's id", async () => {
    const run = await runEdge();
    const targets = targetsOf(run.resources).map((t) =>
      t.type === "hcloud:index/firewall:Firewall" ? { ...t, props: { ...t.props, rules: [...(t.props.rules as object[]), { direction: "in", protocol: "tcp", port: "22022", sourceIps: ["::/0"] }] } } : t,
    );
    const violations = await runPolicies(allPolicies, targets, packConfigFor(parseEdgeConfig(validEdgeRaw())));
    assert.deepEqual(violations.map((v) => v.policy).sort(), ["edge-firewall-allowed-ports", "edge-firewall-no-public-ssh"]);
  });

  it("with allowWideAdminCidrs, SSH may open to a wide network, but never to networks covering a whole family between them", async () => {
    const run = await runEdge();
    const sshFrom = (sourceIps: string[]) =>
      targetsOf(run.resources).map((t) => (t.type === "hcloud:index/firewall:Firewall" ? { ...t, props: { ...t.props, rules: [...(t.props.rules as object[]), { direction: "in", protocol: "tcp", port: "22022", sourceIps }] } } : t));
    const packConfig = packConfigFor(parseEdgeConfig({ ...validEdgeRaw(), allowWideAdminCidrs: "true" }));
    assert.deepEqual(packConfig["edge-firewall-no-public-ssh"], { allowWideSources: true });
    const messages = async (sourceIps: string[]) => (await runPolicies(allPolicies, sshFrom(sourceIps), packConfig)).filter((v) => v.policy === "edge-firewall-no-public-ssh").map((v) => v.message);
    assert.deepEqual(await messages(["10.0.0.0/8", "2a00::/16"]), []);
    assert.deepEqual(await messages(["0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8"]), ['firewall "edge" opens SSH port 22022 to 0.0.0.0/1 and 128.0.0.0/1 and 10.0.0.0/8']);
  });

  it("checks the files the Vps component pushes, not the server's userData, which the provider's state holds as a hash", async () => {
    const run = await runEdge();
    const targets = targetsOf(run.resources);
    const server = targets.find((t) => t.type === "hcloud:index/server:Server")!;
    // terraform-provider-hcloud stores base64(SHA-1) of the user-data; stack policies read that state, through the runner.
    const userDataSeen = stackRule({ id: "probe-user-data", description: "reports the userData a stack policy sees", remediation: "none", validate: (args, report) => args.resources.filter((r) => r.type === server.type).forEach((r) => report(String(r.props.userData), r.urn)) });
    const seen = await runPolicies([userDataSeen], targets);
    assert.deepEqual(seen.map((v) => v.message), [String(providerState(server.type, server.props).userData)]);
    assert.match(seen[0].message, /^[A-Za-z0-9+/]{27}=$/);
    const masquerading = targets.map((t) =>
      t.type === VPS_COMPONENT ? { ...t, outputs: { ...t.outputs, ruleset: String(t.outputs!.ruleset).replace("  chain prerouting {", '  chain postrouting {\n    oifname "wg0" masquerade\n  }\n\n  chain prerouting {') } } : t,
    );
    const violations = await runPolicies(allPolicies, masquerading, packConfigFor(parseEdgeConfig(validEdgeRaw())));
    assert.deepEqual(violations.map((v) => `${v.policy}: ${v.message}`), ['edge-nftables-ruleset: the ruleset rewrites source addresses: "oifname "wg0" masquerade"'], "the ruleset that is pushed is the one checked");
    const withoutComponent = await runPolicies(allPolicies, targets.filter((t) => t.type !== VPS_COMPONENT), packConfigFor(parseEdgeConfig(validEdgeRaw())));
    assert.deepEqual(withoutComponent.map((v) => v.message), [`an hcloud Server with no ${VPS_COMPONENT} exporting the ruleset it runs`]);
  });

  it("a disabled rule is not run, and a level from config overrides the rule's own", async () => {
    const run = await runEdge();
    const targets = targetsOf(run.resources);
    const advisory = await runPolicies(allPolicies, targets, { "edge-firewall-allowed-ports": { enforcementLevel: "advisory" } });
    assert.deepEqual(advisory.map((v) => v.level), ["advisory"]);
    assert.deepEqual(await runPolicies(allPolicies, targets, { "edge-firewall-allowed-ports": { enforcementLevel: "disabled" } }), []);
  });
});
