import { strict as assert } from "node:assert";
import { reflectorTargets } from "../../components/home/reflection";
import { Reflector, REFLECTOR_NAMESPACE, REFLECTOR_RULES, REFLECTOR_SERVICE_ACCOUNT } from "../../components/home/reflector";
import { OfflineRun, RecordedResource } from "../../tools/offline/engine";
import { parseHomeConfig } from "../../components/config/schema";
import { validHomeRaw } from "../support/fixtures";
import { resourceOf, resourcesOf, runEdge, runHome, runProgram } from "../support/offline";

const RBAC = (kind: string) => `kubernetes:rbac.authorization.k8s.io/v1:${kind}`;

/*
 * Every Kubernetes API call Reflector v10.0.63 makes (emberstack/kubernetes-reflector src/ES.Kubernetes.Reflector),
 * with the verb the API server checks and where: the watchers (Watchers/SecretWatcher.cs, ConfigMapWatcher.cs,
 * NamespaceWatcher.cs) and ResourceMirror.cs's list of namespaces run across the cluster; the mirrors
 * (Mirroring/SecretMirror.cs, ConfigMapMirror.cs) read the source and create, patch and delete copies.
 */
const REFLECTOR_CALLS: { call: string; resource: string; verb: string; scope: "cluster" | "source" | "target" }[] = [
  { call: "WatchListSecretForAllNamespacesAsync", resource: "secrets", verb: "watch", scope: "cluster" },
  { call: "ListSecretForAllNamespacesAsync", resource: "secrets", verb: "list", scope: "cluster" },
  { call: "WatchListConfigMapForAllNamespacesAsync", resource: "configmaps", verb: "watch", scope: "cluster" },
  { call: "ListConfigMapForAllNamespacesAsync", resource: "configmaps", verb: "list", scope: "cluster" },
  { call: "WatchListNamespaceAsync", resource: "namespaces", verb: "watch", scope: "cluster" },
  { call: "ListNamespaceAsync", resource: "namespaces", verb: "list", scope: "cluster" },
  { call: "ReadNamespacedSecretAsync", resource: "secrets", verb: "get", scope: "source" },
  { call: "ReadNamespacedConfigMapAsync", resource: "configmaps", verb: "get", scope: "source" },
  { call: "CreateNamespacedSecretAsync", resource: "secrets", verb: "create", scope: "target" },
  { call: "PatchNamespacedSecretWithHttpMessagesAsync", resource: "secrets", verb: "patch", scope: "target" },
  { call: "DeleteNamespacedSecretAsync", resource: "secrets", verb: "delete", scope: "target" },
  { call: "CreateNamespacedConfigMapAsync", resource: "configmaps", verb: "create", scope: "target" },
  { call: "PatchNamespacedConfigMapAsync", resource: "configmaps", verb: "patch", scope: "target" },
  { call: "DeleteNamespacedConfigMapAsync", resource: "configmaps", verb: "delete", scope: "target" },
];

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const grants = (rules: Rule[]) => new Set(rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${res}:${v}`))));
const metadata = (r: RecordedResource) => r.inputs.metadata as { name: string; namespace?: string };

describe("Reflector's RBAC", function () {
  this.timeout(60000);
  const services = JSON.stringify([
    { name: "jellyfin", hostname: "jellyfin.example.com", exposure: "public", port: 8096, image: "docker.io/jellyfin/jellyfin:10.10.7", adminClaimed: true, terminatesTls: true },
    { name: "grafana", hostname: "grafana.example.com", exposure: "vpn", port: 3000, image: "docker.io/grafana/grafana:12.1.1", trustsInternalCa: true },
    { name: "wiki", hostname: "wiki.example.com", exposure: "lan", port: 3000, image: "ghcr.io/example/wiki:1.0.0" },
  ]);
  let run: OfflineRun;
  before(async () => {
    run = await runHome({ services, derp: "false" }, await runEdge());
  });

  it("replaces the chart's ClusterRole, which grants every verb on every Secret and ConfigMap (templates/clusterRole.yaml)", () => {
    const values = resourceOf(run, "kubernetes:helm.sh/v4:Chart", "reflector").inputs.values as Record<string, any>;
    assert.equal(values.rbac.enabled, false);
    assert.deepEqual(values.serviceAccount, { create: true, name: REFLECTOR_SERVICE_ACCOUNT });
  });

  it("grants each call Reflector makes, reading across the cluster and writing only into the namespaces it serves", () => {
    const read = grants(REFLECTOR_RULES.read);
    const write = grants(REFLECTOR_RULES.write);
    for (const { call, resource, verb, scope } of REFLECTOR_CALLS) {
      assert.ok((scope === "target" ? write : read).has(`${resource}:${verb}`), `${call} needs ${verb} on ${resource}`);
    }
    // Nothing beyond the calls, and no write anywhere but where a copy lands.
    const needed = (scopes: string[]) => new Set(REFLECTOR_CALLS.filter((c) => scopes.includes(c.scope)).map((c) => `${c.resource}:${c.verb}`));
    assert.deepEqual([...read].sort(), [...needed(["cluster", "source"])].sort());
    assert.deepEqual([...write].sort(), [...needed(["target"])].sort());
  });

  it("binds the read role cluster-wide and the write role by a RoleBinding in each target namespace, after that namespace exists", () => {
    const subject = [{ kind: "ServiceAccount", name: REFLECTOR_SERVICE_ACCOUNT, namespace: REFLECTOR_NAMESPACE }];
    const roles = resourcesOf(run, RBAC("ClusterRole")).filter((r) => metadata(r).name.startsWith("reflector-"));
    assert.deepEqual(Object.fromEntries(roles.map((r) => [metadata(r).name, r.inputs.rules])), { "reflector-read": REFLECTOR_RULES.read, "reflector-write": REFLECTOR_RULES.write });
    const clusterBindings = resourcesOf(run, RBAC("ClusterRoleBinding")).filter((b) => (b.inputs.subjects as object[]).some((s: any) => s.namespace === REFLECTOR_NAMESPACE));
    assert.deepEqual(clusterBindings.map((b) => [(b.inputs.roleRef as any).name, b.inputs.subjects]), [["reflector-read", subject]]);

    const targets = reflectorTargets(parseHomeConfig({ ...validHomeRaw(), services, derp: "false" }).services);
    assert.deepEqual(targets, ["grafana", "jellyfin"]);
    const bindings = resourcesOf(run, RBAC("RoleBinding")).filter((b) => (b.inputs.roleRef as any).name === "reflector-write");
    assert.deepEqual(bindings.map((b) => metadata(b).namespace).sort(), targets);
    for (const binding of bindings) {
      assert.deepEqual(binding.inputs.subjects, subject);
      assert.equal((binding.inputs.roleRef as any).kind, "ClusterRole");
      const namespace = resourceOf(run, "kubernetes:core/v1:Namespace", `namespace-${metadata(binding).namespace}`);
      assert.ok(binding.options.dependsOn.includes(namespace.urn), `${metadata(binding).namespace} exists first`);
    }
  });

  it("writes nowhere when nothing is reflected", async () => {
    const alone = await runProgram(() => (new Reflector("reflector", { version: "10.0.63", targets: [] }), { outputs: {}, artifacts: {} }));
    assert.deepEqual(resourcesOf(alone, RBAC("RoleBinding")), []);
    assert.deepEqual(resourcesOf(alone, RBAC("ClusterRoleBinding")).map((b) => (b.inputs.roleRef as any).name), ["reflector-read"]);
  });
});
