import { strict as assert } from "node:assert";
import { renderCiliumValues } from "../../components/home/ciliumValues";
import { podSecurityLabels, WAIVER_ANNOTATION, waiverAnnotations } from "../../components/home/podSecurity";
import { TUNNEL_FED_ENTRYPOINTS } from "../../components/contract/policyNames";
import { ENTRYPOINTS, renderTraefikValues } from "../../components/home/traefikValues";
import { chartEntrypointArgs, chartMajor, TraefikPorts, traefikDefaultEntrypoints, TRAEFIK_CHART_PORTS, TRAEFIK_CHART_VERSION } from "../policy/charts/traefikChart";

const ciliumValues = (encryption: boolean) =>
  renderCiliumValues({ k8sServiceHost: "192.168.1.10", k8sServicePort: 6443, podCidr: "10.42.0.0/16", gatewayApi: false, encryption }) as Record<string, any>;

describe("Helm values and namespace labels", () => {
  it("Cilium: kube-proxy replacement and L2 announcements always on, talking to the configured API server", () => {
    const values = ciliumValues(true);
    assert.equal(values.kubeProxyReplacement, true);
    assert.equal(values.k8sServiceHost, "192.168.1.10");
    assert.equal(values.k8sServicePort, 6443);
    assert.deepEqual(values.l2announcements, { enabled: true });
    assert.deepEqual(values.ipam.operator.clusterPoolIPv4PodCIDRList, ["10.42.0.0/16"]);
    assert.equal(values.gatewayAPI.enabled, false);
  });

  it("Cilium: node-to-node traffic in WireGuard when encryption is on, and no encryption block that turns it on when off", () => {
    assert.deepEqual(ciliumValues(true).encryption, { enabled: true, type: "wireguard" });
    assert.deepEqual(ciliumValues(false).encryption, { enabled: false });
  });

  it("Cilium: requests, a CPU request and a memory limit under each key the 1.20.0 chart's containers read", () => {
    const values = ciliumValues(true);
    // cilium-agent/daemonset.yaml: install-cni-binaries, the other init containers, the agent; cilium-envoy/daemonset.yaml; the operator.
    for (const [key, resources] of Object.entries({ cni: values.cni.resources, init: values.initResources, agent: values.resources, envoy: values.envoy.resources, operator: values.operator.resources })) {
      assert.ok(resources?.requests?.cpu && resources.requests.memory && resources.limits?.memory, key);
    }
  });

  // The pinned chart (39 and later read redirections and tls under `http`), and 37.1.1, the layout before that move,
  // which the config still takes.
  for (const version of [TRAEFIK_CHART_VERSION, "37.1.1"]) describe(`Traefik, chart ${version}`, () => {
    const values = renderTraefikValues({ version, address: "192.168.1.241", podCidr: "10.42.0.0/16", gatewayApi: true }) as Record<string, any>;
    const args = (ports: TraefikPorts) => chartEntrypointArgs(ports, chartMajor(version));

    it("takes a fixed pool address on a LoadBalancer with externalTrafficPolicy Cluster", () => {
      assert.equal(values.service.type, "LoadBalancer");
      assert.equal(values.service.annotations["lbipam.cilium.io/ips"], "192.168.1.241");
      assert.equal(values.service.spec.externalTrafficPolicy, "Cluster");
    });

    it("keeps the LAN entrypoints on the LB Service without PROXY trust", () => {
      for (const name of ["web", "websecure"]) {
        assert.deepEqual(values.ports[name].expose, { default: true });
        assert.equal(values.ports[name].proxyProtocol, undefined, `${name} must not trust PROXY headers`);
      }
    });

    it("redirects both plain entrypoints to https on 443 by naming an entrypoint, as the chart requires since v34", () => {
      const rendered = args(values.ports);
      for (const name of ["web", "tunnelweb"]) {
        assert.ok(rendered.includes(`--entryPoints.${name}.http.redirections.entryPoint.to=:443`), `${name}: ${rendered.join(" ")}`);
        assert.ok(rendered.includes(`--entryPoints.${name}.http.redirections.entryPoint.scheme=https`));
      }
      // The chart's own check (tests/deployment-config_test.yaml): a port in place of a name fails the render (both
      // plain entrypoints share one redirect object, so the clone changes both).
      const byPort = structuredClone(values.ports);
      (byPort.web.http ?? byPort.web).redirections.entryPoint.to = ":443";
      assert.throws(() => args(byPort), /Cannot redirect (tunnel)?web to :443: entryPoint not found/);
    });

    it("makes only the LAN pair the default for routes that name no entrypoint, and serves no Ingress", () => {
      const withChartPorts: TraefikPorts = { ...TRAEFIK_CHART_PORTS, ...values.ports };
      assert.deepEqual(traefikDefaultEntrypoints(withChartPorts), ["web", "websecure"]);
      for (const name of TUNNEL_FED_ENTRYPOINTS) assert.ok(!traefikDefaultEntrypoints(withChartPorts).includes(name));
      assert.ok(args(values.ports).includes("--entryPoints.websecure.asDefault=true"));
      // Without a flag every entrypoint is a default, the tunnel ones included: what the chart's defaults give.
      const unflagged = Object.fromEntries(Object.entries(withChartPorts).map(([n, p]) => [n, { ...p, asDefault: undefined }]));
      assert.deepEqual(traefikDefaultEntrypoints(unflagged), ["metrics", "tunnelweb", "tunnelwebsecure", "web", "websecure"]);
      assert.equal(values.providers.kubernetesIngress.enabled, false);
      assert.equal(values.ingressClass.enabled, false);
    });

    it("puts the tunnel entrypoints only on the additional ClusterIP Service, trusting PROXY from the pod network", () => {
      assert.deepEqual(values.service.additionalServices, { tunnel: { type: "ClusterIP" } });
      for (const name of ["tunnelweb", "tunnelwebsecure"] as const) {
        assert.deepEqual(values.ports[name].expose, { default: false, tunnel: true });
        assert.deepEqual(values.ports[name].proxyProtocol.trustedIPs, ["10.42.0.0/16"]);
        assert.equal(values.ports[name].port, ENTRYPOINTS[name].port);
      }
    });

    it("serves the wildcard certificate by default and runs under the restricted profile", () => {
      assert.deepEqual(values.tlsStore, { default: { defaultCertificate: { secretName: "wildcard-tls" } } });
      const withInternal = renderTraefikValues({ version, address: "192.168.1.241", podCidr: "10.42.0.0/16", gatewayApi: true, internalCertificate: true }) as Record<string, any>;
      assert.deepEqual(withInternal.tlsStore.default.certificates, [{ secretName: "internal-tls" }]);
      assert.deepEqual(values.podSecurityContext.seccompProfile, { type: "RuntimeDefault" });
      assert.equal(values.providers.kubernetesGateway.enabled, true);
    });
  });

  it("Traefik: refuses a chart older than 34, whose redirections the values cannot express", () => {
    assert.throws(() => renderTraefikValues({ version: "33.2.1", address: "192.168.1.241", podCidr: "10.42.0.0/16", gatewayApi: false }), /homelab:traefikVersion "33\.2\.1": .*chart 34 or later/);
  });

  it("labels namespaces for Pod Security admission, warning and auditing against restricted", () => {
    assert.deepEqual(podSecurityLabels("privileged"), {
      "pod-security.kubernetes.io/enforce": "privileged",
      "pod-security.kubernetes.io/enforce-version": "latest",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
    });
    assert.deepEqual(waiverAnnotations([{ rule: "capabilities", reason: "NET_ADMIN for wg0" }]), { [WAIVER_ANNOTATION]: "capabilities: NET_ADMIN for wg0" });
    assert.deepEqual(waiverAnnotations([]), {});
  });
});
