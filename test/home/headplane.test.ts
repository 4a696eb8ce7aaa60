import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { headplanePolicies, prefixRedirect } from "../../components/home/headplane";
import { COOKIE_SECRET_FILE, HeadplaneConfigSpec, renderHeadplaneConfig } from "../../components/home/headplaneConfig";
import { allPolicies } from "../../policy/policies";
import { manifestOf, validateManifest } from "../../tools/offline/manifests";
import { runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { homeRefusal, validEdgeRaw } from "../support/fixtures";
import { RecordedResource } from "../../tools/offline/engine";
import { resourceOf, resourcesOf, runHome } from "../support/offline";

const SPEC: HeadplaneConfigSpec = { listenPort: 3000, headscaleUrl: "http://headscale.headscale.svc.cluster.local:8080", headscalePublicUrl: "https://headscale.example.com" };
const catalogWith = (headplane: object | undefined, keep: (s: { component?: string }) => boolean = () => true) =>
  JSON.stringify([...JSON.parse(validEdgeRaw().services).filter((s: { component?: string }) => s.component !== "headplane" && keep(s)), ...(headplane ? [headplane] : [])]);
const HEADPLANE = { name: "headplane", hostname: "headplane.example.com", exposure: "vpn", port: 3000, component: "headplane" };
const inNamespace = (run: { resources: RecordedResource[] }, namespace: string) => run.resources.filter((r) => (r.inputs.metadata as any)?.namespace === namespace || (r.type.endsWith("Namespace") && (r.inputs.metadata as any)?.name === namespace));

describe("Headplane", function () {
  this.timeout(60000);

  // Headplane v0.6.3's own loader runs this file with the pod's mounted secret in test/e2e/headplane.test.ts.
  describe("config renderer", () => {
    it("renders the keys Headplane 0.6.3 reads, the cookie secret named by its file, never held", () => {
      const rendered = parse(renderHeadplaneConfig(SPEC));
      assert.deepEqual(rendered.headscale, { url: SPEC.headscaleUrl, public_url: SPEC.headscalePublicUrl, config_path: "/etc/headscale/config.yaml", config_strict: false });
      assert.deepEqual(rendered.server, { host: "0.0.0.0", port: 3000, cookie_secure: true, cookie_secret_path: COOKIE_SECRET_FILE });
      assert.equal(rendered.integration, undefined, "no integration: Headplane never restarts or rewrites Headscale");
    });
  });

  it("admits Traefik to the UI and lets it out only to Headscale's API", () => {
    const policies = Object.fromEntries(headplanePolicies(3000, 8080, "traefik").map((p) => [p.name, p.spec as any]));
    assert.deepEqual(Object.keys(policies).sort(), ["allow-dns", "allow-same-namespace", "default-deny", "headplane-from-traefik", "headplane-to-headscale"]);
    assert.deepEqual(policies["headplane-from-traefik"].ingress[0].ports, [{ protocol: "TCP", port: 3000 }]);
    assert.deepEqual(policies["headplane-to-headscale"].egress, [
      { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "headscale" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "headscale" } } }], ports: [{ protocol: "TCP", port: 8080 }] },
    ]);
  });

  it("sends the bare host to /admin/ and leaves every other path alone", () => {
    const { regex, replacement } = prefixRedirect().spec.redirectRegex;
    // Traefik uses Go's regexp; this pattern means the same in both. ${1} is Go's group reference, $1 JavaScript's.
    const redirect = (url: string) => (new RegExp(regex).test(url) ? url.replace(new RegExp(regex), replacement.replace("${1}", "$1")) : url);
    assert.equal(redirect("https://headplane.example.com/"), "https://headplane.example.com/admin/");
    assert.equal(redirect("https://headplane.example.com"), "https://headplane.example.com/admin/");
    assert.equal(redirect("https://headplane.example.com/admin/machines"), "https://headplane.example.com/admin/machines");
    assert.equal(redirect("https://headplane.example.com/admin/"), "https://headplane.example.com/admin/");
  });

  describe("catalog validation", () => {
    it("refuses any exposure but vpn, and Headplane without Headscale", () => {
      for (const exposure of ["public", "lan"]) {
        assert.match(homeRefusal({ services: catalogWith({ ...HEADPLANE, exposure }) }), new RegExp(`homelab:services\\[5\\]\\.exposure: "${exposure}" is refused for Headplane: it administers the tailnet`));
      }
      const withoutHeadscale = catalogWith(HEADPLANE, (s) => s.component !== "headscale");
      assert.match(homeRefusal({ services: withoutHeadscale, derp: "false" }), /homelab:services\[4\]\.component: "headplane" is the web UI of Headscale, but the catalog has no entry with component: headscale/);
      assert.match(homeRefusal({ services: catalogWith(HEADPLANE, () => true).replace(/]$/, `,${JSON.stringify({ ...HEADPLANE, name: "ui2", hostname: "ui2.example.com" })}]`) }), /homelab:services\[6\]\.component: "headplane" is already services\[5\]/);
    });
  });

  describe("in the home stack", () => {
    it("runs in a restricted namespace of its own, its cookie secret random, by reference, in the file its config names", async () => {
      const home = await runHome();
      const ns = resourceOf(home, "kubernetes:core/v1:Namespace", "headplane").inputs.metadata as any;
      assert.equal(ns.labels["pod-security.kubernetes.io/enforce"], "restricted");
      const deployment = resourceOf(home, "kubernetes:apps/v1:Deployment", "headplane").inputs as any;
      const container = deployment.spec.template.spec.containers[0];
      assert.equal(deployment.spec.template.spec.enableServiceLinks, false, "kubelet's HEADPLANE_SERVICE_*/HEADPLANE_PORT_* variables would become config keys (D10)");
      assert.equal(container.image, "ghcr.io/tale/headplane:0.6.3");
      assert.equal(container.env, undefined, "no HEADPLANE_* variable: 0.6.2 on reads an all-digit one as a number, and HEADPLANE_LOAD_ENV_OVERRIDES is deprecated");
      assert.deepEqual(container.securityContext.capabilities, { drop: ["ALL"] });

      const secret = resourceOf(home, "kubernetes:core/v1:Secret", "headplane-cookie-secret");
      assert.ok(secret.secretInputs.includes("stringData"), "the cookie secret is a Pulumi secret");
      const cookie = (secret.inputs.stringData as any).secret as string;
      assert.match(cookie, /^[0-9a-f]{32}$/);
      // The files the pod's Secret volumes put where the container mounts them.
      const pod = deployment.spec.template.spec;
      const mounted: Record<string, string> = {};
      for (const mount of container.volumeMounts) {
        const source = pod.volumes.find((v: any) => v.name === mount.name).secret;
        if (!source) continue;
        const data = resourcesOf(home, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as any)?.name === source.secretName)!.inputs.stringData as any;
        for (const item of source.items) mounted[`${mount.mountPath}/${item.path}`] = data[item.key];
      }
      assert.equal(mounted[COOKIE_SECRET_FILE], cookie, "the file config.yaml names holds the Secret's value");
      const files = resourceOf(home, "kubernetes:core/v1:ConfigMap", "headplane-config").inputs.data as any;
      assert.equal(files["config.yaml"], home.artifacts["headplane-config.yaml"]);
      assert.doesNotMatch(files["config.yaml"], new RegExp(cookie), "the ConfigMap never holds the secret");
      assert.equal(files["headscale-config.yaml"], home.artifacts["headscale-config.yaml"], "Headplane shows the very config Headscale runs");
      const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, m]));
      assert.equal(mounts["/etc/headscale/config.yaml"].readOnly, true);
      assert.equal(parse(files["config.yaml"]).headscale.config_path, "/etc/headscale/config.yaml");

      const route = resourceOf(home, "kubernetes:traefik.io/v1alpha1:IngressRoute", "headplane-route").inputs.spec as any;
      assert.deepEqual(route.entryPoints, ["websecure"], "never on the tunnel entrypoints");
      assert.deepEqual(route.routes[0].middlewares, [{ name: "headplane-to-prefix", namespace: "headplane" }]);
      const policy = resourceOf(home, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "headscale-headscale-from-headplane").inputs as any;
      assert.equal(policy.metadata.namespace, "headscale");
      assert.deepEqual(policy.spec.ingress[0].from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "headplane" } } }]);
      const records = parse(home.artifacts["headscale-config.yaml"]).dns.extra_records;
      assert.ok(records.some((r: any) => r.name === "headplane.example.com"), "tailnet clients resolve it like any vpn name");

      for (const r of inNamespace(home, "headplane")) assert.deepEqual(await validateManifest(manifestOf(r, "[secret]")!), [], r.name);
      const violations = await runPolicies(allPolicies, targetsOf(home.resources));
      assert.deepEqual(violations.filter((v) => v.level === "mandatory" || String(v.urn ?? "").includes("headplane")), []);
    });

    it("puts a forward-auth Middleware in front when the entry asks for it", async () => {
      const forwardAuth = JSON.stringify({ address: "http://authelia.auth.svc.cluster.local:9091/api/authz/forward-auth" });
      const home = await runHome({ services: catalogWith({ ...HEADPLANE, forwardAuth: true }), forwardAuth });
      const route = resourceOf(home, "kubernetes:traefik.io/v1alpha1:IngressRoute", "headplane-route").inputs.spec as any;
      assert.deepEqual(route.routes[0].middlewares.map((m: any) => m.name), ["headplane-forward-auth", "headplane-to-prefix"]);
    });

    it("is absent, and Headscale admits no one else, without a headplane entry", async () => {
      const home = await runHome({ services: catalogWith(undefined) });
      assert.deepEqual(inNamespace(home, "headplane"), []);
      assert.deepEqual(resourcesOf(home, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "headscale-headscale-from-headplane"), []);
      assert.equal(home.artifacts["headplane-config.yaml"], undefined);
    });
  });
});
