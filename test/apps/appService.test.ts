import { strict as assert } from "node:assert";
import { appNetworkPolicies, fqdnPolicy, NOT_INTERNET } from "../../components/apps/networkPolicies";
import { AppService } from "../../components/apps/appService";
import { routeEntrypoints } from "../../components/apps/route";
import { parseHomeConfig, ServiceConfig } from "../../components/config/schema";
import { manifestOf, validateManifest } from "../../tools/offline/manifests";
import { edgeRefusal, homeRefusal, validEdgeRaw, validHomeRaw } from "../support/fixtures";
import { resourceOf, resourcesOf, runEdge, runHome, runProgram } from "../support/offline";

const WIKI = { name: "wiki", hostname: "wiki.example.com", exposure: "public", port: 3000, image: "ghcr.io/example/wiki:2.5.1", healthPath: "/healthz", storage: [{ name: "data", mountPath: "/data", size: "5Gi" }], egress: ["internet", { fqdn: "api.example.net", ports: [443] }] };
const catalog = (extra: object[] = []) => JSON.stringify([...JSON.parse(validEdgeRaw().services), ...extra]);
const names = (run: Awaited<ReturnType<typeof runHome>>, namespace: string) =>
  run.resources.filter((r) => (r.inputs.metadata as { namespace?: string } | undefined)?.namespace === namespace).map((r) => `${r.type.split(":").pop()}/${(r.inputs.metadata as { name: string }).name}`).sort();

