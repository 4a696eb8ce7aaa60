import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HEADPLANE_NAMESPACE, HEADSCALE_NAMESPACE } from "../config/catalog";
import { ForwardAuthConfig, ServiceConfig } from "../config/schema";
import { admit, APP_LABEL, fromNamespace, namespacePolicies, PolicySpec, registerNetworkPolicies, tcp } from "../apps/networkPolicies";
import { registerRoute } from "../apps/route";
import { configHash } from "./configHash";
import { HEADSCALE_LABELS } from "./headscale";
import { COOKIE_SECRET_FILE, COOKIE_SECRET_LENGTH, HEADPLANE_PATHS, HEADPLANE_PREFIX, renderHeadplaneConfig } from "./headplaneConfig";
import { podSecurityLabels, RESTRICTED_CONTAINER, restrictedPod } from "./podSecurity";

export interface HeadplaneArgs {
  /** The catalog's headplane entry: its hostname, its port (Headplane's listen port) and forward-auth switch. */
  entry: ServiceConfig;
  /** Headplane's image, pinned (headplaneImage). */
  image: string;
  /** Headscale as Headplane sees it: its API inside the cluster, its public URL, its rendered config and its port. */
  headscale: { internalUrl: string; serverUrl: string; config: pulumi.Input<string>; port: number };
  /** Traefik's namespace, admitted to the listen port. */
  traefikNamespace: string;
  /** Forward-auth settings, when the entry asks for it. */
  forwardAuth?: ForwardAuthConfig;
}

const NONROOT_UID = 65532;
const labels = { [APP_LABEL]: "headplane" };

/** Headplane's openings in its namespace's default deny: Traefik in to the UI, and out to Headscale's API only. */
export function headplanePolicies(listenPort: number, headscalePort: number, traefikNamespace: string): PolicySpec[] {
  const podSelector = { matchLabels: labels };
  return [
    ...namespacePolicies(),
    { name: "headplane-from-traefik", spec: admit(podSelector, [traefikNamespace], [listenPort]) },
    {
      name: "headplane-to-headscale",
      spec: { podSelector, policyTypes: ["Egress"], egress: [{ to: [{ ...fromNamespace(HEADSCALE_NAMESPACE), podSelector: { matchLabels: HEADSCALE_LABELS } }], ports: tcp([headscalePort]) }] },
    },
  ];
}

/** Sends the bare host to the UI, which Headplane serves only under its prefix. */
export function prefixRedirect(): { suffix: string; spec: { redirectRegex: { regex: string; replacement: string; permanent: boolean } } } {
  return { suffix: "to-prefix", spec: { redirectRegex: { regex: "^https://([^/]+)/?$", replacement: `https://\${1}${HEADPLANE_PREFIX}/`, permanent: false } } };
}

/**
 * Headplane, Headscale's web UI, in a restricted namespace of its own and reached only over the tailnet. People log in
 * with a Headscale API key they mint, so no admin key is stored in the cluster. It calls Headscale's API inside the
 * cluster and shows Headscale's config read-only: that file belongs to this program, so the UI manages machines,
 * users, routes and keys, never settings. The session cookie's secret is random, kept in a Secret.
 */
export class Headplane extends pulumi.ComponentResource {
  /** The rendered config.yaml, for the plan output. */
  readonly config: string;

  constructor(name: string, args: HeadplaneArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:Headplane", name, {}, opts);
    const { entry } = args;
    const ns = new k8s.core.v1.Namespace(name, { metadata: { name: HEADPLANE_NAMESPACE, labels: podSecurityLabels("restricted") } }, { parent: this });
    const inNamespace = { parent: this, dependsOn: [ns] };

    this.config = renderHeadplaneConfig({ listenPort: entry.port, headscaleUrl: args.headscale.internalUrl, headscalePublicUrl: args.headscale.serverUrl });
    const files = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      { metadata: { name: "headplane", namespace: HEADPLANE_NAMESPACE }, data: { "config.yaml": this.config, "headscale-config.yaml": args.headscale.config } },
      inNamespace,
    );
    // Half as many bytes as characters: the hex form is exactly the length Headplane wants.
    const cookieBytes = new random.RandomBytes(`${name}-cookie-secret`, { length: COOKIE_SECRET_LENGTH / 2 }, { parent: this });
    const cookie = new k8s.core.v1.Secret(
      `${name}-cookie-secret`,
      { metadata: { name: "headplane-cookie-secret", namespace: HEADPLANE_NAMESPACE }, type: "Opaque", stringData: { secret: pulumi.secret(cookieBytes.hex) } },
      inNamespace,
    );

    const health = { httpGet: { path: `${HEADPLANE_PREFIX}/healthz`, port: entry.port } };
    new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: "headplane", namespace: HEADPLANE_NAMESPACE, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            // Headplane reads its files once: a changed config (its own or Headscale's) restarts it.
            metadata: { labels, annotations: { "homelab.dev/config-hash": configHash([this.config, args.headscale.config]) } },
            spec: {
              automountServiceAccountToken: false,
              // Headplane reads every HEADPLANE_* variable as config; the Service's injected HEADPLANE_PORT_* must not reach it.
              enableServiceLinks: false,
              securityContext: restrictedPod(NONROOT_UID),
              containers: [
                {
                  name: "headplane",
                  image: args.image,
                  ports: [{ name: "http", containerPort: entry.port }],
                  securityContext: RESTRICTED_CONTAINER,
                  resources: { requests: { cpu: "20m", memory: "96Mi" }, limits: { memory: "384Mi" } },
                  // Ready only while Headscale answers; alive while the server accepts connections, so a Headscale
                  // outage never restarts the UI.
                  readinessProbe: { ...health, periodSeconds: 10 },
                  livenessProbe: { tcpSocket: { port: entry.port }, periodSeconds: 30, failureThreshold: 3 },
                  volumeMounts: [
                    { name: "config", mountPath: `${HEADPLANE_PATHS.config}/config.yaml`, subPath: "config.yaml", readOnly: true },
                    { name: "config", mountPath: `${HEADPLANE_PATHS.headscaleConfig}/config.yaml`, subPath: "headscale-config.yaml", readOnly: true },
                    { name: "data", mountPath: HEADPLANE_PATHS.data },
                    { name: "cookie-secret", mountPath: HEADPLANE_PATHS.secrets, readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              // Without OIDC and the agent, Headplane keeps nothing worth a claim: its data is a cache.
              volumes: [
                { name: "config", configMap: { name: "headplane" } },
                // Readable by the pod's fsGroup, which Headplane's user is in.
                { name: "cookie-secret", secret: { secretName: "headplane-cookie-secret", items: [{ key: "secret", path: COOKIE_SECRET_FILE.split("/").pop()! }], defaultMode: 0o440 } },
                { name: "data", emptyDir: {} },
                { name: "tmp", emptyDir: {} },
              ],
            },
          },
        },
      },
      { parent: this, dependsOn: [ns, files, cookie] },
    );
    new k8s.core.v1.Service(
      name,
      { metadata: { name: "headplane", namespace: HEADPLANE_NAMESPACE, labels }, spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: entry.port, targetPort: entry.port }] } },
      inNamespace,
    );
    registerRoute(name, { service: entry, namespace: HEADPLANE_NAMESPACE, backend: { name: "headplane", port: entry.port }, forwardAuth: args.forwardAuth, middlewares: [prefixRedirect()] }, inNamespace);
    registerNetworkPolicies(name, HEADPLANE_NAMESPACE, headplanePolicies(entry.port, args.headscale.port, args.traefikNamespace), inNamespace);
    this.registerOutputs({ config: this.config });
  }
}
