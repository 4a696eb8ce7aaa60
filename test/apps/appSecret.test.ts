import { strict as assert } from "node:assert";
import { appSecretReads } from "../../components/apps/appSecret";
import { parseHomeConfig } from "../../components/config/schema";
import { allPolicies } from "../../policy/policies";
import { secretsExist } from "../../policy/secrets";
import { OfflineRun } from "../../tools/offline/engine";
import { manifestOf, renderManifest } from "../../tools/offline/manifests";
import { renderResourcesJson } from "../../tools/offline/planStacks";
import { runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { diffStack } from "../../tools/offline/resourceDiff";
import { validEdgeRaw, validHomeRaw } from "../support/fixtures";
import { resourceOf, resourcesOf, runHome } from "../support/offline";

const WIKI = { name: "wiki", hostname: "wiki.example.com", exposure: "vpn", port: 3000, image: "ghcr.io/requarks/wiki:2.5.307", secretEnv: { DB_PASS: { secret: "wiki-db", key: "password" } } };
const TORRENT = { name: "torrent", hostname: "torrent.example.com", exposure: "vpn", port: 8080, image: "docker.io/qbittorrentofficial/qbittorrent-nox:5.1.2-1", vpn: { provider: "protonvpn", type: "openvpn", credentialsSecret: "torrent-vpn" } };
const base = JSON.parse(validEdgeRaw().services) as object[];
const catalog = (...entries: object[]) => JSON.stringify([...base, ...entries]);
const VALUES = { "wiki-db": { password: "correct-horse-battery" }, "torrent-vpn": { openvpn_user: "p1234567+pmp", openvpn_password: "s3cret-openvpn-pass" } };
const SECRET = "kubernetes:core/v1:Secret";
const secretValues = Object.values(VALUES).flatMap((keys) => Object.values(keys));

describe("app secrets, from homelab:appSecrets to the app's namespace", function () {
  this.timeout(60000);
  const withSecrets = (services = catalog(WIKI, TORRENT), values: object = VALUES) => runHome({ services, appSecrets: JSON.stringify(values) }, undefined, ["appSecrets"]);
  let home: OfflineRun;
  before(async () => {
    home = await withSecrets();
  });

  it("derives what each app reads from the catalog: its secretEnv and its Gluetun sidecar's credentials", () => {
    const reads = appSecretReads(parseHomeConfig({ ...validHomeRaw(), services: catalog(WIKI, TORRENT) }).services);
    assert.deepEqual(
      reads.map((r) => `${r.namespace}/${r.secret}.${r.key} by ${r.app} (${r.reader}, ${r.at})`),
      [
        `wiki/wiki-db.password by wiki (its DB_PASS, services[${base.length}].secretEnv.DB_PASS)`,
        `torrent/torrent-vpn.openvpn_user by torrent (Gluetun's OPENVPN_USER, services[${base.length + 1}].vpn.credentialsSecret)`,
        `torrent/torrent-vpn.openvpn_password by torrent (Gluetun's OPENVPN_PASSWORD, services[${base.length + 1}].vpn.credentialsSecret)`,
      ],
    );
  });

  it("makes each Secret in its app's namespace with the configured values, secret, before the workload that reads it", () => {
    const db = resourceOf(home, SECRET, "secret-wiki-wiki-db");
    assert.deepEqual(db.inputs.metadata, { name: "wiki-db", namespace: "wiki", annotations: { "homelab.dev/read-by": "wiki" } });
    assert.deepEqual(db.inputs.stringData, VALUES["wiki-db"]);
    assert.deepEqual(db.secretInputs, ["stringData"]);
    assert.equal(db.options.retainOnDelete, false, "credentials, not data: they go with the app");
    assert.ok(db.options.dependsOn.some((urn) => urn.endsWith("::namespace-wiki")), "the namespace exists first");
    const vpn = resourceOf(home, SECRET, "secret-torrent-torrent-vpn");
    assert.deepEqual(Object.keys(vpn.inputs.stringData as object).sort(), ["openvpn_password", "openvpn_user"]);
    const workload = resourceOf(home, "kubernetes:apps/v1:Deployment", "wiki");
    assert.ok(workload.options.dependsOn.some((urn) => urn.endsWith("homelab:apps:AppSecret$kubernetes:core/v1:Secret::secret-wiki-wiki-db")), "a pod created before its Secret would wait in CreateContainerConfigError");
  });

  it("keeps every value out of the plan's files: resources.json and the manifests mask it, and nothing carries it in plain text", () => {
    assert.deepEqual(home.leaks, []);
    const written = [renderResourcesJson(home), ...home.resources.map((r) => manifestOf(r, "[secret]")).filter((m) => m).map((m) => renderManifest(m!))].join("\n");
    for (const value of secretValues) assert.ok(!written.includes(value), `${value} shows in the plan`);
    assert.match(renderResourcesJson(home), /"stringData": "\[secret [0-9a-f]{8}\]"/);
  });

  it("passes the pack's k8s-secrets-exist on the home graph, which fails once a Secret the pods read is gone", async () => {
    const targets = targetsOf(home.resources);
    assert.deepEqual((await runPolicies(allPolicies, targets)).filter((v) => v.level === "mandatory"), []);
    const withoutAppSecrets = targets.filter((t) => !(t.type === SECRET && t.name.startsWith("secret-")));
    assert.deepEqual(
      (await runPolicies([secretsExist], withoutAppSecrets)).map((v) => v.message),
      [
        'Deployment torrent/torrent reads Secret torrent-vpn (container "gluetun" env OPENVPN_USER), which nothing in the stack creates',
        'Deployment torrent/torrent reads Secret torrent-vpn (container "gluetun" env OPENVPN_PASSWORD), which nothing in the stack creates',
        'Deployment wiki/wiki reads Secret wiki-db (container "wiki" env DB_PASS), which nothing in the stack creates',
      ],
    );
  });

  it("refuses, before any resource, a Secret or key no app reads", async () => {
    await assert.rejects(withSecrets(catalog(WIKI), VALUES), /homelab:appSecrets\.torrent-vpn: no app in the catalog reads a Secret "torrent-vpn"/);
  });

  it("deletes an app's Secret with the app, while its namespace stays, and the plan diff says so", async () => {
    const after = await withSecrets(catalog(TORRENT), { "torrent-vpn": VALUES["torrent-vpn"] });
    assert.equal(resourcesOf(after, SECRET, "secret-wiki-wiki-db").length, 0);
    const diff = diffStack("home", JSON.parse(renderResourcesJson(home)), JSON.parse(renderResourcesJson(after)));
    assert.ok(diff.deleted.some((f) => f.key === `${SECRET}::secret-wiki-wiki-db` && f.what === "the keys in Secret wiki/wiki-db is deleted"), JSON.stringify(diff.deleted));
    assert.ok(diff.kept.some((f) => f.key === "kubernetes:core/v1:Namespace::namespace-wiki"), "the namespace is retained");
  });
});