describe("apps from the catalog", function () {
  this.timeout(60000);

  it("adding an app adds its CNAME at the edge and its route, policies and workload at home; removing it removes them", async () => {
    const edgeWith = await runEdge({ services: catalog([WIKI]) });
    const homeWith = await runHome({ services: catalog([WIKI]) }, edgeWith);
    assert.ok(resourcesOf(edgeWith, "cloudflare:index/dnsRecord:DnsRecord").some((r) => r.inputs.name === "wiki.example.com" && r.inputs.type === "CNAME"));
    assert.deepEqual(names(homeWith, "wiki"), [
      "CiliumNetworkPolicy/wiki-fqdn-egress",
      "IngressRoute/wiki",
      "NetworkPolicy/allow-dns",
      "NetworkPolicy/allow-same-namespace",
      "NetworkPolicy/default-deny",
      "NetworkPolicy/wiki-egress",
      "NetworkPolicy/wiki-from-traefik",
      "PersistentVolumeClaim/wiki-data",
      "Service/wiki",
      "StatefulSet/wiki",
    ]);
    const probe = resourceOf(homeWith, "kubernetes:monitoring.coreos.com/v1:Probe", "monitoring-public-wiki").inputs as any;
    assert.deepEqual(probe.spec.targets.staticConfig.static, ["https://wiki.example.com/healthz"]);
    assert.equal(probe.metadata.namespace, "monitoring");
    const edgeWithout = await runEdge();
    const homeWithout = await runHome({}, edgeWithout);
    assert.ok(!resourcesOf(edgeWithout, "cloudflare:index/dnsRecord:DnsRecord").some((r) => r.inputs.name === "wiki.example.com"));
    assert.deepEqual(names(homeWithout, "wiki"), []);
    assert.deepEqual(resourcesOf(homeWithout, "kubernetes:monitoring.coreos.com/v1:Probe", "monitoring-public-wiki"), []);
  });

  it("binds public apps to the tunnel and LAN entrypoints, private ones to the LAN only, always with TLS", async () => {
    assert.deepEqual(routeEntrypoints("public"), ["websecure", "tunnelwebsecure"]);
    assert.deepEqual(routeEntrypoints("vpn"), ["websecure"]);
    assert.deepEqual(routeEntrypoints("lan"), ["websecure"]);
    const home = await runHome({ services: catalog([WIKI]) });
    const route = resourceOf(home, "kubernetes:traefik.io/v1alpha1:IngressRoute", "wiki-route").inputs.spec as any;
    assert.deepEqual(route.entryPoints, ["websecure", "tunnelwebsecure"]);
    assert.equal(route.routes[0].match, "Host(`wiki.example.com`)");
    assert.deepEqual(route.tls, {});
  });

  it("hardens the workload and keeps its claims when the app goes", async () => {
    const home = await runHome({ services: catalog([WIKI]) });
    const set = resourceOf(home, "kubernetes:apps/v1:StatefulSet", "wiki");
    const pod = (set.inputs.spec as any).template.spec;
    const [container] = pod.containers;
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
    assert.deepEqual(container.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, runAsNonRoot: true });
    assert.deepEqual(container.readinessProbe.httpGet, { path: "/healthz", port: 3000 });
    assert.ok(container.volumeMounts.some((m: any) => m.mountPath === "/tmp"), "an emptyDir for /tmp, the root being read-only");
    assert.equal(resourceOf(home, "kubernetes:core/v1:PersistentVolumeClaim", "wiki-data").options.retainOnDelete, true);
    for (const resource of home.resources.filter((r) => (r.inputs.metadata as any)?.namespace === "wiki")) {
      assert.deepEqual(await validateManifest(manifestOf(resource, "[secret]")!), [], resource.name);
    }
  });

  it("opens its own pods only as declared: Traefik to the port, metrics from monitoring, internet minus private space", () => {
    const service = { ...WIKI, metricsPort: 9100 } as ServiceConfig;
    const policies = appNetworkPolicies(service, { traefik: "traefik", monitoring: "monitoring", catalog: [service] });
    const byName = Object.fromEntries(policies.map((p) => [p.name, p.spec as any]));
    assert.deepEqual(Object.keys(byName).sort(), ["wiki-egress", "wiki-from-traefik", "wiki-metrics"]);
    for (const spec of Object.values(byName)) assert.deepEqual(spec.podSelector, { matchLabels: { "app.kubernetes.io/name": "wiki" } }, "apps in a group stay apart");
    assert.deepEqual(byName["wiki-from-traefik"].ingress[0].ports, [{ protocol: "TCP", port: 3000 }]);
    assert.deepEqual(byName["wiki-metrics"].ingress[0].ports, [{ protocol: "TCP", port: 9100 }]);
    assert.deepEqual(byName["wiki-egress"].egress[0].to[0].ipBlock, { cidr: "0.0.0.0/0", except: NOT_INTERNET });
    assert.ok(NOT_INTERNET.includes("192.168.0.0/16") && NOT_INTERNET.includes("100.64.0.0/10"));
    const fqdn = fqdnPolicy(service) as any;
    assert.deepEqual(fqdn.egress[1].toFQDNs, [{ matchName: "api.example.net" }]);
    assert.equal(fqdnPolicy({ ...service, egress: ["internet"] } as ServiceConfig), undefined, "Cilium only where FQDNs need it");
  });

  it("lets an app reach another catalog service, which admits exactly the caller's namespace", () => {
    const api = { name: "api", hostname: "api.example.com", exposure: "lan", port: 8080, image: "ghcr.io/example/api:1.0.0" } as ServiceConfig;
    const web = { ...WIKI, egress: [{ service: "api" }] } as ServiceConfig;
    const context = { traefik: "traefik", monitoring: "monitoring", catalog: [api, web] };
    const caller = Object.fromEntries(appNetworkPolicies(web, context).map((p) => [p.name, p.spec as any]));
    assert.deepEqual(caller["wiki-egress"].egress, [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "api" } } }], ports: [{ protocol: "TCP", port: 8080 }] }]);
    const callee = Object.fromEntries(appNetworkPolicies(api, context).map((p) => [p.name, p.spec as any]));
    assert.deepEqual(callee["api-from-clients"].ingress, [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "wiki" } } }], ports: [{ protocol: "TCP", port: 8080 }] }]);
    const grouped = { ...context, catalog: [{ ...api, group: "tools" }, { ...web, group: "tools" }] as ServiceConfig[] };
    assert.equal(appNetworkPolicies(grouped.catalog[0], grouped).find((p) => p.name === "api-from-clients"), undefined, "same namespace needs no opening");
  });

  it("groups apps into one namespace, made once, with each app's policies beside the shared default deny", async () => {
    const tools = [
      { ...WIKI, group: "tools" },
      { name: "pad", hostname: "pad.example.com", exposure: "lan", port: 9001, image: "ghcr.io/example/pad:2.0.1", group: "tools" },
    ];
    const home = await runHome({ services: catalog(tools) });
    assert.equal(resourcesOf(home, "kubernetes:core/v1:Namespace").filter((r) => (r.inputs.metadata as any).name === "tools").length, 1);
    const policies = names(home, "tools").filter((n) => n.startsWith("NetworkPolicy/"));
    assert.deepEqual(policies, ["NetworkPolicy/allow-dns", "NetworkPolicy/allow-same-namespace", "NetworkPolicy/default-deny", "NetworkPolicy/pad-from-traefik", "NetworkPolicy/wiki-egress", "NetworkPolicy/wiki-from-traefik"]);
    assert.deepEqual(names(home, "wiki"), []);
  });

  it("puts forward-auth in front of an app only when it asks", async () => {
    const forwardAuth = JSON.stringify({ address: "http://authelia.auth.svc.cluster.local:9091/api/authz/forward-auth", responseHeaders: ["Remote-User"] });
    const home = await runHome({ services: catalog([{ ...WIKI, forwardAuth: true }]), forwardAuth });
    const middleware = resourceOf(home, "kubernetes:traefik.io/v1alpha1:Middleware", "wiki-forward-auth").inputs as any;
    assert.deepEqual(middleware.spec.forwardAuth, { address: "http://authelia.auth.svc.cluster.local:9091/api/authz/forward-auth", trustForwardHeader: false, authResponseHeaders: ["Remote-User"] });
    const route = resourceOf(home, "kubernetes:traefik.io/v1alpha1:IngressRoute", "wiki-route").inputs as any;
    assert.deepEqual(route.spec.routes[0].middlewares, [{ name: "wiki-forward-auth", namespace: "wiki" }]);
    const jellyfin = resourceOf(home, "kubernetes:traefik.io/v1alpha1:IngressRoute", "jellyfin-route").inputs as any;
    assert.equal(jellyfin.spec.routes[0].middlewares, undefined);
    for (const resource of [middleware, route]) assert.deepEqual(await validateManifest({ apiVersion: "traefik.io/v1alpha1", kind: resource === route ? "IngressRoute" : "Middleware", ...resource }), []);
  });

  it("refuses an entry without an image to run as an app", async () => {
    await assert.rejects(
      runProgram(() => {
        const service = { name: "x", hostname: "x.example.com", exposure: "lan", port: 80 } as const;
        new AppService("x", { service, catalog: [service], namespace: { name: "x", resource: undefined! }, namespaces: { traefik: "traefik", monitoring: "monitoring" } });
        return { outputs: {}, artifacts: {} };
      }),
      /catalog entry "x" has no image/,
    );
  });

  describe("catalog validation (home keys)", () => {
    const refuseHome = homeRefusal;
    it("refuses a storage class the cluster does not offer, once the list is configured", () => {
      const services = catalog([{ ...WIKI, storage: [{ name: "data", mountPath: "/data", size: "5Gi", storageClass: "fast" }] }]);
      assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), services }), "no list, no check");
      assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), services, storageClasses: '["fast", "bulk"]' }));
      assert.match(refuseHome({ services, storageClasses: '["local-path"]' }), /homelab:services\[6\]\.storage\[0\]\.storageClass: "fast" is not a class the cluster offers; homelab:storageClasses lists local-path/);
      assert.match(refuseHome({ prometheusStorageClass: "fast", storageClasses: '["local-path"]' }), /homelab:prometheusStorageClass: "fast" is not a class/);
    });
    it("refuses forward-auth on an app while no forward-auth address is set", () => {
      assert.match(refuseHome({ services: catalog([{ ...WIKI, forwardAuth: true }]) }), /homelab:services\[6\]\.forwardAuth: "wiki" asks for forward-auth, but homelab:forwardAuth is not set/);
      assert.match(refuseHome({ forwardAuth: '{"address": "authelia:9091"}' }), /homelab:forwardAuth\.address: "authelia:9091" must be an http\(s\) URL/);
    });
  });

  describe("catalog validation", () => {
    const refuse = (entry: object) => edgeRefusal({ services: catalog([entry]) });
    it("refuses an image without a tag, or tagged latest", () => {
      assert.match(refuse({ ...WIKI, image: "ghcr.io/example/wiki" }), /homelab:services\[6\]\.image: "ghcr\.io\/example\/wiki" must be pinned/);
      assert.match(refuse({ ...WIKI, image: "ghcr.io/example/wiki:latest" }), /must be pinned: "repository:tag" \(not latest\)/);
    });
    it("refuses a metrics port that collides with the app's port", () => {
      assert.match(refuse({ ...WIKI, metricsPort: 3000 }), /homelab:services\[6\]\.metricsPort: 3000 collides with the app's port/);
    });
    it("refuses an entry with neither an image nor a component, or both", () => {
      assert.match(refuse({ ...WIKI, image: undefined }), /homelab:services\[6\]: "wiki" must set exactly one of image \(an app\) or component \(headscale, headplane, prometheus\)/);
      assert.match(refuse({ ...WIKI, component: "prometheus" }), /must set exactly one of image/);
    });
    it("refuses a second prometheus, a group the program owns, and egress to an unknown service", () => {
      assert.match(refuse({ ...WIKI, image: undefined, component: "prometheus" }), /homelab:services\[6\]\.component: "prometheus" is already services\[3\]; the catalog runs at most one/);
      assert.match(refuse({ ...WIKI, group: "monitoring" }), /homelab:services\[6\]\.group: "monitoring" would put the app in a namespace the program owns/);
      assert.match(refuse({ ...WIKI, egress: [{ service: "nope" }] }), /homelab:services\[6\]\.egress\[0\]\.service: "nope" is not in the catalog; known services are jellyfin, minecraft, grafana, prometheus, headscale, headplane, wiki/);
    });
    it("refuses a hostname outside the domain and a raw TCP port already forwarded", () => {
      assert.match(refuse({ ...WIKI, hostname: "wiki.example.org" }), /homelab:services\[6\]\.hostname: "wiki\.example\.org" is outside the domain example\.com/);
      assert.match(refuse({ ...WIKI, tcpPorts: [25565] }), /homelab:services\[6\]\.tcpPorts\[0\]: 25565 is already forwarded for services\[1\] \(minecraft\)/);
    });
    it("refuses a VPN sidecar without credentials", () => {
      assert.match(refuse({ ...WIKI, egress: undefined, vpn: { provider: "mullvad" } }), /homelab:services\[6\]\.vpn\.credentialsSecret: is required/);
    });
    it("refuses storage without a size unit", () => {
      assert.match(refuse({ ...WIKI, storage: [{ name: "data", mountPath: "/data", size: "5" }] }), /homelab:services\[6\]\.storage\[0\]\.size: 5 must be a size such as "10Gi"/);
    });
  });
});
