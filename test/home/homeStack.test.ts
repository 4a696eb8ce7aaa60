import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { readHomeOutputs } from "../../components/contract/home";
import { LB_POOL_NAME } from "../../components/home/cilium";
import { typedCustomResource } from "../../components/home/customResource";
import { gatewayRoutes } from "../../components/home/homeStack";
import { REFLECTOR_NAMESPACE } from "../../components/home/reflector";
import { TRAEFIK_NAMESPACE } from "../../components/home/traefik";
import { TUNNEL_NAMESPACE } from "../../components/home/tunnelGateway";
import { parseHomeConfig } from "../../components/config/schema";
import { OfflineRun, runOffline } from "../../tools/offline/engine";
import { manifestOf, validateManifest } from "../../tools/offline/manifests";
import { asStackReference } from "../../tools/offline/planStacks";
import { validHomeRaw } from "../support/fixtures";
import { kubernetesType as CR, resourceOf, runFixtureStacks, runHome, specOf as spec } from "../support/offline";


describe("home stack", function () {
  this.timeout(60000);
  let edge: OfflineRun;
  let home: OfflineRun;
  before(async () => {
    ({ edge, home } = await runFixtureStacks());
  });

  it("reads the edge contract through one StackReference named by config, and targets the configured context", () => {
    const refs = home.resources.filter((r) => r.type === "pulumi:pulumi:StackReference");
    assert.deepEqual(refs.map((r) => r.inputs.name), ["edge"], "a bare stack name resolves on Pulumi Cloud and the local backend alike");
    assert.equal(resourceOf(home, "pulumi:providers:kubernetes", "cluster").inputs.context, "homelab");
  });

  it("gives Cilium a LAN pool and an L2 policy, both after the chart", () => {
    const chart = resourceOf(home, CR("helm.sh/v4:Chart"), "cilium");
    assert.equal(chart.inputs.version, "1.20.0");
    const pool = resourceOf(home, CR("cilium.io/v2:CiliumLoadBalancerIPPool"), "cilium-lb-pool");
    assert.deepEqual((pool.inputs.spec as any).blocks, [{ cidr: "192.168.1.240/28" }]);
    assert.equal((pool.inputs.metadata as any).name, LB_POOL_NAME);
    assert.ok(pool.options.dependsOn.includes(chart.urn));
    const l2 = spec(home, CR("cilium.io/v2alpha1:CiliumL2AnnouncementPolicy"), "cilium-l2-policy");
    assert.deepEqual(l2.interfaces, ["^eth[0-9]+", "^en.+"]);
    assert.equal(l2.loadBalancerIPs, true);
  });

  it("has Cilium encrypt node-to-node traffic with WireGuard unless ciliumEncryption is off", async () => {
    const encryption = (run: OfflineRun) => (resourceOf(run, CR("helm.sh/v4:Chart"), "cilium").inputs.values as any).encryption;
    assert.deepEqual(encryption(home), { enabled: true, type: "wireguard" });
    assert.deepEqual(encryption(await runHome({ ciliumEncryption: "false" }, edge)), { enabled: false });
  });

  describe("tunnel gateway", () => {
    const deployment = () => spec(home, CR("apps/v1:Deployment"), "tunnel-gateway");

    it("runs one pod with the Recreate strategy", () => {
      assert.equal(deployment().replicas, 1);
      assert.deepEqual(deployment().strategy, { type: "Recreate" });
    });

    it("adds NET_ADMIN on the tunnel-setup container only; HAProxy runs non-root with nothing added", () => {
      const pod = deployment().template.spec;
      const [setup] = pod.initContainers;
      assert.deepEqual(setup.securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
      assert.match(setup.command.join(" "), /wg-quick up \/etc\/wireguard\/wg0\.conf$/);
      for (const container of pod.containers) {
        assert.equal(container.securityContext.capabilities.add, undefined);
        assert.equal(container.securityContext.runAsNonRoot, true);
        assert.ok(container.resources.limits && container.readinessProbe, container.name);
      }
      assert.deepEqual(pod.securityContext.sysctls, [{ name: "net.ipv4.ip_unprivileged_port_start", value: "80" }]);
      assert.equal(pod.automountServiceAccountToken, false);
    });

    it("labels its namespace privileged with restricted warnings, naming each waived rule and why", () => {
      const metadata = resourceOf(home, CR("core/v1:Namespace"), "tunnel-gateway").inputs.metadata as any;
      assert.equal(metadata.name, TUNNEL_NAMESPACE);
      assert.equal(metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
      assert.equal(metadata.labels["pod-security.kubernetes.io/warn"], "restricted");
      assert.match(metadata.annotations["homelab.dev/pod-security-waivers"], /^capabilities: .*NET_ADMIN.*; runAsNonRoot: /);
    });

    it("carries the edge's gateway config as a secret, and HAProxy's config from the edge's addresses", () => {
      const secret = resourceOf(home, CR("core/v1:Secret"), "tunnel-gateway-wireguard");
      assert.ok(secret.secretInputs.includes("stringData"));
      assert.equal((secret.inputs.stringData as any)["wg0.conf"], (edge.outputs.homePeerConfigs.value as any).gateway);
      assert.match(home.artifacts["haproxy.cfg"], /bind 10\.10\.10\.2:443\n {2}bind \[fd7a:10:10::2\]:443/);
    });

    it("may send UDP only to the VPS's WireGuard port, and TCP only to its routes' namespaces", () => {
      const egress = spec(home, CR("networking.k8s.io/v1:NetworkPolicy"), "tunnel-gateway-egress").egress;
      assert.deepEqual(egress[0], { to: [{ ipBlock: { cidr: `${edge.outputs.publicIpv4.value}/32` } }], ports: [{ protocol: "UDP", port: 51820 }] });
      const namespaces = egress.slice(2).map((rule: any) => rule.to[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"]);
      assert.deepEqual(namespaces, ["minecraft", TRAEFIK_NAMESPACE]);
    });
  });

  it("routes web ports to Traefik's tunnel entrypoints with PROXY v2, and raw TCP ports straight to their app", () => {
    const routes = gatewayRoutes(parseHomeConfig(validHomeRaw()), { host: "traefik-tunnel.traefik.svc.cluster.local", namespace: "traefik" });
    assert.deepEqual(
      routes.map((r) => `${r.port}->${r.host}:${r.targetPort}${r.sendProxy ? " proxy" : ""}`),
      ["80->traefik-tunnel.traefik.svc.cluster.local:8081 proxy", "443->traefik-tunnel.traefik.svc.cluster.local:8444 proxy", "25565->minecraft.minecraft.svc.cluster.local:25565"],
    );
  });

  it("admits only the gateway's namespace to Traefik's tunnel entrypoints", () => {
    const ingress = spec(home, CR("networking.k8s.io/v1:NetworkPolicy"), "traefik-entrypoints").ingress;
    assert.equal(ingress[0].from, undefined);
    assert.deepEqual(ingress[1].from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": TUNNEL_NAMESPACE } } }]);
    assert.deepEqual(ingress[1].ports.map((p: any) => p.port), [8081, 8444]);
  });

  it("every Kubernetes object it registers passes its OpenAPI schema", async () => {
    const manifests = home.resources.map((r) => manifestOf(r, "[secret]")).filter((m) => m !== undefined);
    assert.ok(manifests.length >= 15);
    for (const manifest of manifests) assert.deepEqual(await validateManifest(manifest!), [], `${manifest!.kind} ${manifest!.metadata?.name}`);
    assert.ok(manifests.some((m) => m!.metadata?.namespace === REFLECTOR_NAMESPACE) === false, "Reflector's objects come from its chart");
  });

  it("the schema check is real: a bad object fails it", async () => {
    const problems = await validateManifest({ apiVersion: "cert-manager.io/v1", kind: "Certificate", metadata: { name: "x" }, spec: { secretName: "s", issuerRef: { name: "i" }, dnsNames: "one.example.com" } });
    assert.match(problems.join(), /dnsNames must be array/);
    assert.deepEqual(await validateManifest({ apiVersion: "example.com/v1", kind: "Widget" }), ["no schema known for example.com/v1 Widget"]);
  });

  it("exports its typed contract, the CA certificate in plain PEM", async () => {
    assert.equal(home.outputs.gatewayLbIp.value, "192.168.1.241");
    assert.deepEqual(home.outputs.serviceUrls.value, { jellyfin: "https://jellyfin.example.com", minecraft: "https://mc.example.com", grafana: "https://grafana.example.com", prometheus: "https://prometheus.example.com", headscale: "https://headscale.example.com", headplane: "https://headplane.example.com" });
    assert.match(String(home.outputs.caCertificatePem.value), /^-----BEGIN CERTIFICATE-----\n/);
    assert.equal(home.outputs.caCertificatePem.secret, false);
    const consumer = await runOffline({
      stack: "consumer",
      config: {},
      stackReferences: { "org/homelab/home": asStackReference(home) },
      program: () => ({ outputs: { ...readHomeOutputs(new pulumi.StackReference("home", { name: "org/homelab/home" })) }, artifacts: {} }),
    });
    assert.equal(consumer.outputs.gatewayLbIp.value, "192.168.1.241");
  });

  it("fails with a clear error when the edge stack lacks an output it needs", async () => {
    const { acmeDnsToken, ...outputs } = asStackReference(edge).outputs;
    void acmeDnsToken;
    const lacking = { ...edge, outputs: Object.fromEntries(Object.entries(edge.outputs).filter(([k]) => k in outputs)) };
    await assert.rejects(runHome({}, lacking), /stack "edge" has no output "acmeDnsToken"/);
  });

  it("types custom objects: the helper passes the body through unchanged", async () => {
    const run = await runOffline({
      stack: "typed",
      config: {},
      program: () => {
        typedCustomResource<{ apiVersion: "example.com/v1"; kind: "Widget"; spec: { size: number } }>("w", { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, spec: { size: 3 } }, {});
        return { outputs: {}, artifacts: {} };
      },
    });
    assert.deepEqual(resourceOf(run, "kubernetes:example.com/v1:Widget", "w").inputs.spec, { size: 3 });
  });
});
