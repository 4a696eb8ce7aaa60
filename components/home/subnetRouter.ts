import { ICiliumNetworkPolicy } from "@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { exemptionAnnotation } from "../contract/policyNames";
import { SUBNET_ROUTER_USER } from "../config/schema";
import { APP_LABEL, fromNamespace, internet, namespacePolicies, PolicySpec, registerNetworkPolicies, tcp } from "../apps/networkPolicies";
import { typedCustomResource } from "./customResource";
import { podSecurityLabels, RESTRICTED_CONTAINER, restrictedPod } from "./podSecurity";
import { renderBootstrapScript } from "./tailnetBootstrap";
import { ENTRYPOINTS } from "./traefikValues";

export interface SubnetRouterArgs {
  /** Headscale's public URL, which the router logs in to. */
  serverUrl: string;
  /** The route the router advertises, and Headscale auto-approves. */
  lanCidr: string;
  /** Headscale's namespace and pod, where the bootstrap Job runs the CLI. */
  headscale: { namespace: string; pod: string; server: pulumi.Resource; namespaceResource: pulumi.Resource };
  /** Traefik's namespace: traffic to its LAN address lands on its pods. */
  traefikNamespace: string;
  images: { router: string; bootstrap: string };
}

export const ROUTER_NAMESPACE = "tailnet-router";
/** The Secret the bootstrap Job writes the router's key into. */
export const AUTH_SECRET = "subnet-router-authkey";
const BOOTSTRAP = "headscale-bootstrap";
const HEALTH_PORT = 9002;
const ROUTER_UID = 1000;
const routerLabels = { [APP_LABEL]: "subnet-router" };
const bootstrapLabels = { [APP_LABEL]: BOOTSTRAP };

/** The router's openings: out to the internet (the control server, DERP, peers), into the LAN it routes, and to Traefik. */
export function routerPolicies(lanCidr: string, traefikNamespace: string): PolicySpec[] {
  return [
    ...namespacePolicies(),
    {
      name: "subnet-router-egress",
      spec: {
        podSelector: { matchLabels: routerLabels },
        policyTypes: ["Egress"],
        egress: [
          { to: internet() },
          { to: [{ ipBlock: { cidr: lanCidr } }] },
          // Cilium translates Traefik's LAN address to its pods before policy applies.
          { to: [fromNamespace(traefikNamespace)], ports: tcp([ENTRYPOINTS.web.port, ENTRYPOINTS.websecure.port]) },
        ],
      },
    },
  ];
}

/**
 * A Tailscale subnet router for the LAN, registered with Headscale by a key no one pastes: the program creates an
 * empty Secret, a bootstrap Job (kubectl and a shell, RBAC for exec into Headscale's one pod and for that one Secret)
 * runs the Headscale CLI and writes a single-use key, valid for a day, into it, and the router reads it. It runs in userspace mode, so it
 * needs no capability and no device.
 */
