import { strict as assert } from "node:assert";
import { parseHomeConfig } from "../../components/config/schema";
import { allPolicies } from "../../policy/policies";
import { packConfigFor } from "../../tools/offline/packConfig";
import { runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { runHome } from "../support/offline";
import { validHomeRaw } from "../support/fixtures";
import { NODE_EXPORTER_NAMESPACE } from "../../components/home/monitoringValues";
import { proxyProtocolSources } from "../../policy/proxyProtocol";
import { chartRenders, ciliumAgent, nodeExporter, traefikDeployment, traefikServices } from "./charts/renders";
import { TRAEFIK_CHART_VERSION } from "./charts/traefikChart";
import { loadStackConfig } from "../../tools/offline/stackConfig";

describe("the pack over what the charts render", () => {
  const config = parseHomeConfig(validHomeRaw());

  it("passes every mandatory rule, through the namespace exemptions and this program's values", async () => {
    // The charts' objects beside the stack's own, as a real preview sees them: the namespaces' policies come from the stack.
    const stack = targetsOf((await runHome()).resources);
    const violations = await runPolicies(allPolicies, [...stack, ...chartRenders], packConfigFor(config, config));
    assert.deepEqual(violations.filter((v) => v.level === "mandatory"), []);
  });

  it("reports each exemption it applied, with its reason", async () => {
    const advisory = (await runPolicies(allPolicies, chartRenders, packConfigFor(config, config))).filter((v) => v.policy === "k8s-exemptions").map((v) => v.message);
    assert.ok(advisory.some((m) => m.startsWith("DaemonSet kube-system/cilium is exempt from k8s-host-namespaces, k8s-privileged, k8s-capabilities, k8s-host-path")));
    assert.ok(advisory.some((m) => m.startsWith("Deployment cert-manager/cert-manager-cainjector is exempt from k8s-probes: namespace cert-manager:")));
    assert.ok(advisory.some((m) => /Deployment traefik\/traefik is exempt from k8s-service-account-token: namespace traefik: /.test(m)));
  });

  it("would fail node-exporter anywhere but its own namespace, which the monitoring namespace is not", async () => {
    assert.equal((nodeExporter.props.metadata as { namespace: string }).namespace, NODE_EXPORTER_NAMESPACE);
    const moved = { ...nodeExporter, props: { ...nodeExporter.props, metadata: { name: "node-exporter", namespace: "monitoring" } } };
    const failed = new Set((await runPolicies(allPolicies, [moved])).filter((v) => v.level === "mandatory").map((v) => v.policy));
    // No k8s-host-ports: the chart's template names no hostPort, and the API server adds one to the Pods only.
    for (const rule of ["k8s-host-namespaces", "k8s-host-path", "k8s-volume-types"]) assert.ok(failed.has(rule), rule);
  });

  it("would fail the Cilium agent anywhere but kube-system: the exemption is what lets it pass", async () => {
    const moved = { ...ciliumAgent, props: { ...ciliumAgent.props, metadata: { name: "cilium", namespace: "networking" } } };
    const failed = new Set((await runPolicies(allPolicies, [moved])).filter((v) => v.level === "mandatory").map((v) => v.policy));
    for (const rule of ["k8s-host-namespaces", "k8s-capabilities", "k8s-host-path", "k8s-apparmor-selinux", "k8s-run-as-non-root"]) assert.ok(failed.has(rule), rule);
  });

  it("mirrors the Traefik chart at the version Pulumi.home.yaml pins", () => {
    assert.equal(loadStackConfig("home", process.cwd()).config["homelab:traefikVersion"], TRAEFIK_CHART_VERSION);
  });

  it("finds Traefik's PROXY trust in the rendered Deployment's arguments, as a real preview shows it, without the Chart's values", async () => {
    const stackWithoutChart = targetsOf((await runHome()).resources).filter((t) => t.type !== "kubernetes:helm.sh/v4:Chart");
    assert.deepEqual(await runPolicies([proxyProtocolSources], [...stackWithoutChart, traefikDeployment]), []);
    assert.deepEqual(
      (await runPolicies([proxyProtocolSources], [traefikDeployment])).map((v) => v.message),
      ["tunnelweb (traefik, port 8081)", "tunnelwebsecure (traefik, port 8444)"].map((e) => `Traefik entrypoint ${e} trusts PROXY headers, but no NetworkPolicy in traefik restricts who reaches it`),
    );
  });

  it("holds Traefik's LoadBalancer to the configured pool", async () => {
    const outside = { ...traefikServices[0], props: { ...traefikServices[0].props, metadata: { name: "traefik", namespace: "traefik", annotations: { "lbipam.cilium.io/ips": "192.168.1.20" } } } };
    const violations = await runPolicies(allPolicies, [outside], packConfigFor(config, config));
    assert.deepEqual(violations.map((v) => v.message), ["asks for 192.168.1.20, outside the pool 192.168.1.240/28"]);
  });
});
