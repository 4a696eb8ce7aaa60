import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { appNamespace } from "../../components/config/catalog";
import { parseHomeConfig, RESERVED_NAMESPACES, ServiceConfig } from "../../components/config/schema";
import { monitoringClusterPolicies, monitoringPolicies } from "../../components/home/monitoring";
import { NODE_EXPORTER_NAMESPACE, PROBE_MODULES, PUBLIC_PROBE_ALERTS, PUBLIC_PROBE_JOBS, publicProbes, renderBlackboxValues, renderPrometheusStackValues } from "../../components/home/monitoringValues";
import { manifestOf, validateManifest } from "../../tools/offline/manifests";
import { validEdgeRaw, validHomeRaw } from "../support/fixtures";
import { resourceOf, resourcesOf, runHome } from "../support/offline";
import { requireRealTools, run } from "../support/realTools";
import { WEBHOOK_CA_INJECTED } from "../../components/home/webhooks";
import { ALERTMANAGER_SECRET, renderAlertmanagerValues } from "../../components/home/monitoringAlerts";

const fixtureCatalog = (): ServiceConfig[] => parseHomeConfig(validHomeRaw()).services;
const CR = (type: string) => `kubernetes:${type}`;

describe("monitoring", function () {
  this.timeout(60000);
  let home: Awaited<ReturnType<typeof runHome>>;
  before(async () => {
    home = await runHome();
  });

  it("has Prometheus pick up every monitor, probe and rule in the cluster, keep its data on a claim, and leave Grafana to the catalog", () => {
    const values = renderPrometheusStackValues({ port: 9090, retention: "30d", storageSize: "50Gi", storageClass: "bulk" }) as any;
    const spec = values.prometheus.prometheusSpec;
    for (const selector of ["serviceMonitor", "podMonitor", "probe", "rule"]) assert.equal(spec[`${selector}SelectorNilUsesHelmValues`], false, selector);
    assert.equal(spec.retention, "30d");
    assert.deepEqual(spec.storageSpec.volumeClaimTemplate.spec, { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "50Gi" } }, storageClassName: "bulk" });
    assert.equal(values.grafana.enabled, false);
    assert.equal(values["prometheus-node-exporter"].namespaceOverride, NODE_EXPORTER_NAMESPACE);
    assert.deepEqual(Object.keys(renderBlackboxValues().config as object), ["modules"]);
  });

  it("starts the operator without Helm hooks, and monitors nothing the cluster does not expose", () => {
    const values = renderPrometheusStackValues({ port: 9090, retention: "30d", storageSize: "50Gi" }) as any;
    // kube-prometheus-stack 88.5.3: the admission Secret comes from hook Jobs (admission-webhooks/job-patch/) unless
    // certManager.enabled, which makes it with Certificate objects (prometheus-operator/certmanager.yaml).
    const webhooks = values.prometheusOperator.admissionWebhooks;
    assert.deepEqual([webhooks.certManager, webhooks.patch], [{ enabled: true }, { enabled: false }]);
    // Without the patch Jobs the webhooks fail closed, so nothing may call them before cainjector has injected their CA.
    assert.deepEqual(webhooks.validatingWebhookConfiguration.annotations, WEBHOOK_CA_INJECTED);
    assert.deepEqual(webhooks.mutatingWebhookConfiguration.annotations, WEBHOOK_CA_INJECTED);
    // Each gates its Service, ServiceMonitor and absent() alert (rules-1.14/kubernetes-system-*.yaml, etcd.yaml).
    for (const monitor of ["kubeProxy", "kubeControllerManager", "kubeScheduler", "kubeEtcd"]) assert.deepEqual(values[monitor], { enabled: false }, monitor);
  });

  it("waits for cert-manager before the chart, which asks it for the operator's webhook certificate", () => {
    // The SDK expands a component in dependsOn to the resources under it.
    const monitoring = resourceOf(home, "homelab:home:Monitoring", "monitoring");
    assert.ok(monitoring.options.dependsOn.includes(resourceOf(home, CR("helm.sh/v4:Chart"), "cert-manager").urn));
  });

  it("alerts when a public probe fails for five minutes, as promtool runs the rule", function () {
    const rule = resourceOf(home, CR("monitoring.coreos.com/v1:PrometheusRule"), "monitoring-public-probes");
    assert.deepEqual((rule.inputs.spec as any).groups, [PUBLIC_PROBE_ALERTS]);
    requireRealTools(this, ["promtool"]);
    const dir = mkdtempSync(join(tmpdir(), "promtool-"));
    const rules = join(dir, "rules.yaml");
    writeFileSync(rules, stringify({ groups: [PUBLIC_PROBE_ALERTS] }));
    run("promtool", ["check", "rules", rules]);
    const [https, tcp] = [PUBLIC_PROBE_JOBS.https, PUBLIC_PROBE_JOBS.tcp];
    const jellyfin = `job="${https}", instance="https://jellyfin.example.com/", service="jellyfin"`;
    const tests = {
      rule_files: [rules],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            { series: `probe_success{${jellyfin}}`, values: "1 1 0 0 0 0 0 0 0 0" },
            { series: `probe_success{job="${tcp}", instance="mc.example.com:25565", service="minecraft"}`, values: "1x10" },
            { series: `probe_ssl_earliest_cert_expiry{${jellyfin}}`, values: "1e12x10" },
          ],
          alert_rule_test: [
            { eval_time: "5m", alertname: "PublicEndpointDown", exp_alerts: [] },
            {
              eval_time: "8m",
              alertname: "PublicEndpointDown",
              exp_alerts: [{ exp_labels: { severity: "critical", job: https, instance: "https://jellyfin.example.com/", service: "jellyfin" }, exp_annotations: { summary: "jellyfin does not answer at https://jellyfin.example.com/ from the internet's side", description: PUBLIC_PROBE_ALERTS.rules[0].annotations.description } }],
            },
            { eval_time: "8m", alertname: "PublicCertificateExpiresSoon", exp_alerts: [] },
          ],
        },
      ],
    };
    const testFile = join(dir, "tests.yaml");
    writeFileSync(testFile, stringify(tests));
    run("promtool", ["test", "rules", testFile]);
    writeFileSync(rules, stringify({ groups: [{ ...PUBLIC_PROBE_ALERTS, rules: [{ ...PUBLIC_PROBE_ALERTS.rules[0], expr: "probe_success{job=~" }] }] }));
    assert.throws(() => run("promtool", ["check", "rules", rules]), /parse error|could not parse/i, "the check is real");
  });

  it("probes every public hostname over HTTPS, and each raw TCP port, through the blackbox exporter", () => {
    const probes = publicProbes(fixtureCatalog(), "monitoring");
    assert.deepEqual(probes.map((p) => p.name), ["public-jellyfin", "public-minecraft", "public-minecraft-tcp", "public-headscale"], "vpn and lan names are not public");
    const [jellyfin, , minecraftTcp] = probes;
    assert.deepEqual(jellyfin.spec.targets!.staticConfig!.static, ["https://jellyfin.example.com/"]);
    assert.equal(jellyfin.spec.module, PROBE_MODULES.https);
    assert.equal(jellyfin.spec.prober!.url, "blackbox-exporter.monitoring.svc:9115");
    assert.deepEqual(minecraftTcp.spec.targets!.staticConfig!.static, ["mc.example.com:25565"]);
    const modules = (renderBlackboxValues() as any).config.modules;
    for (const probe of probes) assert.ok(modules[probe.spec.module!], `module ${probe.spec.module} is configured`);
  });

  it("admits Traefik and declared clients to Prometheus, and lets only the blackbox exporter out, to the probed ports", () => {
    const catalog = fixtureCatalog();
    const entry = catalog.find((s) => s.component === "prometheus")!;
    const byName = Object.fromEntries(monitoringPolicies({ entry, catalog, traefikNamespace: "traefik", alerting: { receivers: [] } }).map((p) => [p.name, p.spec as any]));
    assert.deepEqual(byName["default-deny"].policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(byName["prometheus-from-clients"].ingress[0].from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "grafana" } } }]);
    assert.deepEqual(byName["prometheus-from-traefik"].ingress[0].ports, [{ protocol: "TCP", port: 9090 }]);
    assert.deepEqual(byName["blackbox-to-internet"].egress[0].ports, [{ protocol: "TCP", port: 443 }, { protocol: "TCP", port: 25565 }]);
    const cilium = Object.fromEntries(monitoringClusterPolicies().map((p) => [p.name, p.spec]));
    // Labels as kube-prometheus-stack 88.5.3 renders the pods (prometheus/service.yaml's selector, the deployments').
    assert.deepEqual(cilium.cluster, { endpointSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } }, egress: [{ toEntities: ["cluster"] }] }, "only Prometheus scrapes the cluster");
    assert.deepEqual(cilium["operator-apiserver"].endpointSelector, { matchLabels: { app: "kube-prometheus-stack-operator" } });
    assert.deepEqual(cilium["kube-state-metrics-apiserver"].endpointSelector, { matchLabels: { "app.kubernetes.io/name": "kube-state-metrics" } });
    for (const name of ["operator-apiserver", "kube-state-metrics-apiserver"]) assert.deepEqual(cilium[name].egress, [{ toEntities: ["kube-apiserver"] }], name);
    assert.ok(Object.values(cilium).every((spec) => Object.keys(spec.endpointSelector!.matchLabels ?? {}).length > 0), "no policy selects every pod, Alertmanager's included");
    assert.equal(byName["alertmanager-to-receivers"], undefined, "no receivers, no way out for Alertmanager");
  });

  it("writes the receivers' secrets into a Secret Alertmanager mounts, and lets Alertmanager reach them, no secret in the chart's values", async () => {
    const hook = "https://hooks.example.net/alerts/s3cr3t-hook-path";
    const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ";
    const receivers = [{ name: "ops", type: "webhook" }, { name: "phone", type: "telegram", chatId: 42, severities: ["critical"] }];
    const alerting = await runHome({ alertReceivers: JSON.stringify(receivers), alertReceiverSecrets: JSON.stringify({ ops: hook, phone: token }) });
    const secret = resourceOf(alerting, CR("core/v1:Secret"), "monitoring-alert-receivers");
    assert.deepEqual([(secret.inputs.metadata as any).namespace, (secret.inputs.metadata as any).name], ["monitoring", ALERTMANAGER_SECRET]);
    assert.deepEqual(secret.inputs.stringData, { ops: hook, phone: token });
    assert.deepEqual(secret.secretInputs, ["stringData"]);
    const carriers = alerting.resources.filter((r) => Object.entries(r.inputs).some(([key, value]) => !r.secretInputs.includes(key) && /s3cr3t|AAHdq/.test(JSON.stringify(value))));
    assert.deepEqual(carriers.map((r) => r.name), [], "no other input carries a receiver's secret in plain text");
    const chart = resourceOf(alerting, CR("helm.sh/v4:Chart"), "monitoring");
    assert.ok(chart.options.dependsOn.includes(secret.urn), "Alertmanager starts with its Secret there to mount");
    const values = JSON.stringify(chart.inputs.values);
    assert.ok(!values.includes("s3cr3t") && !values.includes(token), "the values name files, not secrets");
    assert.deepEqual((chart.inputs.values as any).alertmanager, renderAlertmanagerValues(parseHomeConfig({ ...validHomeRaw(), alertReceivers: JSON.stringify(receivers), alertReceiverSecrets: JSON.stringify({ ops: hook, phone: token }) }).alerting.receivers, (chart.inputs.values as any).alertmanager.alertmanagerSpec.resources));
    const egress = resourceOf(alerting, CR("networking.k8s.io/v1:NetworkPolicy"), "monitoring-alertmanager-to-receivers").inputs.spec as any;
    assert.deepEqual(egress.podSelector.matchLabels, { "app.kubernetes.io/name": "alertmanager" });
    assert.deepEqual(egress.egress[0].ports, [{ protocol: "TCP", port: 443 }]);
    assert.deepEqual(await validateManifest(manifestOf(secret, "[secret]")!), []);
    assert.deepEqual(resourcesOf(home, CR("core/v1:Secret")).filter((r) => r.name === "monitoring-alert-receivers"), [], "none without receivers");
  });

  it("plans the stack in restricted monitoring and privileged node-exporter namespaces, every object schema-valid", async () => {
    const home = await runHome();
    const ns = (name: string) => resourceOf(home, CR("core/v1:Namespace"), name).inputs.metadata as any;
    assert.equal(ns("monitoring").labels["pod-security.kubernetes.io/enforce"], "restricted");
    assert.equal(resourceOf(home, CR("core/v1:Namespace"), "monitoring").options.retainOnDelete, true, "Prometheus's claim lives here: the namespace outlives the catalog entry");
    assert.equal(ns("monitoring-node-exporter").labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.match(ns("monitoring-node-exporter").annotations["homelab.dev/pod-security-waivers"], /^hostNetwork: .*; hostPID: .*; hostPath: .*; hostPorts: /);
    const route = resourceOf(home, CR("traefik.io/v1alpha1:IngressRoute"), "monitoring-route").inputs.spec as any;
    assert.deepEqual(route.entryPoints, ["websecure"], "Prometheus is vpn: LAN entrypoints only");
    assert.deepEqual(route.routes[0].services, [{ name: "kube-prometheus-stack-prometheus", port: 9090 }]);
    const monitoringObjects = home.resources.filter((r) => [ "monitoring", NODE_EXPORTER_NAMESPACE ].includes((r.inputs.metadata as any)?.namespace));
    assert.ok(monitoringObjects.length >= 10);
    for (const r of monitoringObjects) assert.deepEqual(await validateManifest(manifestOf(r, "[secret]")!), [], r.name);
    const broken = await validateManifest({ apiVersion: "monitoring.coreos.com/v1", kind: "Probe", metadata: { name: "x" }, spec: { targets: { staticConfig: { static: "https://x" } } } });
    assert.ok(broken.length > 0, "the Probe schema is really checked");
  });

  it("reserves every namespace the program itself creates, so no app or group can take one", async () => {
    const home = await runHome();
    const apps = new Set(fixtureCatalog().filter((s) => s.image).map(appNamespace));
    const own = resourcesOf(home, CR("core/v1:Namespace")).map((r) => (r.inputs.metadata as any).name).filter((name) => !apps.has(name));
    assert.ok(own.length >= 6);
    for (const name of own) assert.ok((RESERVED_NAMESPACES as readonly string[]).includes(name), name);
  });

  it("gives an app's metrics port a PodMonitor only while Prometheus runs", async () => {
    const withMetrics = (services: object[]) => JSON.stringify(services.map((s: any) => (s.name === "jellyfin" ? { ...s, metricsPort: 9101 } : s)));
    const catalog = JSON.parse(validEdgeRaw().services);
    const home = await runHome({ services: withMetrics(catalog) });
    const monitor = resourceOf(home, CR("monitoring.coreos.com/v1:PodMonitor"), "jellyfin-metrics");
    assert.deepEqual((monitor.inputs.spec as any).podMetricsEndpoints, [{ port: "metrics" }]);
    assert.deepEqual(await validateManifest(manifestOf(monitor, "[secret]")!), []);
    const without = await runHome({ services: withMetrics(catalog.filter((s: any) => s.component !== "prometheus").map((s: any) => ({ ...s, egress: undefined }))) });
    assert.deepEqual(resourcesOf(without, CR("monitoring.coreos.com/v1:PodMonitor")), []);
    assert.deepEqual(resourcesOf(without, CR("monitoring.coreos.com/v1:Probe")), []);
  });
});
