import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseHomeConfig } from "../../../components/config/schema";
import { validHomeRaw } from "../../support/fixtures";
import { monitoring, MONITORING_CHART_VERSIONS, nodeExporter } from "./renders";

describe("the monitoring charts' stand-ins", () => {
  it("mirror the chart versions the config defaults to", () => {
    const { kubePrometheusStackVersion, blackboxExporterVersion, ...unpinned } = validHomeRaw() as Record<string, unknown>;
    assert.deepEqual(parseHomeConfig(unpinned).monitoringCharts, MONITORING_CHART_VERSIONS, `${kubePrometheusStackVersion} ${blackboxExporterVersion}`);
  });

  it("have the tool script build the amtool of the Alertmanager the chart runs, so the config check is the cluster's", () => {
    // kube-prometheus-stack 88.5.3 values.yaml, alertmanager.alertmanagerSpec.image.tag: revisit on every chart bump.
    const chartAlertmanager = { "88.5.3": "v0.34.0" }[MONITORING_CHART_VERSIONS.kubePrometheusStack];
    const script = readFileSync(join(__dirname, "../../../scripts/install-system-tools"), "utf8");
    assert.equal(/^ALERTMANAGER_VERSION=(\S+)$/m.exec(script)?.[1], chartAlertmanager ?? "the chart's Alertmanager tag, not yet recorded here");
    assert.match(script, /\[amtool\]="github\.com\/prometheus\/alertmanager\/cmd\/amtool@\$ALERTMANAGER_VERSION"/);
  });

  it("carry the chart's Certificate for the operator's TLS Secret, which the operator mounts", () => {
    const operator = monitoring.find((r) => r.name === "kube-prometheus-stack-operator")!;
    const mounted = (operator.props as any).spec.template.spec.volumes.map((v: any) => v.secret?.secretName);
    const issued = monitoring.filter((r) => r.type === "kubernetes:cert-manager.io/v1:Certificate").map((r) => (r.props as any).spec.secretName);
    assert.deepEqual(mounted, ["kube-prometheus-stack-admission"]);
    assert.ok(issued.includes("kube-prometheus-stack-admission"));
  });

  it("give node-exporter's template no hostPort, as the 4.56.1 chart renders it", () => {
    const pod = (nodeExporter.props as any).spec.template.spec;
    assert.equal(pod.hostNetwork, true);
    assert.deepEqual(pod.containers[0].ports, [{ name: "http-metrics", containerPort: 9100, protocol: "TCP" }]);
  });
});
