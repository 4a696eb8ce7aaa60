import { strict as assert } from "node:assert";
import { appNetworkPolicies, fqdnPolicy, NOT_INTERNET } from "../../components/apps/networkPolicies";
import { AppService, routeEntrypoints } from "../../components/apps/appService";
import { ConfigError, parseEdgeConfig, ServiceConfig } from "../../components/config/schema";
import { manifestOf, validateManifest } from "../../tools/offline/manifests";
import { validEdgeRaw } from "../support/fixtures";
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
      "CiliumNetworkPolicy/fqdn-egress",
      "IngressRoute/wiki",
      "NetworkPolicy/allow-declared-egress",
      "NetworkPolicy/allow-dns",
      "NetworkPolicy/allow-from-traefik",
      "NetworkPolicy/allow-same-namespace",
      "NetworkPolicy/default-deny",
      "PersistentVolumeClaim/wiki-data",
      "Service/wiki",
      "StatefulSet/wiki",
    ]);
    const edgeWithout = await runEdge();
    const homeWithout = await runHome({}, edgeWithout);
    assert.ok(!resourcesOf(edgeWithout, "cloudflare:index/dnsRecord:DnsRecord").some((r) => r.inputs.name === "wiki.example.com"));
    assert.deepEqual(names(homeWithout, "wiki"), []);
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

  it("opens default-deny only as declared: Traefik to the port, DNS, metrics from monitoring, and internet minus private space", () => {
    const service = { ...WIKI, metricsPort: 9100 } as ServiceConfig;
    const policies = appNetworkPolicies(service, { traefik: "traefik", monitoring: "monitoring" });
    assert.deepEqual(policies[0], { name: "default-deny", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } });
    const byName = Object.fromEntries(policies.map((p) => [p.name, p.spec as any]));
    assert.deepEqual(byName["allow-from-traefik"].ingress[0].ports, [{ protocol: "TCP", port: 3000 }]);
    assert.deepEqual(byName["allow-metrics"].ingress[0].ports, [{ protocol: "TCP", port: 9100 }]);
    assert.deepEqual(byName["allow-declared-egress"].egress[0].to[0].ipBlock, { cidr: "0.0.0.0/0", except: NOT_INTERNET });
    assert.ok(NOT_INTERNET.includes("192.168.0.0/16") && NOT_INTERNET.includes("100.64.0.0/10"));
    const fqdn = fqdnPolicy(service) as any;
    assert.deepEqual(fqdn.egress[1].toFQDNs, [{ matchName: "api.example.net" }]);
    assert.equal(fqdnPolicy({ ...service, egress: ["internet"] } as ServiceConfig), undefined, "Cilium only where FQDNs need it");
  });

  it("refuses an entry without an image to run as an app", async () => {
    await assert.rejects(
      runProgram(() => {
        new AppService("x", { service: { name: "x", hostname: "x.example.com", exposure: "lan", port: 80 }, namespaces: { traefik: "traefik", monitoring: "monitoring" } });
        return { outputs: {}, artifacts: {} };
      }),
      /catalog entry "x" has no image/,
    );
  });

  describe("catalog validation", () => {
    const refuse = (entry: object) => {
      try {
        parseEdgeConfig({ ...validEdgeRaw(), services: catalog([entry]) });
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.message;
      }
      assert.fail("accepted");
    };
    it("refuses an image without a tag, or tagged latest", () => {
      assert.match(refuse({ ...WIKI, image: "ghcr.io/example/wiki" }), /homelab:services\[3\]\.image: "ghcr\.io\/example\/wiki" must be pinned/);
      assert.match(refuse({ ...WIKI, image: "ghcr.io/example/wiki:latest" }), /must be pinned: "repository:tag" \(not latest\)/);
    });
    it("refuses a metrics port that collides with the app's port", () => {
      assert.match(refuse({ ...WIKI, metricsPort: 3000 }), /homelab:services\[3\]\.metricsPort: 3000 collides with the app's port/);
    });
    it("refuses storage without a size unit", () => {
      assert.match(refuse({ ...WIKI, storage: [{ name: "data", mountPath: "/data", size: "5" }] }), /homelab:services\[3\]\.storage\[0\]\.size: 5 must be a size such as "10Gi"/);
    });
  });
});
