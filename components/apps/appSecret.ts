import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppSecretRead, AppSecretValues } from "../config/appSecrets";
import { appNamespace } from "../config/catalog";
import { ServiceConfig } from "../config/schema";
import { GLUETUN_CREDENTIALS } from "./gluetun";

/** Every Secret key the catalog's apps read: each app's secretEnv, and its Gluetun sidecar's VPN credentials. */
export function appSecretReads(catalog: ServiceConfig[]): AppSecretRead[] {
  return catalog.flatMap((s, i) => {
    if (!s.image) return [];
    const namespace = appNamespace(s);
    const fromEnv = Object.entries(s.secretEnv ?? {}).map(([variable, ref]) => ({ namespace, secret: ref.secret, key: ref.key, app: s.name, reader: `its ${variable}`, at: `services[${i}].secretEnv.${variable}` }));
    const fromVpn = s.vpn
      ? GLUETUN_CREDENTIALS[s.vpn.type].map(({ env, key }) => ({ namespace, secret: s.vpn!.credentialsSecret!, key, app: s.name, reader: `Gluetun's ${env}`, at: `services[${i}].vpn.credentialsSecret` }))
      : [];
    return [...fromEnv, ...fromVpn];
  });
}

export interface AppSecretArgs {
  /** The Secret's name and values, and the apps that read it. */
  secret: AppSecretValues;
  /** The Namespace object it lives in, created first. */
  namespace: pulumi.Resource;
}

/** Annotation listing the catalog apps that read a Secret, so `kubectl describe` says why it exists. */
export const READ_BY_ANNOTATION = "homelab.dev/read-by";

/**
 * A Secret an app's pod reads, filled from the operator's secret config. Not retained: it holds credentials, which the
 * operator can set again, not data, and a Secret left behind would keep its name taken when the app comes back.
 */
export class AppSecret extends pulumi.ComponentResource {
  readonly resource: k8s.core.v1.Secret;

  constructor(name: string, args: AppSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:apps:AppSecret", name, {}, opts);
    const { secret } = args;
    this.resource = new k8s.core.v1.Secret(
      name,
      { metadata: { name: secret.name, namespace: secret.namespace, annotations: { [READ_BY_ANNOTATION]: secret.apps.join(", ") } }, type: "Opaque", stringData: secret.data },
      { parent: this, dependsOn: [args.namespace] },
    );
    this.registerOutputs({ name: secret.name, namespace: secret.namespace });
  }
}

/** One AppSecret per Secret, in its namespace; returns, by app, the Secrets its workload waits for. */
export function registerAppSecrets(secrets: AppSecretValues[], namespaces: Map<string, { resource: pulumi.Resource }>, opts: pulumi.ComponentResourceOptions): Map<string, AppSecret[]> {
  const byApp = new Map<string, AppSecret[]>();
  for (const secret of secrets) {
    const component = new AppSecret(`secret-${secret.namespace}-${secret.name}`, { secret, namespace: namespaces.get(secret.namespace)!.resource }, opts);
    for (const app of secret.apps) byApp.set(app, [...(byApp.get(app) ?? []), component]);
  }
  return byApp;
}
