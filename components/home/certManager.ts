import { ICertificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
import { IIssuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ServiceConfig } from "../config/schema";
import { internalCertificateNames, publicCertificateNames } from "./certificates";
import { renderCertManagerValues } from "./certManagerValues";
import { typedCustomResource } from "./customResource";
import { podSecurityLabels } from "./podSecurity";
import { caTargets, reflectionAnnotations, wildcardTargets } from "./reflection";
import { INTERNAL_SECRET, WILDCARD_SECRET } from "./traefikValues";

export interface CertManagerArgs {
  /** Exact chart version. */
  version: string;
  domain: string;
  services: ServiceConfig[];
  acme: { directory: string; email: string };
  /** Secret: the edge stack's Cloudflare token, limited to DNS edits in this zone. */
  cloudflareToken: pulumi.Input<string>;
  /**
   * Traefik's namespace, the only one with issuers: the certificates, and the keys and token that sign them, live
   * there, so no other namespace can have the wildcard or an internal-CA certificate signed.
   */
  traefikNamespace: string;
  /** What must exist before anything is written into Traefik's namespace. */
  traefikReady: pulumi.Resource;
}

export const CERT_MANAGER_NAMESPACE = "cert-manager";
export const ISSUERS = { internalCa: "homelab-ca", acme: "letsencrypt" } as const;
const CA_SECRET = "homelab-ca";
/** Ten years: the internal CA is trusted by hand on every client, so it should change rarely. */
const CA_VALIDITY_HOURS = 87600;

const TOKEN_SECRET = { name: "cloudflare-api-token", key: "api-token" };
const issuerRef = (name: string) => ({ name, kind: "Issuer", group: "cert-manager.io" });

/**
 * cert-manager with an internal CA issuer and an ACME issuer that solves DNS-01 through Cloudflare, both namespaced
 * Issuers in Traefik's namespace: a ClusterIssuer would sign for a Certificate in any namespace. The CA's key and
 * certificate are made by the program (@pulumi/tls) and written as the Secret the CA issuer reads, so its PEM is known
 * at preview time and nothing waits on an object a controller writes later. Each step depends on the one before it
 * explicitly, so a first `pulumi up` applies them in order.
 */
export class CertManager extends pulumi.ComponentResource {
  /** The internal CA's certificate in PEM; public, so operators can trust internal names. */
  readonly caCertificatePem: pulumi.Output<string>;

  constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:CertManager", name, {}, opts);
    const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: CERT_MANAGER_NAMESPACE, labels: podSecurityLabels("restricted") } }, { parent: this });
    const chart = new k8s.helm.v4.Chart(
      name,
      {
        name: "cert-manager",
        chart: "cert-manager",
        repositoryOpts: { repo: "https://charts.jetstack.io" },
        version: args.version,
        namespace: CERT_MANAGER_NAMESPACE,
        values: renderCertManagerValues(),
      },
      { parent: this, dependsOn: [namespace] },
    );
    const after = (...deps: pulumi.Resource[]) => ({ parent: this, dependsOn: deps });
    const issuerNamespace = args.traefikNamespace;

    const caKey = new tls.PrivateKey(`${name}-ca`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const caCertificate = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        subject: { commonName: `${args.domain} homelab internal CA`, organization: "homelab" },
        validityPeriodHours: CA_VALIDITY_HOURS,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      { parent: this },
    );
    this.caCertificatePem = caCertificate.certPem;
    const caSecret = new k8s.core.v1.Secret(
      `${name}-ca`,
      {
        metadata: { name: CA_SECRET, namespace: issuerNamespace },
        type: "kubernetes.io/tls",
        stringData: pulumi.secret({ "tls.crt": caCertificate.certPem, "tls.key": caKey.privateKeyPem, "ca.crt": caCertificate.certPem }),
      },
      after(args.traefikReady),
    );
    const caIssuer = typedCustomResource<IIssuer>(
      `${name}-ca-issuer`,
      { apiVersion: "cert-manager.io/v1", kind: "Issuer", metadata: { name: ISSUERS.internalCa, namespace: issuerNamespace }, spec: { ca: { secretName: CA_SECRET } } },
      after(chart, caSecret),
    );

    const token = new k8s.core.v1.Secret(
      `${name}-cloudflare-token`,
      { metadata: { name: TOKEN_SECRET.name, namespace: issuerNamespace }, type: "Opaque", stringData: { [TOKEN_SECRET.key]: pulumi.secret(args.cloudflareToken) } },
      after(args.traefikReady),
    );
    const acmeIssuer = typedCustomResource<IIssuer>(
      `${name}-acme`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Issuer",
        metadata: { name: ISSUERS.acme, namespace: issuerNamespace },
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

    // A serving certificate in Traefik's namespace, its Secret copied by Reflector into exactly the namespaces listed.
    const servingCertificate = (certName: string, secretName: string, dnsNames: string[], issuer: string, reflectTo: string[], after: pulumi.Resource) =>
      typedCustomResource<ICertificate>(
        `${name}-${certName}`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: { name: certName, namespace: issuerNamespace },
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
    servingCertificate("wildcard", WILDCARD_SECRET, publicCertificateNames(args.domain, args.services), ISSUERS.acme, wildcardTargets(args.services), acmeIssuer);
    const internalNames = internalCertificateNames(args.domain, args.services);
    if (internalNames.length) servingCertificate("internal", INTERNAL_SECRET, internalNames, ISSUERS.internalCa, [], caIssuer);

    // The CA's Secret holds its key; only the certificate is copied out, into a ConfigMap that Reflector spreads.
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
