import { strict as assert } from "node:assert";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { parseHomeConfig, ServiceConfig } from "../../components/config/schema";
import { headscaleConfig, HeadscaleConfigSpec, renderHeadscaleConfig, renderTailnetPolicy, splitDnsRecords, TAILSCALE_DERP_MAP } from "../../components/home/headscaleConfig";
import { headscalePolicies } from "../../components/home/headscale";
import { manifestOf, validateManifest } from "../../tools/offline/manifests";
import { homeRefusal, validHomeRaw } from "../support/fixtures";
import { bootstrapScript, kubectlCalls, runBootstrapScript, writeKubectlStandIn } from "./fixtures/kubectlStandIn";
import { resourceOf, resourcesOf, runFixtureStacks, runHome } from "../support/offline";
import { requireRealTools, run } from "../support/realTools";

const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, "fixtures", name), "utf8"));
const checkConfig = ajv.compile(fixture("headscale-v0.29-config.schema.json"));
const checkPolicy = ajv.compile(fixture("headscale-policy-v2.schema.json"));
const problems = (check: typeof checkConfig, value: unknown) => (check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

const CATALOG: ServiceConfig[] = [
  { name: "headscale", hostname: "headscale.example.com", exposure: "public", port: 8080, component: "headscale" },
  { name: "grafana", hostname: "grafana.example.com", exposure: "vpn", port: 3000, image: "docker.io/grafana/grafana:12.1.1" },
  { name: "homepage", hostname: "home.example.com", exposure: "lan", port: 3000, image: "ghcr.io/gethomepage/homepage:v1.4.6" },
  { name: "jellyfin", hostname: "jellyfin.example.com", exposure: "public", port: 8096, image: "docker.io/jellyfin/jellyfin:10.10.7" },
];
const SPEC: HeadscaleConfigSpec = {
  serverUrl: "https://headscale.example.com",
  listenPort: 8080,
  baseDomain: "ts.example.com",
  nameservers: ["1.1.1.1"],
  overrideLocalDns: true,
  extraRecords: splitDnsRecords(CATALOG, "192.168.1.241"),
  derp: { ipv4: "203.0.113.10", ipv6: "2001:db8::10" },
};
const TAILNET = { users: ["alice", "bob"], groups: { admins: ["alice"], family: ["alice", "bob"] }, hosts: { nas: "192.168.1.20/32" }, acls: [{ from: ["admins"], to: ["lan"] }, { from: ["family"], to: ["services", "nas:445"] }] };

describe("Headscale", function () {
  this.timeout(60000);

  describe("config renderer", () => {
    it("renders YAML with exactly the keys Headscale v0.29 reads, checked against the version's schema", () => {
      const rendered = parse(renderHeadscaleConfig(SPEC));
      assert.deepEqual(problems(checkConfig, rendered), []);
      assert.equal(rendered.server_url, "https://headscale.example.com");
      assert.equal(rendered.database.sqlite.path, "/var/lib/headscale/db.sqlite");
      assert.equal(rendered.noise.private_key_path, "/var/lib/headscale/noise_private.key", "the noise key sits on the claim beside the database");
      assert.equal(rendered.derp.server.stun_listen_addr, "[::]:3478");
      assert.deepEqual([rendered.derp.server.ipv4, rendered.derp.server.ipv6], ["203.0.113.10", "2001:db8::10"]);
      assert.deepEqual(rendered.derp.urls, [], "with its own DERP the tailnet relays through nothing else");
    });

    it("the schema check is real: a misspelt key, a bad record and a missing resolver fail it", () => {
      const config = headscaleConfig(SPEC) as any;
      assert.match(problems(checkConfig, { ...config, dns_config: {} }).join(), /must NOT have additional properties/);
      assert.match(problems(checkConfig, { ...config, dns: { ...config.dns, extra_records: [{ name: "x", type: "CNAME", value: "y" }] } }).join(), /extra_records\/0\/type/);
      assert.notDeepEqual(problems(checkConfig, { ...config, dns: { ...config.dns, nameservers: { global: [], split: {} } } }), []);
    });

    it("falls back to Tailscale's DERP map when DERP is off", () => {
      const config = headscaleConfig({ ...SPEC, derp: undefined }) as any;
      assert.equal(config.derp.server.enabled, false);
      assert.deepEqual(config.derp.urls, [TAILSCALE_DERP_MAP]);
      assert.equal(config.derp.server.ipv4, undefined);
      assert.deepEqual(problems(checkConfig, config), []);
    });

    it("points every vpn and lan name, and only those, at Traefik's address", () => {
      assert.deepEqual(splitDnsRecords(CATALOG, "192.168.1.241"), [
        { name: "grafana.example.com", type: "A", value: "192.168.1.241" },
        { name: "home.example.com", type: "A", value: "192.168.1.241" },
      ]);
    });
  });

  describe("tailnet policy", () => {
    it("writes users with '@', groups, hosts and rules, and auto-approves the router's LAN route", () => {
      const policy = JSON.parse(renderTailnetPolicy({ tailnet: TAILNET, lanCidr: "192.168.1.0/24", traefikAddress: "192.168.1.241" }));
      assert.deepEqual(problems(checkPolicy, policy), []);
      assert.deepEqual(policy.groups, { "group:admins": ["alice@"], "group:family": ["alice@", "bob@"] });
      assert.deepEqual(policy.hosts, { lan: "192.168.1.0/24", services: "192.168.1.241/32", nas: "192.168.1.20/32" });
      assert.deepEqual(policy.acls, [
        { action: "accept", src: ["group:admins"], dst: ["lan:*"] },
        { action: "accept", src: ["group:family"], dst: ["services:80,443", "nas:445"] },
      ]);
      assert.deepEqual(policy.autoApprovers, { routes: { "192.168.1.0/24": ["subnet-router@"] } });
      assert.match(problems(checkPolicy, { ...policy, groups: { "group:x": ["alice"] } }).join(), /groups\/group:x\/0 must match pattern/);
    });
  });

  describe("config checks", () => {
    const refuse = homeRefusal;
    it("refuses a MagicDNS base domain that contains Headscale's own host, before Headscale would", () => {
      assert.match(refuse({ headscaleBaseDomain: "example.com" }), /homelab:headscaleBaseDomain: "example\.com" contains Headscale's own host headscale\.example\.com/);
      assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), headscaleBaseDomain: "tail.example.com" }));
      assert.equal(parseHomeConfig(validHomeRaw()).headscale.baseDomain, "ts.example.com");
    });
    it("refuses private names no client would ask the tailnet for: neither override_local_dns nor a split entry", () => {
      assert.match(refuse({ headscaleOverrideLocalDns: "false" }), /homelab:headscaleOverrideLocalDns: is off and homelab:headscaleSplitDns does not cover grafana\.example\.com, prometheus\.example\.com/);
      assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), headscaleOverrideLocalDns: "false", headscaleSplitDns: '{"example.com": ["192.168.1.53"]}' }));
    });
    it("refuses unknown users, groups and hosts in the tailnet policy", () => {
      const tailnet = (t: object) => ({ tailnet: JSON.stringify({ ...TAILNET, ...t }) });
      assert.match(refuse(tailnet({ groups: { admins: ["carol"] } })), /homelab:tailnet\.groups\.admins\[0\]: "carol" is not a user; tailnet\.users lists alice, bob/);
      assert.match(refuse(tailnet({ acls: [{ from: ["ops"], to: ["lan"] }] })), /homelab:tailnet\.acls\[0\]\.from\[0\]: "ops" is not a group; tailnet\.groups has admins, family/);
      assert.match(refuse(tailnet({ acls: [{ from: ["admins"], to: ["printer:631"] }] })), /homelab:tailnet\.acls\[0\]\.to\[0\]: "printer" is not a host; known hosts are lan, services, nas/);
      assert.match(refuse(tailnet({ users: ["subnet-router"] , groups: {}, acls: [] })), /"subnet-router" is reserved for the subnet router/);
    });
    it("refuses ACL ports Headscale's policy parser refuses (above 65535, 0, a reversed range), which would crash-loop it", () => {
      const to = (target: string) => refuse({ tailnet: JSON.stringify({ ...TAILNET, acls: [{ from: ["admins"], to: [target] }] }) });
      assert.match(to("nas:70000"), /homelab:tailnet\.acls\[0\]\.to\[0\]: "nas:70000" has port 70000, outside 1-65535/);
      assert.match(to("nas:0"), /"nas:0" has port 0, outside 1-65535/);
      assert.match(to("nas:445,500-400"), /"nas:445,500-400" has the range 500-400, whose first port is above its last/);
      assert.match(to("nas:1-2-3"), /must be host, host:port, host:port,port or host:first-last/);
      for (const target of ["nas:445", "lan:1-65535", "lan:*", "nas:22,80-90"]) {
        assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), tailnet: JSON.stringify({ ...TAILNET, acls: [{ from: ["admins"], to: [target] }] }) }), target);
      }
    });
    it("refuses a router image whose containerboot would crash-loop without a service-account token (D1: before v1.96.0)", () => {
      assert.match(refuse({ subnetRouterImage: "docker.io/tailscale/tailscale:v1.86.2" }), /homelab:subnetRouterImage: "docker\.io\/tailscale\/tailscale:v1\.86\.2" is older than Tailscale v1\.96\.0: its containerboot opens the Kubernetes client/);
      assert.match(refuse({ subnetRouterImage: "docker.io/tailscale/tailscale:v1.95.9" }), /older than Tailscale v1\.96\.0/);
      for (const image of ["docker.io/tailscale/tailscale:v1.96.0", "docker.io/tailscale/tailscale:v2.0.0", `docker.io/tailscale/tailscale@sha256:${"a".repeat(64)}`]) {
        assert.doesNotThrow(() => parseHomeConfig({ ...validHomeRaw(), subnetRouterImage: image }), image);
      }
    });
  });

  describe("bootstrap script, run by sh against a stand-in kubectl", function () {
    let dir: string;
    beforeEach(function () {
      requireRealTools(this, ["sh", "jq", "shellcheck"]);
      dir = mkdtempSync(join(tmpdir(), "hs-bootstrap-"));
      // The Headscale CLI played from files: users list/create and preauthkeys create, as v0.29's JSON output looks.
      writeFileSync(
        join(dir, "headscale"),
        `#!/bin/sh
state=${dir}
case "$*" in
  "users list"*) cat "$state/users"; exit 0 ;;
  "users create"*) echo '[{"id":7,"name":"subnet-router"}]' > "$state/users"; exit 0 ;;
  "preauthkeys create"*) cat "$state/preauthkey"; exit 0 ;;
esac
echo "unexpected: $*" >&2; exit 2
`,
      );
      chmodSync(join(dir, "headscale"), 0o755);
      writeKubectlStandIn(dir, join(dir, "headscale"));
      // What v0.29.3 prints with no users yet (seen in test/e2e/headscale.test.ts).
      writeFileSync(join(dir, "users"), "null");
      writeFileSync(join(dir, "preauthkey"), '{"key":"hskey-1234"}');
    });
    afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

    const script = () => bootstrapScript(0);
    const runScript = () => runBootstrapScript(dir, 0);
    const calls = () => kubectlCalls(dir);

    it("passes shellcheck", () => {
      writeFileSync(join(dir, "bootstrap.sh"), script());
      run("shellcheck", ["--shell=sh", join(dir, "bootstrap.sh")]);
    });

    it("creates the user, takes its numeric id, mints a single-use key valid for a day and writes it to the Secret", () => {
      const result = runScript();
      assert.equal(result.status, 0, result.stderr);
      assert.equal(readFileSync(join(dir, "secret"), "utf8"), "hskey-1234");
      assert.equal(result.stderr, "", "a server with no users lists null, which jq must not trip over (D8)");
      assert.ok(calls().includes("--namespace headscale exec headscale-0 --container headscale -- headscale users create subnet-router"));
      assert.ok(calls().includes(`--namespace headscale exec headscale-0 --container headscale -- headscale preauthkeys create --user 7 --expiration 24h --output json`), "not --reusable: the key registers one node, once");
    });

    it("does nothing once the Secret holds a key, so a rerun never mints a second one", () => {
      writeFileSync(join(dir, "secret"), "aGtleQ==");
      const result = runScript();
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(calls().filter((c) => c.includes("headscale --")), []);
    });

    it("fails, writing nothing, when Headscale returns no key", () => {
      writeFileSync(join(dir, "preauthkey"), "{}");
      const result = runScript();
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /Headscale returned no pre-auth key/);
      assert.ok(!calls().some((c) => c.includes("patch secret")));
    });
  });

  it("admits only Traefik to the listen port and monitoring to the metrics port, beside the namespace's default deny", () => {
    const policies = Object.fromEntries(headscalePolicies(8080, { traefik: "traefik", monitoring: "monitoring" }).map((p) => [p.name, p.spec as any]));
    assert.deepEqual(Object.keys(policies).sort(), ["allow-dns", "allow-same-namespace", "default-deny", "headscale-from-traefik", "headscale-metrics"]);
    assert.deepEqual(policies["headscale-from-traefik"].ingress, [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } } }], ports: [{ protocol: "TCP", port: 8080 }] }]);
    assert.deepEqual(policies["headscale-metrics"].ingress[0].ports, [{ protocol: "TCP", port: 9090 }]);
  });

  describe("in the home stack", () => {
    it("runs Headscale with the derp peer in its pod, NET_ADMIN on the init container only, published through the tunnel", async () => {
      const { edge, home } = await runFixtureStacks();
      const set = resourceOf(home, "kubernetes:apps/v1:StatefulSet", "headscale").inputs as any;
      const pod = set.spec.template.spec;
      assert.deepEqual(pod.initContainers.map((c: any) => [c.name, c.securityContext.capabilities.add]), [["tunnel-setup", ["NET_ADMIN"]]]);
      assert.deepEqual(pod.containers[0].securityContext.capabilities, { drop: ["ALL"] });
      assert.equal(pod.containers[0].image, validHomeRaw().headscaleImage, "the configured release");
      const ns = resourceOf(home, "kubernetes:core/v1:Namespace", "headscale").inputs.metadata as any;
      assert.equal(ns.labels["pod-security.kubernetes.io/enforce"], "privileged");
      const route = resourceOf(home, "kubernetes:traefik.io/v1alpha1:IngressRoute", "headscale-route").inputs.spec as any;
      assert.deepEqual(route.entryPoints, ["websecure", "tunnelwebsecure"]);
      // Which route answers a request on an entrypoint: Traefik v3 rule syntax (Host, PathPrefix, !, &&, ||, parens).
      const routes = resourcesOf(home, "kubernetes:traefik.io/v1alpha1:IngressRoute").filter((r) => r.name.startsWith("headscale-")).map((r) => r.inputs.spec as any);
      const matches = (rule: string, host: string, path: string) =>
        new Function("host", "path", `return ${rule.replace(/Host\(`([^`]+)`\)/g, (_, h) => `(host === ${JSON.stringify(h)})`).replace(/PathPrefix\(`([^`]+)`\)/g, (_, p) => `path.startsWith(${JSON.stringify(p)})`)};`)(host, path);
      const served = (entrypoint: string, path: string) => routes.some((r) => r.entryPoints.includes(entrypoint) && r.routes.some((rr: any) => matches(rr.match, "headscale.example.com", path)));
      for (const path of ["/ts2021", "/key", "/derp", "/health", "/register/abc"]) assert.ok(served("tunnelwebsecure", path), `clients need ${path} through the edge`);
      for (const path of ["/api/v1/node", "/swagger/v1/openapiv2.json"]) {
        assert.ok(!served("tunnelwebsecure", path), `${path} is not public`);
        assert.ok(served("websecure", path), `${path} answers on the LAN`);
      }
      const wg = (resourceOf(home, "kubernetes:core/v1:Secret", "headscale-derp-wireguard").inputs.stringData as any)["wg0.conf"];
      assert.equal(wg, (edge.outputs.homePeerConfigs.value as any).derp, "the edge's derp peer config, as exported");
      assert.match(wg, /PostUp = ip -4 rule add ipproto udp sport 3478 lookup 51820/);
      assert.equal(resourceOf(home, "kubernetes:core/v1:PersistentVolumeClaim", "headscale-data").options.retainOnDelete, true);
      assert.deepEqual(resourcesOf(home, "kubernetes:cilium.io/v2:CiliumNetworkPolicy").filter((r) => r.name.startsWith("headscale")).map((r) => r.name), [], "with its own DERP map, no egress beyond the tunnel");
      const config = parse(home.artifacts["headscale-config.yaml"]);
      assert.deepEqual(problems(checkConfig, config), []);
      assert.deepEqual([config.derp.server.ipv4, config.derp.server.ipv6], [edge.outputs.publicIpv4.value, edge.outputs.publicIpv6.value]);
      assert.deepEqual(problems(checkPolicy, JSON.parse(home.artifacts["tailnet-policy.json"])), []);
      assert.equal(home.outputs.headscaleUrl.value, "https://headscale.example.com");
      for (const r of home.resources.filter((r) => ["headscale", "tailnet-router"].includes((r.inputs.metadata as any)?.namespace))) {
        assert.deepEqual(await validateManifest(manifestOf(r, "[secret]")!), [], r.name);
      }
    });

    it("registers the subnet router by a Job whose RBAC names one pod and one Secret, and which the program never overwrites", async () => {
      const home = await runHome();
      const roles = resourcesOf(home, "kubernetes:rbac.authorization.k8s.io/v1:Role").map((r) => r.inputs.rules as any[]);
      assert.deepEqual(roles.flat().map((rule) => [rule.resources[0], rule.resourceNames, rule.verbs]), [
        ["pods", ["headscale-0"], ["get"]],
        ["pods/exec", ["headscale-0"], ["get", "create"]],
        ["secrets", ["subnet-router-authkey"], ["get", "update", "patch"]],
      ]);
      const secret = resourceOf(home, "kubernetes:core/v1:Secret", "subnet-router-authkey");
      assert.equal(secret.inputs.stringData, undefined, "created empty");
      assert.deepEqual(secret.options.ignoreChanges, ["data", "stringData"]);
      const router = resourceOf(home, "kubernetes:apps/v1:Deployment", "subnet-router").inputs as any;
      const env = Object.fromEntries(router.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
      assert.deepEqual(env.TS_AUTHKEY, { secretKeyRef: { name: "subnet-router-authkey", key: "authkey" } });
      assert.equal(env.TS_ROUTES, "192.168.1.0/24");
      assert.equal(env.TS_EXTRA_ARGS, "--login-server=https://headscale.example.com");
      assert.equal(env.TS_USERSPACE, "true", "no TUN device, no capability");
      assert.equal(env.TS_AUTH_ONCE, "true", "a restart reuses the node's state instead of logging in with the key again (D9)");
      assert.equal(env.TS_KUBE_SECRET, "", "state on the claim, so containerboot (v1.96.0 and later) makes no kube client (D1)");
    });

    it("without DERP, keeps Headscale's namespace restricted and its pod free of the tunnel", async () => {
      const home = await runHome({ derp: "false" });
      const ns = resourceOf(home, "kubernetes:core/v1:Namespace", "headscale").inputs.metadata as any;
      assert.equal(ns.labels["pod-security.kubernetes.io/enforce"], "restricted");
      const pod = (resourceOf(home, "kubernetes:apps/v1:StatefulSet", "headscale").inputs.spec as any).template.spec;
      assert.deepEqual(pod.initContainers, []);
      const config = parse(home.artifacts["headscale-config.yaml"]);
      assert.equal(config.derp.server.enabled, false);
      // Headscale fetches this map at start and exits on an empty one (D3): its namespace must let it out to that host.
      assert.deepEqual(config.derp.urls, [TAILSCALE_DERP_MAP]);
      const egress = (resourceOf(home, "kubernetes:cilium.io/v2:CiliumNetworkPolicy", "headscale-derp-map").inputs.spec as any).egress;
      assert.deepEqual(egress.at(-1), { toFQDNs: [{ matchName: new URL(TAILSCALE_DERP_MAP).hostname }], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] });
      assert.deepEqual(egress[0].toPorts[0].rules, { dns: [{ matchPattern: "*" }] }, "names are seen by Cilium's DNS proxy");
    });
  });
});
