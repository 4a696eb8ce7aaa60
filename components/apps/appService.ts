import { ICiliumNetworkPolicy } from "@kubernetes-models/cilium/cilium.io/v2/CiliumNetworkPolicy";
import { IPodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ForwardAuthConfig, ServiceConfig } from "../config/schema";
import { typedCustomResource } from "../home/customResource";
import { RESTRICTED_CONTAINER, restrictedPod } from "../home/podSecurity";
import { exemptionAnnotation } from "../contract/policyNames";
import { gluetunSidecar, WAIVER_RULES } from "./gluetun";
import { registerRoute } from "./route";
import { APP_LABEL, appNetworkPolicies, fqdnPolicy, registerNetworkPolicies } from "./networkPolicies";

export interface AppServiceArgs {
  /** The catalog entry; it must have an image. */
  service: ServiceConfig;
  /** The whole catalog, to resolve egress to other services and admit the apps that call this one. */
  catalog: ServiceConfig[];
  /** The app's namespace, already created (alone or with its group). */
  namespace: { name: string; resource: pulumi.Resource };
  /** Namespaces the app's policies admit: Traefik's to its port, monitoring's to its metrics port. */
  namespaces: { traefik: string; monitoring: string };
  /** For apps with a VPN: the Gluetun image, and the cluster networks its kill switch lets through. */
  vpn?: { image: string; clusterCidrs: string[] };
  /** Traefik's forward-auth settings, for an entry that turns it on. */
  forwardAuth?: ForwardAuthConfig;
  /** Whether Prometheus runs, so a declared metrics port gets a PodMonitor. */
  scraped?: boolean;
  /** The Secrets the app's pods read (secretEnv, VPN credentials), which its workload waits for. */
  secrets?: pulumi.Resource[];
}

export const DEFAULT_USER = 1000;
const DEFAULT_RESOURCES = { cpu: "50m", memory: "128Mi", memoryLimit: "512Mi" };

/**
 * One catalog app in its namespace: a hardened workload, a ClusterIP Service, a TLS route on its hostname bound by
 * exposure (optionally behind forward-auth), claims that outlive it, and its openings in the namespace's default deny.
 */
export class AppService extends pulumi.ComponentResource {
  readonly namespace: string;

