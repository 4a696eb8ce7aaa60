import { strict as assert } from "node:assert";
import { DEFAULT_ENDPOINT_PORTS, gluetunSidecar } from "../../components/apps/gluetun";
import { parseHomeConfig } from "../../components/config/schema";
import { allPolicies } from "../../policy/policies";
import { manifestOf, validateManifest } from "../../tools/offline/manifests";
import { runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { edgeRefusal, validEdgeRaw, validHomeRaw } from "../support/fixtures";
import { resourceOf, runHome } from "../support/offline";

const TORRENT = {
  name: "torrent",
  hostname: "torrent.example.com",
  exposure: "vpn",
  port: 8080,
  image: "docker.io/qbittorrentofficial/qbittorrent-nox:5.1.2-1",
  vpn: { provider: "mullvad", type: "wireguard", region: "Sweden", credentialsSecret: "torrent-vpn" },
};
/** The Gluetun release whose source the citations below were read at; the default image must be that release. */
const GLUETUN_READ = "v3.41.1";
/**
 * Every key the sidecar may set, as Gluetun v3.41.1 reads them in internal/configuration/settings/: provider.go, vpn.go,
 * serverselection.go, wireguard.go, openvpn.go, firewall.go, dns.go, portforward.go and health.go. A key outside
 * these is ignored without a word, so a setting that relies on it silently does nothing.
 */
const GLUETUN_KEYS = new Set([
  "VPN_SERVICE_PROVIDER", "VPN_TYPE", "SERVER_REGIONS", "WIREGUARD_IMPLEMENTATION", "WIREGUARD_PRIVATE_KEY", "WIREGUARD_ADDRESSES",
  "OPENVPN_USER", "OPENVPN_PASSWORD", "FIREWALL_INPUT_PORTS", "FIREWALL_OUTBOUND_SUBNETS", "DNS_KEEP_NAMESERVER", "VPN_PORT_FORWARDING",
  "HEALTH_SERVER_ADDRESS",
]);
const catalog = (entry: object) => JSON.stringify([...JSON.parse(validEdgeRaw().services), entry]);
const env = (container: { env?: unknown }) => Object.fromEntries(((container.env ?? []) as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [e.name, e.value ?? e.valueFrom]));

describe("VPN sidecar (Gluetun)", function () {
  this.timeout(60000);

  it("puts NET_ADMIN on the sidecar only, runs kernel WireGuard with the kill switch, lets only the pod network past it, and keeps Traefik working", async () => {
    const home = await runHome({ services: catalog(TORRENT) });
    const pod = (resourceOf(home, "kubernetes:apps/v1:Deployment", "torrent").inputs.spec as any).template.spec;
    const [gluetun, app] = pod.containers;
    assert.equal(gluetun.name, "gluetun");
    assert.deepEqual(gluetun.securityContext.capabilities, { drop: ["ALL"], add: ["NET_ADMIN"] });
    assert.deepEqual(app.securityContext.capabilities, { drop: ["ALL"] });
    const vars = env(gluetun);
    assert.equal(vars.WIREGUARD_IMPLEMENTATION, "kernel");
    // v3.41.1 settings/firewall.go: the kill switch defaults to on, and only this key turns it off.
    assert.equal(vars.FIREWALL_ENABLED_DISABLING_IT_SHOOTS_YOU_IN_YOUR_FOOT, undefined);
    assert.equal(vars.FIREWALL_INPUT_PORTS, "8080", "Traefik still reaches the app's port");
    assert.equal(vars.FIREWALL_OUTBOUND_SUBNETS, "10.42.0.0/16", "the pod network only: no Service, cluster DNS least of all");
    assert.deepEqual(vars.WIREGUARD_PRIVATE_KEY, { secretKeyRef: { name: "torrent-vpn", key: "wireguard_private_key" } });
    assert.ok(!pod.volumes.some((v: any) => v.hostPath), "kernel WireGuard needs no /dev/net/tun");
    assert.deepEqual([pod.dnsPolicy, pod.dnsConfig], ["None", { nameservers: ["127.0.0.1"] }], "the app asks Gluetun's resolver, never cluster DNS");
  });

  it("lets the pod reach only the VPN endpoints' ports, and labels its namespace privileged with the waivers named", async () => {
    const home = await runHome({ services: catalog(TORRENT) });
    const egress = (resourceOf(home, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "torrent-vpn-endpoints").inputs.spec as any).egress;
    assert.deepEqual(egress[0].ports, [{ protocol: "UDP", port: 51820 }, { protocol: "TCP", port: 51820 }]);
    const ns = resourceOf(home, "kubernetes:core/v1:Namespace", "namespace-torrent").inputs.metadata as any;
    assert.equal(ns.labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.match(ns.annotations["homelab.dev/pod-security-waivers"], /^capabilities: .*NET_ADMIN.*; runAsNonRoot: /);
    const violations = await runPolicies(allPolicies, targetsOf(home.resources));
    assert.deepEqual(violations.filter((v) => v.level === "mandatory"), [], "the pack passes through the workload's named exemptions");
    for (const r of home.resources.filter((r) => (r.inputs.metadata as any)?.namespace === "torrent")) assert.deepEqual(await validateManifest(manifestOf(r, "[secret]")!), [], r.name);
  });

  it("sends DNS through the tunnel: Gluetun's own resolver, not the cluster's, for every container of the pod", () => {
    const sidecar = gluetunSidecar({ vpn: TORRENT.vpn as any, image: "x:1", appPort: 8080, clusterCidrs: ["10.42.0.0/16"] });
    // gluetun v3.41.1 internal/configuration/settings/dns.go: "on" keeps resolv.conf's server and turns Gluetun's DNS
    // forwarder off; DNS_ADDRESS defaults to 127.0.0.1, the address the pod's resolv.conf names.
    assert.equal(env(sidecar.container).DNS_KEEP_NAMESERVER, "off");
    assert.deepEqual(sidecar.dns, { dnsPolicy: "None", dnsConfig: { nameservers: ["127.0.0.1"] } }, "kubelet's cluster resolver leaves the app's resolv.conf");
  });

  it(`sets only keys Gluetun ${GLUETUN_READ} reads, and the default image is that release`, () => {
    assert.ok(parseHomeConfig(validHomeRaw()).gluetunImage.endsWith(`:${GLUETUN_READ}`), "the citations here were read at the pinned release");
    for (const vpn of [TORRENT.vpn, { provider: "protonvpn", type: "openvpn", region: "Netherlands", credentialsSecret: "s", portForwarding: true }]) {
      const names = Object.keys(env(gluetunSidecar({ vpn: vpn as any, image: "x:1", appPort: 8080, clusterCidrs: ["10.42.0.0/16"] }).container));
      assert.deepEqual(names.filter((n) => !GLUETUN_KEYS.has(n)), [], `${vpn.type}: keys Gluetun ignores`);
    }
  });

  it("OpenVPN mounts /dev/net/tun as an explicit, named exemption", () => {
    const sidecar = gluetunSidecar({ vpn: { provider: "protonvpn", type: "openvpn", credentialsSecret: "s", portForwarding: true }, image: "x:1", appPort: 8080, clusterCidrs: ["10.42.0.0/16"] });
    assert.deepEqual(sidecar.volumes.find((v) => v.name === "tun"), { name: "tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } });
    assert.ok(sidecar.waivers.some((w) => w.rule === "hostPath" && /tun/.test(w.reason)));
    assert.deepEqual(sidecar.endpointPorts, DEFAULT_ENDPOINT_PORTS.openvpn);
    assert.equal(env(sidecar.container).VPN_PORT_FORWARDING, "on");
  });

  it("refuses a VPN without credentials, and an app that declares egress besides its VPN", () => {
    const refuse = (entry: object) => edgeRefusal({ services: catalog(entry) });
    assert.match(refuse({ ...TORRENT, vpn: { provider: "mullvad" } }), /homelab:services\[6\]\.vpn\.credentialsSecret: is required: a VPN sidecar without credentials/);
    assert.match(refuse({ ...TORRENT, egress: ["internet"] }), /homelab:services\[6\]\.egress: "torrent" sends everything through its VPN/);
  });
});
