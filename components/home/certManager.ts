import { ICertificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
import { IClusterIssuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ServiceConfig } from "../config/schema";
import { internalCertificateNames, publicCertificateNames } from "./certificates";
import { typedCustomResource } from "./customResource";
import { podSecurityLabels } from "./podSecurity";
import { caTargets, reflectionAnnotations, wildcardTargets } from "./reflection";
import { WILDCARD_SECRET } from "./traefikValues";

export interface CertManagerArgs {
  /** Exact chart version. */
  version: string;
  domain: string;
  services: ServiceConfig[];
  acme: { directory: string; email: string };
  /** Secret: the edge stack's Cloudflare token, limited to DNS edits in this zone. */
  cloudflareToken: pulumi.Input<string>;
  /** Traefik's namespace, which always receives the wildcard certificate. */
  traefikNamespace: string;
}

export const CERT_MANAGER_NAMESPACE = "cert-manager";
export const ISSUERS = { selfSigned: "selfsigned", internalCa: "homelab-ca", acme: "letsencrypt" } as const;
const CA_SECRET = "homelab-ca";
const TOKEN_SECRET = { name: "cloudflare-api-token", key: "api-token" };
const issuerRef = (name: string) => ({ name, kind: "ClusterIssuer", group: "cert-manager.io" });
// Makes the provider wait until cert-manager reports the certificate Ready, so what follows can read its Secret.
const WAIT_READY = { "pulumi.com/waitFor": "condition=Ready" };

/**
 * cert-manager with an internal CA (self-signed issuer, CA certificate, CA issuer) and an ACME issuer that solves
 * DNS-01 through Cloudflare. Each step depends on the one before it explicitly, so a first `pulumi up` applies them in
 * order.
 */
export class CertManager extends pulumi.ComponentResource {
  /** The internal CA's certificate in PEM; public, so operators can trust internal names. */
  readonly caCertificatePem: pulumi.Output<string>;

  constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:CertManager", name, {}, opts);
    const small = { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } };
    const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: CERT_MANAGER_NAMESPACE, labels: podSecurityLabels("restricted") } }, { parent: this });
    const chart = new k8s.helm.v4.Chart(
      name,
      {
        name: "cert-manager",
        chart: "cert-manager",
        repositoryOpts: { repo: "https://charts.jetstack.io" },
        version: args.version,
        namespace: CERT_MANAGER_NAMESPACE,
        values: {
          crds: { enabled: true, keep: true },
          resources: small,
          cainjector: { resources: small },
          webhook: { resources: small },
          startupapicheck: { resources: small },
          // Split DNS at home can answer for the zone; DNS-01 checks must ask the public internet.
          dns01RecursiveNameserversOnly: true,
          dns01RecursiveNameservers: "1.1.1.1:53,9.9.9.9:53",
        },
      },
      { parent: this, dependsOn: [namespace] },
    );
    const after = (...deps: pulumi.Resource[]) => ({ parent: this, dependsOn: deps });

    const selfSigned = typedCustomResource<IClusterIssuer>(
      `${name}-selfsigned`,
      { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: ISSUERS.selfSigned }, spec: { selfSigned: {} } },
      after(chart),
    );
    const caCertificate = typedCustomResource<ICertificate>(
      `${name}-ca`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: CA_SECRET, namespace: CERT_MANAGER_NAMESPACE, annotations: WAIT_READY },
        spec: {
          isCA: true,
          commonName: `${args.domain} homelab internal CA`,
          secretName: CA_SECRET,
          duration: "87600h",
          privateKey: { algorithm: "ECDSA", size: 256 },
          issuerRef: issuerRef(ISSUERS.selfSigned),
        },
      },
      after(selfSigned),
    );
    const caIssuer = typedCustomResource<IClusterIssuer>(
      `${name}-ca-issuer`,
      { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: ISSUERS.internalCa }, spec: { ca: { secretName: CA_SECRET } } },
      after(caCertificate),
    );

    const token = new k8s.core.v1.Secret(
      `${name}-cloudflare-token`,
      { metadata: { name: TOKEN_SECRET.name, namespace: CERT_MANAGER_NAMESPACE }, type: "Opaque", stringData: { [TOKEN_SECRET.key]: pulumi.secret(args.cloudflareToken) } },
      after(namespace),
    );
    const acmeIssuer = typedCustomResource<IClusterIssuer>(
      `${name}-acme`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: { name: ISSUERS.acme },
        spec: {
          acme: {
            server: args.acme.directory,
            email: args.acme.email,
            privateKeySecretRef: { name: "letsencrypt-account-key" },
            solvers: [{ selector: { dnsZones: [args.domain] }, dns01: { cloudflare: { apiTokenSecretRef: TOKEN_SECRET } } }],
          },
        },
      },
      after(chart, token),
    );

    // A serving certificate, its Secret copied by Reflector into exactly the namespaces listed.
    const servingCertificate = (certName: string, secretName: string, dnsNames: string[], issuer: string, reflectTo: string[], after: pulumi.Resource) =>
      typedCustomResource<ICertificate>(
        `${name}-${certName}`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: { name: certName, namespace: CERT_MANAGER_NAMESPACE },
          spec: {
            secretName,
            dnsNames,
            issuerRef: issuerRef(issuer),
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            secretTemplate: { annotations: reflectionAnnotations(reflectTo) },
          },
        },
        { parent: this, dependsOn: [after] },
      );
    servingCertificate("wildcard", WILDCARD_SECRET, publicCertificateNames(args.domain, args.services), ISSUERS.acme, wildcardTargets(args.traefikNamespace, args.services), acmeIssuer);
    const internalNames = internalCertificateNames(args.domain, args.services);
    if (internalNames.length) servingCertificate("internal", "internal-tls", internalNames, ISSUERS.internalCa, [args.traefikNamespace], caIssuer);

    // The CA's Secret holds its key; only the certificate is copied out, into a ConfigMap that Reflector spreads.
    const caSecret = k8s.core.v1.Secret.get(`${name}-ca-secret`, `${CERT_MANAGER_NAMESPACE}/${CA_SECRET}`, after(caCertificate));
    this.caCertificatePem = pulumi.unsecret(caSecret.data.apply((data) => Buffer.from(data["tls.crt"], "base64").toString("utf8")));
    new k8s.core.v1.ConfigMap(
      `${name}-ca-certificate`,
      {
        metadata: { name: "homelab-ca-certificate", namespace: CERT_MANAGER_NAMESPACE, annotations: reflectionAnnotations(caTargets(args.services)) },
        data: { "ca.crt": this.caCertificatePem },
      },
      after(namespace),
    );
    this.registerOutputs({ caCertificatePem: this.caCertificatePem });
  }
}
