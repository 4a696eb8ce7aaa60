import { strict as assert } from "node:assert";
import { appNamespace, isDeeperThanWildcard } from "../../components/config/catalog";
import { ServiceConfig } from "../../components/config/schema";
import { internalCertificateNames, publicCertificateNames } from "../../components/home/certificates";
import { caTargets, reflectionAnnotations, reflectorTargets, wildcardTargets } from "../../components/home/reflection";

const svc = (name: string, hostname: string, exposure: ServiceConfig["exposure"], extra: Partial<ServiceConfig> = {}): ServiceConfig => ({ name, hostname, exposure, port: 80, ...extra });
const catalog = [
  svc("web", "web.example.com", "public"),
  svc("deep", "api.deep.example.com", "public", { terminatesTls: true }),
  svc("grafana", "grafana.example.com", "vpn", { trustsInternalCa: true }),
  svc("nas", "files.nas.example.com", "lan"),
  svc("secretvpn", "hidden.vpn.example.com", "vpn", { terminatesTls: true, trustsInternalCa: true }),
];

describe("certificate names and reflection targets", () => {
  it("puts the wildcard, the apex and deeper public names on the public certificate, never a private name", () => {
    const names = publicCertificateNames("example.com", catalog);
    assert.deepEqual(names, ["*.example.com", "example.com", "api.deep.example.com"]);
    for (const s of catalog.filter((c) => c.exposure !== "public")) assert.ok(!names.includes(s.hostname), `${s.hostname} would be in CT logs`);
  });

  it("gives deeper private names to the internal CA instead", () => {
    assert.deepEqual(internalCertificateNames("example.com", catalog), ["files.nas.example.com", "hidden.vpn.example.com"]);
    assert.ok(isDeeperThanWildcard("a.b.example.com", "example.com"));
    assert.ok(!isDeeperThanWildcard("a.example.com", "example.com"));
    assert.ok(!isDeeperThanWildcard("example.com", "example.com"));
  });

  it("reflects the wildcard key, issued in Traefik's namespace, only to apps that terminate TLS, the CA certificate only to apps that call internal names", () => {
    assert.deepEqual(wildcardTargets(catalog), ["deep", "secretvpn"]);
    assert.deepEqual(caTargets(catalog), ["grafana", "secretvpn"]);
    assert.deepEqual(reflectorTargets(catalog), ["deep", "grafana", "secretvpn"], "each namespace once, for Reflector's RBAC");
    assert.equal(appNamespace(catalog[0]), "web");
  });

  it("annotates for exactly the listed namespaces", () => {
    const annotations = reflectionAnnotations(["traefik", "deep"]);
    assert.equal(annotations["reflector.v1.k8s.emberstack.com/reflection-allowed-namespaces"], "traefik,deep");
    assert.equal(annotations["reflector.v1.k8s.emberstack.com/reflection-auto-namespaces"], "traefik,deep");
    assert.equal(annotations["reflector.v1.k8s.emberstack.com/reflection-auto-enabled"], "true");
  });

  it("switches reflection off for no namespaces, since Reflector reads an empty list as every namespace", () => {
    assert.deepEqual(reflectionAnnotations([]), {
      "reflector.v1.k8s.emberstack.com/reflection-allowed": "false",
      "reflector.v1.k8s.emberstack.com/reflection-auto-enabled": "false",
    });
    assert.deepEqual(caTargets(catalog.filter((s) => !s.trustsInternalCa)), []);
  });

  it("refuses a target that is not a namespace name, as Reflector would read it as a pattern", () => {
    assert.throws(() => reflectionAnnotations(["traefik", "apps-.*"]), /reflection targets \["apps-\.\*"\] are not namespace names/);
    assert.throws(() => reflectionAnnotations([""]), /not namespace names/);
  });
});
