import { strict as assert } from "node:assert";
import { CERT_MANAGER_NAMESPACE, ISSUERS } from "../../components/home/certManager";
import { renderCertManagerValues } from "../../components/home/certManagerValues";
import { TRAEFIK_NAMESPACE } from "../../components/home/traefik";
import { WEBHOOK_CA_INJECTED } from "../../components/home/webhooks";
import { allPolicies } from "../../policy/policies";
import { OfflineRun } from "../../tools/offline/engine";
import { runPolicies, targetsOf } from "../../tools/offline/policyRunner";
import { certManagerRolesOf } from "../policy/charts/renders";
import { kubernetesType as CR, resourceOf, resourcesOf, runFixtureStacks, runHome, specOf as spec } from "../support/offline";

const issuanceFindings = async (targets: Parameters<typeof runPolicies>[1]) =>
  (await runPolicies(allPolicies.filter((p) => p.name === "k8s-certificate-issuance"), targets)).map((v) => v.message);

describe("cert-manager", function () {
  this.timeout(60000);
  let edge: OfflineRun;
  let home: OfflineRun;
  before(async () => {
    ({ edge, home } = await runFixtureStacks());
  });

  it("signs only in Traefik's namespace: namespaced Issuers there, with their CA key, DNS token and certificates, and no ClusterIssuer", async () => {
    assert.deepEqual(resourcesOf(home, CR("cert-manager.io/v1:ClusterIssuer")), []);
    const issuers = resourcesOf(home, CR("cert-manager.io/v1:Issuer"));
    assert.deepEqual(issuers.map((i) => (i.inputs.metadata as any).name).sort(), [ISSUERS.internalCa, ISSUERS.acme].sort());
    for (const type of ["cert-manager.io/v1:Issuer", "cert-manager.io/v1:Certificate"]) {
      for (const r of resourcesOf(home, CR(type))) assert.equal((r.inputs.metadata as any).namespace, TRAEFIK_NAMESPACE, `${type} ${r.name}`);
    }
    for (const name of ["cert-manager-ca", "cert-manager-cloudflare-token"]) assert.equal((resourceOf(home, CR("core/v1:Secret"), name).inputs.metadata as any).namespace, TRAEFIK_NAMESPACE, name);
    for (const r of resourcesOf(home, CR("cert-manager.io/v1:Certificate"))) assert.equal(spec(home, r.type, r.name).issuerRef.kind, "Issuer", r.name);
    assert.deepEqual(await issuanceFindings(targetsOf(home.resources)), []);
  });

  it("gives no namespace user a way to request a certificate: no aggregated cert-manager roles, no ingress-shim", async () => {
    const values = renderCertManagerValues() as Record<string, any>;
    assert.deepEqual(resourceOf(home, CR("helm.sh/v4:Chart"), "cert-manager").inputs.values, values);
    assert.equal(values.global.rbac.aggregateClusterRoles, false);
    assert.deepEqual(values.extraArgs, ["--controllers=*,-ingress-shim"]);
    // The chart's own roles with these values pass the pack; at its defaults the edit role is refused.
    assert.deepEqual(await issuanceFindings(certManagerRolesOf(values)), []);
    assert.deepEqual(await issuanceFindings(certManagerRolesOf({})), ["ClusterRole cert-manager-edit adds writes on certificates, certificaterequests, issuers to every namespace's edit and admin role"]);
  });

  it("applies cert-manager's chain in an explicit order: chart, the program's own CA as a Secret, CA issuer; token, ACME issuer, wildcard", () => {
    const urn = (type: string, name: string) => resourceOf(home, type, name).urn;
    const deps = (type: string, name: string) => resourceOf(home, type, name).options.dependsOn;
    const chart = urn(CR("helm.sh/v4:Chart"), "cert-manager");
    assert.ok(deps(CR("cert-manager.io/v1:Issuer"), "cert-manager-ca-issuer").includes(chart));
    assert.ok(deps(CR("cert-manager.io/v1:Issuer"), "cert-manager-ca-issuer").includes(urn(CR("core/v1:Secret"), "cert-manager-ca")));
    assert.ok(deps(CR("cert-manager.io/v1:Issuer"), "cert-manager-acme").includes(chart));
    assert.ok(deps(CR("cert-manager.io/v1:Issuer"), "cert-manager-acme").includes(urn(CR("core/v1:Secret"), "cert-manager-cloudflare-token")));
    assert.ok(deps(CR("cert-manager.io/v1:Certificate"), "cert-manager-wildcard").includes(urn(CR("cert-manager.io/v1:Issuer"), "cert-manager-acme")));
    // The signing credentials live in Traefik's namespace, which its component makes.
    for (const secret of ["cert-manager-ca", "cert-manager-cloudflare-token"]) assert.ok(deps(CR("core/v1:Secret"), secret).includes(urn(CR("helm.sh/v4:Chart"), "traefik")), secret);
  });

  it("reads no object a controller writes: the CA is made by @pulumi/tls, and its PEM is the program's own", () => {
    // A read (Secret.get) runs during preview, and on a fresh cluster cert-manager has written nothing yet.
    assert.deepEqual(home.resources.filter((r) => r.read && r.type !== "pulumi:pulumi:StackReference").map((r) => `${r.type}::${r.name}`), []);
    const key = resourceOf(home, "tls:index/privateKey:PrivateKey", "cert-manager-ca");
    assert.deepEqual([key.inputs.algorithm, key.inputs.ecdsaCurve], ["ECDSA", "P256"]);
    const cert = resourceOf(home, "tls:index/selfSignedCert:SelfSignedCert", "cert-manager-ca");
    assert.equal(cert.inputs.isCaCertificate, true);
    assert.deepEqual(cert.inputs.allowedUses, ["cert_signing", "crl_signing", "digital_signature"]);
    const secret = resourceOf(home, CR("core/v1:Secret"), "cert-manager-ca");
    assert.equal(secret.inputs.type, "kubernetes.io/tls");
    assert.ok(secret.secretInputs.includes("stringData"), "the CA key stays secret");
    assert.deepEqual(Object.keys(secret.inputs.stringData as object).sort(), ["ca.crt", "tls.crt", "tls.key"]);
    assert.equal(spec(home, CR("cert-manager.io/v1:Issuer"), "cert-manager-ca-issuer").ca.secretName, (secret.inputs.metadata as { name: string }).name);
  });

  it("holds the first issuer back until cainjector has given cert-manager's webhooks their CA, since the chart's startupapicheck hook never runs", () => {
    const values = resourceOf(home, CR("helm.sh/v4:Chart"), "cert-manager").inputs.values as Record<string, any>;
    // cert-manager v1.21.1 templates/webhook-{validating,mutating}-webhook.yaml copy these annotations verbatim and set
    // no caBundle, so the field appears only once cainjector injects it.
    assert.deepEqual(values.webhook.validatingWebhookConfigurationAnnotations, WEBHOOK_CA_INJECTED);
    assert.deepEqual(values.webhook.mutatingWebhookConfigurationAnnotations, WEBHOOK_CA_INJECTED);
    assert.equal(WEBHOOK_CA_INJECTED["pulumi.com/waitFor"], "jsonpath={.webhooks[0].clientConfig.caBundle}");
    assert.deepEqual(values.startupapicheck, { enabled: false });
  });

  it("solves DNS-01 with the edge's zone-scoped token, kept secret, against the configured CA", () => {
    const token = resourceOf(home, CR("core/v1:Secret"), "cert-manager-cloudflare-token");
    assert.ok(token.secretInputs.includes("stringData"));
    assert.deepEqual(token.inputs.stringData, { "api-token": edge.outputs.acmeDnsToken.value });
    const acme = spec(home, CR("cert-manager.io/v1:Issuer"), "cert-manager-acme").acme;
    assert.equal(acme.server, "https://acme-v02.api.letsencrypt.org/directory");
    assert.deepEqual(acme.solvers[0].dns01.cloudflare.apiTokenSecretRef, { name: "cloudflare-api-token", key: "api-token" });
    assert.deepEqual(home.leaks, []);
  });

  it("uses Let's Encrypt staging when acmeCa says so", async () => {
    const staging = await runHome({ acmeCa: "letsencrypt-staging" }, edge);
    assert.equal(spec(staging, CR("cert-manager.io/v1:Issuer"), "cert-manager-acme").acme.server, "https://acme-staging-v02.api.letsencrypt.org/directory");
  });

  it("never lists a vpn or lan name on the public certificate", () => {
    const wildcard = spec(home, CR("cert-manager.io/v1:Certificate"), "cert-manager-wildcard");
    assert.deepEqual(wildcard.dnsNames, ["*.example.com", "example.com"]);
    assert.equal(wildcard.issuerRef.name, ISSUERS.acme);
  });

  it("reflects the wildcard key to apps that terminate TLS, the CA certificate to apps that ask for it", async () => {
    const services = JSON.stringify([
      { name: "jellyfin", hostname: "jellyfin.example.com", exposure: "public", port: 8096, image: "docker.io/jellyfin/jellyfin:10.10.7", adminClaimed: true, terminatesTls: true },
      { name: "grafana", hostname: "grafana.example.com", exposure: "vpn", port: 3000, image: "docker.io/grafana/grafana:12.1.1", trustsInternalCa: true },
      { name: "nas", hostname: "files.nas.example.com", exposure: "lan", port: 5000, image: "ghcr.io/example/nas-ui:1.2.0" },
    ]);
    const run = await runHome({ services, derp: "false" }, edge);
    const wildcard = spec(run, CR("cert-manager.io/v1:Certificate"), "cert-manager-wildcard");
    assert.equal(wildcard.secretTemplate.annotations["reflector.v1.k8s.emberstack.com/reflection-auto-namespaces"], "jellyfin", "issued in Traefik's namespace, copied only to the app");
    const ca = resourceOf(run, CR("core/v1:ConfigMap"), "cert-manager-ca-certificate");
    assert.equal((ca.inputs.metadata as any).annotations["reflector.v1.k8s.emberstack.com/reflection-auto-namespaces"], "grafana");
    assert.deepEqual(Object.keys(ca.inputs.data as object), ["ca.crt"], "the CA's key never leaves its Secret");
    assert.equal((ca.inputs.metadata as any).namespace, CERT_MANAGER_NAMESPACE);
    const internal = spec(run, CR("cert-manager.io/v1:Certificate"), "cert-manager-internal");
    assert.deepEqual(internal.dnsNames, ["files.nas.example.com"], "a deeper private name gets the internal CA");
    assert.equal(internal.issuerRef.name, ISSUERS.internalCa);
    assert.equal(internal.secretTemplate.annotations["reflector.v1.k8s.emberstack.com/reflection-allowed"], "false", "Traefik, its one user, holds it already");
    assert.ok(!spec(run, CR("cert-manager.io/v1:Certificate"), "cert-manager-wildcard").dnsNames.includes("files.nas.example.com"));
  });

  it("has Traefik serve the internal certificate by SNI when it exists, since routes name no Secret of their own", async () => {
    const tlsStore = (r: OfflineRun) => (resourceOf(r, CR("helm.sh/v4:Chart"), "traefik").inputs.values as any).tlsStore.default;
    const nas = JSON.stringify([{ name: "nas", hostname: "files.nas.example.com", exposure: "lan", port: 5000, image: "ghcr.io/example/nas-ui:1.2.0" }]);
    const run = await runHome({ services: nas, derp: "false" }, edge);
    assert.deepEqual(tlsStore(run).certificates, [{ secretName: spec(run, CR("cert-manager.io/v1:Certificate"), "cert-manager-internal").secretName }]);
    assert.equal(tlsStore(run).defaultCertificate.secretName, spec(run, CR("cert-manager.io/v1:Certificate"), "cert-manager-wildcard").secretName);
    assert.equal(resourcesOf(home, CR("cert-manager.io/v1:Certificate")).some((c) => c.name === "cert-manager-internal"), false, "no deeper private name in the example");
    assert.equal(tlsStore(home).certificates, undefined, "no reference to a Secret nothing makes");
  });

});
