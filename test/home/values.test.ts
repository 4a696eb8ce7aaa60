import { strict as assert } from "node:assert";
import { renderCiliumValues } from "../../components/home/ciliumValues";
import { podSecurityLabels, WAIVER_ANNOTATION, waiverAnnotations } from "../../components/home/podSecurity";
import { ENTRYPOINTS, renderTraefikValues } from "../../components/home/traefikValues";

describe("Helm values and namespace labels", () => {
  it("Cilium: kube-proxy replacement and L2 announcements always on, talking to the configured API server", () => {
    const values = renderCiliumValues({ k8sServiceHost: "192.168.1.10", k8sServicePort: 6443, podCidr: "10.42.0.0/16", gatewayApi: false }) as Record<string, any>;
    assert.equal(values.kubeProxyReplacement, true);
    assert.equal(values.k8sServiceHost, "192.168.1.10");
    assert.equal(values.k8sServicePort, 6443);
    assert.deepEqual(values.l2announcements, { enabled: true });
    assert.deepEqual(values.ipam.operator.clusterPoolIPv4PodCIDRList, ["10.42.0.0/16"]);
    assert.equal(values.gatewayAPI.enabled, false);
  });

  describe("Traefik", () => {
    const values = renderTraefikValues({ address: "192.168.1.241", podCidr: "10.42.0.0/16", gatewayApi: true }) as Record<string, any>;

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
      assert.deepEqual(values.ports.web.redirections.entryPoint, { to: ":443", scheme: "https", permanent: true });
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
      assert.deepEqual(values.podSecurityContext.seccompProfile, { type: "RuntimeDefault" });
      assert.equal(values.providers.kubernetesGateway.enabled, true);
    });
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