export class SubnetRouter extends pulumi.ComponentResource {
  constructor(name: string, args: SubnetRouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:SubnetRouter", name, {}, opts);
    const hsNamespace = args.headscale.namespace;
    // It holds the router's state claim: deleting the namespace would delete the claim with it.
    const ns = new k8s.core.v1.Namespace(name, { metadata: { name: ROUTER_NAMESPACE, labels: podSecurityLabels("restricted") } }, { parent: this, retainOnDelete: true });
    const inNamespace = { parent: this, dependsOn: [ns] };
    // Created empty; the key is the Job's to write, so later updates never touch it.
    const secret = new k8s.core.v1.Secret(`${name}-authkey`, { metadata: { name: AUTH_SECRET, namespace: ROUTER_NAMESPACE }, type: "Opaque" }, { ...inNamespace, ignoreChanges: ["data", "stringData"] });

    const inHeadscale = { parent: this, dependsOn: [args.headscale.namespaceResource] };
    const account = new k8s.core.v1.ServiceAccount(`${name}-bootstrap`, { metadata: { name: BOOTSTRAP, namespace: hsNamespace } }, inHeadscale);
    const subject = [{ kind: "ServiceAccount", name: BOOTSTRAP, namespace: hsNamespace }];
    const grant = (suffix: string, namespace: string, rules: k8s.types.input.rbac.v1.PolicyRule[]) => {
      const role = new k8s.rbac.v1.Role(`${name}-${suffix}`, { metadata: { name: BOOTSTRAP, namespace }, rules }, { parent: this, dependsOn: [ns, args.headscale.namespaceResource] });
      return new k8s.rbac.v1.RoleBinding(
        `${name}-${suffix}`,
        { metadata: { name: BOOTSTRAP, namespace }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: BOOTSTRAP }, subjects: subject },
        { parent: this, dependsOn: [role] },
      );
    };
    // resourceNames works for get, update, patch and exec's create on a named pod, which is why the pod's name is fixed.
    const bindings = [
      grant("exec", hsNamespace, [
        { apiGroups: [""], resources: ["pods"], resourceNames: [args.headscale.pod], verbs: ["get"] },
        // kubectl execs over WebSockets, an HTTP GET, which API servers before 1.35 authorise as "get".
        { apiGroups: [""], resources: ["pods/exec"], resourceNames: [args.headscale.pod], verbs: ["get", "create"] },
      ]),
      grant("secret", ROUTER_NAMESPACE, [{ apiGroups: [""], resources: ["secrets"], resourceNames: [AUTH_SECRET], verbs: ["get", "update", "patch"] }]),
    ];
    const script = new k8s.core.v1.ConfigMap(
      `${name}-bootstrap`,
      {
        metadata: { name: BOOTSTRAP, namespace: hsNamespace },
        data: {
          "bootstrap.sh": renderBootstrapScript({ headscaleNamespace: hsNamespace, headscalePod: args.headscale.pod, user: SUBNET_ROUTER_USER, secretNamespace: ROUTER_NAMESPACE, secretName: AUTH_SECRET, retrySeconds: 5 }),
        },
      },
      inHeadscale,
    );
    typedCustomResource<ICiliumNetworkPolicy>(
      `${name}-bootstrap-apiserver`,
      // The Job's only peer is the API server, an entity NetworkPolicy cannot name under Cilium.
      { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: `${BOOTSTRAP}-apiserver`, namespace: hsNamespace }, spec: { endpointSelector: { matchLabels: bootstrapLabels }, egress: [{ toEntities: ["kube-apiserver"] }] } },
      inHeadscale,
    );
    const job = new k8s.batch.v1.Job(
      `${name}-bootstrap`,
      {
        metadata: {
          name: BOOTSTRAP,
          namespace: hsNamespace,
          labels: bootstrapLabels,
          annotations: { [exemptionAnnotation("k8s-service-account-token")]: "the bootstrap Job calls the API: exec into Headscale's pod and write the router's Secret, nothing else" },
        },
        spec: {
          backoffLimit: 4,
          template: {
            metadata: { labels: bootstrapLabels },
            spec: {
              serviceAccountName: BOOTSTRAP,
              automountServiceAccountToken: true,
              restartPolicy: "OnFailure",
              securityContext: restrictedPod(65534, { fsGroup: false }),
              containers: [
                {
                  name: "bootstrap",
                  image: args.images.bootstrap,
                  command: ["sh", "/scripts/bootstrap.sh"],
                  env: [{ name: "HOME", value: "/tmp" }],
                  securityContext: RESTRICTED_CONTAINER,
                  resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                  volumeMounts: [{ name: "scripts", mountPath: "/scripts", readOnly: true }, { name: "tmp", mountPath: "/tmp" }],
                },
              ],
              volumes: [{ name: "scripts", configMap: { name: BOOTSTRAP } }, { name: "tmp", emptyDir: {} }],
            },
          },
        },
      },
      { parent: this, dependsOn: [args.headscale.server, account, secret, script, ...bindings] },
    );

    const state = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-state`,
      { metadata: { name: "subnet-router-state", namespace: ROUTER_NAMESPACE, labels: routerLabels }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "64Mi" } } } },
      // The node key lives here: a restarted router keeps its identity instead of registering anew.
      { ...inNamespace, retainOnDelete: true },
    );
    const health = { httpGet: { path: "/healthz", port: HEALTH_PORT } };
    new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: "subnet-router", namespace: ROUTER_NAMESPACE, labels: routerLabels },
        spec: {
          replicas: 1,
          // One node key, one writer of its claim.
          strategy: { type: "Recreate" },
          selector: { matchLabels: routerLabels },
          template: {
            metadata: { labels: routerLabels },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPod(ROUTER_UID),
              containers: [
                {
                  name: "tailscale",
                  image: args.images.router,
                  env: [
                    { name: "TS_AUTHKEY", valueFrom: { secretKeyRef: { name: AUTH_SECRET, key: "authkey" } } },
                    { name: "TS_EXTRA_ARGS", value: `--login-server=${args.serverUrl}` },
                    { name: "TS_ROUTES", value: args.lanCidr },
                    { name: "TS_HOSTNAME", value: "subnet-router" },
                    // Userspace networking: no TUN device, no NET_ADMIN.
                    { name: "TS_USERSPACE", value: "true" },
                    { name: "TS_STATE_DIR", value: "/var/lib/tailscale" },
                    { name: "TS_SOCKET", value: "/tmp/tailscaled.sock" },
                    // State on the claim, not in a Secret, so the pod needs no API access.
                    { name: "TS_KUBE_SECRET", value: "" },
                    // Log in with the key once; later starts reuse the node's state, so a restart never needs the key again.
                    { name: "TS_AUTH_ONCE", value: "true" },
                    { name: "TS_ENABLE_HEALTH_CHECK", value: "true" },
                    { name: "TS_LOCAL_ADDR_PORT", value: `[::]:${HEALTH_PORT}` },
                  ],
                  ports: [{ name: "health", containerPort: HEALTH_PORT }],
                  securityContext: RESTRICTED_CONTAINER,
                  resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                  readinessProbe: { ...health, periodSeconds: 10 },
                  livenessProbe: { ...health, periodSeconds: 30, failureThreshold: 3 },
                  volumeMounts: [{ name: "state", mountPath: "/var/lib/tailscale" }, { name: "tmp", mountPath: "/tmp" }],
                },
              ],
              volumes: [{ name: "state", persistentVolumeClaim: { claimName: "subnet-router-state" } }, { name: "tmp", emptyDir: {} }],
            },
          },
        },
      },
      { parent: this, dependsOn: [job, state] },
    );
    registerNetworkPolicies(name, ROUTER_NAMESPACE, routerPolicies(args.lanCidr, args.traefikNamespace), inNamespace);
    this.registerOutputs({});
  }
}