  constructor(name: string, args: AppServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:apps:AppService", name, {}, opts);
    const s = args.service;
    if (!s.image) throw new Error(`AppService ${name}: catalog entry "${s.name}" has no image`);
    if (s.vpn && !args.vpn) throw new Error(`AppService ${name}: "${s.name}" declares a VPN but no Gluetun settings were given`);
    const namespace = args.namespace.name;
    this.namespace = namespace;
    const labels = { [APP_LABEL]: s.name };
    const sidecar = s.vpn ? gluetunSidecar({ vpn: s.vpn, image: args.vpn!.image, appPort: s.port, clusterCidrs: args.vpn!.clusterCidrs }) : undefined;
    const inNamespace = { parent: this, dependsOn: [args.namespace.resource] };
    // A pod whose Secret is missing sits in CreateContainerConfigError, so the workload comes after its Secrets.
    const workloadDeps = [args.namespace.resource, ...(args.secrets ?? [])];

    const claims = (s.storage ?? []).map(
      (volume) =>
        new k8s.core.v1.PersistentVolumeClaim(
          `${name}-${volume.name}`,
          {
            metadata: { name: `${s.name}-${volume.name}`, namespace, labels },
            spec: { accessModes: [volume.accessMode], resources: { requests: { storage: volume.size } }, ...(volume.storageClass ? { storageClassName: volume.storageClass } : {}) },
          },
          // Data outlives the app: removing it from the catalog leaves the claim, and the plan says so.
          { ...inNamespace, retainOnDelete: true },
        ),
    );

    const resources = { ...DEFAULT_RESOURCES, ...s.resources };
    const user = s.runAsUser ?? DEFAULT_USER;
    const probe = s.healthPath ? { httpGet: { path: s.healthPath, port: s.port } } : { tcpSocket: { port: s.port } };
    const writable = ["/tmp", ...(s.writablePaths ?? [])];
    const podSpec = {
      automountServiceAccountToken: false,
      securityContext: restrictedPod(user),
      // Behind a VPN sidecar the pod asks Gluetun's own resolver, never cluster DNS, which would leave by the home ISP.
      ...(sidecar?.dns ?? {}),
      containers: [
        ...(sidecar ? [sidecar.container] : []),
        {
          name: s.name,
          image: s.image,
          ports: [{ name: "http", containerPort: s.port }, ...(s.metricsPort ? [{ name: "metrics", containerPort: s.metricsPort }] : [])],
          env: [
            ...Object.entries(s.env ?? {}).map(([key, value]) => ({ name: key, value })),
            ...Object.entries(s.secretEnv ?? {}).map(([key, ref]) => ({ name: key, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } } })),
          ],
          securityContext: RESTRICTED_CONTAINER,
          resources: { requests: { cpu: resources.cpu, memory: resources.memory }, limits: { memory: resources.memoryLimit } },
          readinessProbe: { ...probe, periodSeconds: 10 },
          livenessProbe: { ...probe, periodSeconds: 20, failureThreshold: 3 },
          volumeMounts: [
            ...(s.storage ?? []).map((v) => ({ name: v.name, mountPath: v.mountPath })),
            ...writable.map((path, i) => ({ name: `scratch-${i}`, mountPath: path })),
          ],
        },
      ],
      volumes: [
        ...(s.storage ?? []).map((v) => ({ name: v.name, persistentVolumeClaim: { claimName: `${s.name}-${v.name}` } })),
        ...writable.map((_, i) => ({ name: `scratch-${i}`, emptyDir: {} })),
        ...(sidecar?.volumes ?? []),
      ],
    };
    const template = { metadata: { labels }, spec: podSpec };
    // The policy pack's waivers match the namespace's Pod Security waivers, reason for reason.
    const exemptions = Object.fromEntries((sidecar?.waivers ?? []).flatMap((w) => WAIVER_RULES[w.rule].map((rule) => [exemptionAnnotation(rule), w.reason])));
    const workloadMeta = { name: s.name, namespace, labels, ...(sidecar ? { annotations: exemptions } : {}) };
    if (claims.length) {
      new k8s.apps.v1.StatefulSet(name, { metadata: workloadMeta, spec: { replicas: 1, serviceName: s.name, selector: { matchLabels: labels }, template } }, { parent: this, dependsOn: [...workloadDeps, ...claims] });
    } else {
      new k8s.apps.v1.Deployment(name, { metadata: workloadMeta, spec: { replicas: 1, selector: { matchLabels: labels }, template } }, { parent: this, dependsOn: workloadDeps });
    }

    new k8s.core.v1.Service(name, { metadata: { name: s.name, namespace, labels }, spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: s.port, targetPort: s.port }] } }, inNamespace);
    registerRoute(name, { service: s, namespace, backend: { name: s.name, port: s.port }, forwardAuth: args.forwardAuth }, inNamespace);
    if (s.metricsPort && args.scraped) {
      typedCustomResource<IPodMonitor>(
        `${name}-metrics`,
        { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", metadata: { name: s.name, namespace, labels }, spec: { selector: { matchLabels: labels }, podMetricsEndpoints: [{ port: "metrics" }] } },
        inNamespace,
      );
    }

    const policies = appNetworkPolicies(s, { ...args.namespaces, catalog: args.catalog, vpnEndpointPorts: sidecar?.endpointPorts });
    registerNetworkPolicies(undefined, namespace, policies, inNamespace);
    const fqdn = fqdnPolicy(s);
    if (fqdn) {
      typedCustomResource<ICiliumNetworkPolicy>(`${name}-fqdn-egress`, { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata: { name: `${s.name}-fqdn-egress`, namespace }, spec: fqdn as ICiliumNetworkPolicy["spec"] }, inNamespace);
    }
    this.registerOutputs({ namespace });
  }
}
