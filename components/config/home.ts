import { z } from "zod";
import { addressRangeOverlaps, cidrContains, cidrsOverlap, containsAddress, hostAddress, parseAddress, parseCidr } from "../contract/cidr";
import { alertingSettings, AlertingSettings, alertingShape } from "./alerting";
import { commonProblems, CommonConfig, commonShape, toCommon } from "./common";
import { parseWith, Problem } from "./parsing";
import { HeadscaleSettings, headscaleProblems, headscaleSettings, tailnetShape } from "./tailnet";
import { boolean, chartVersion, cidr, DNS_LABEL, hostOrAddress, image, integer, json, text } from "./values";

/** The home stack's own keys: the cluster, its load balancer, chart versions, images and the monitoring stack. */
const homeShape = {
  edgeStack: text(),
  /** Path of the kubeconfig; the provider's default (KUBECONFIG, ~/.kube/config) when unset. */
  kubeconfig: text().optional(),
  kubeContext: text(),
  k8sServiceHost: hostOrAddress(),
  k8sServicePort: integer(1, 65535).default(6443),
  podCidr: cidr(4).default("10.42.0.0/16"),
  lbPool: cidr(4, (c) => (c.prefix < 24 || c.prefix > 32 ? "must be between /24 and /32" : undefined)),
  dhcpRange: text().regex(/^\d+\.\d+\.\d+\.\d+-\d+\.\d+\.\d+\.\d+$/, 'must be "first-last", e.g. "192.168.1.100-192.168.1.199"').optional(),
  traefikAddress: text().optional(),
  l2Interfaces: json(z.array(text(), { error: "must be a list of interface name patterns" }).min(1, "must list at least one interface pattern")).default(["^eth[0-9]+", "^en.+"]),
  gatewayApi: boolean().default(false),
  gatewayApiVersion: chartVersion().default("v1.6.1"),
  ciliumVersion: chartVersion().default("1.20.0"),
  /** Cilium's WireGuard transparent encryption between nodes; off leaves the VXLAN overlay in clear on the LAN. */
  ciliumEncryption: boolean().default(true),
  traefikVersion: chartVersion().default("41.3.0"),
  certManagerVersion: chartVersion().default("v1.21.1"),
  reflectorVersion: chartVersion().default("10.0.63"),
  /** Brings up kernel WireGuard in the gateway pod; needs wg-quick, ip and bash. */
  gatewayWireguardImage: image().default("lscr.io/linuxserver/wireguard:1.0.20250521-r1-ls110"),
  gatewayHaproxyImage: image().default("docker.io/library/haproxy:3.4.4-alpine"),
  /** The cluster's Service network; Gluetun's kill switch lets traffic to it through, so cluster DNS keeps working. */
  serviceCidr: cidr(4).default("10.43.0.0/16"),
  gluetunImage: image().default("docker.io/qmcgaw/gluetun:v3.41.1"),
  /** The storage classes the cluster offers; when set, a volume naming any other is refused. */
  storageClasses: json(z.array(text().regex(DNS_LABEL, "must be a storage class name"), { error: "must be a list of storage class names" }).min(1, "must list at least one class")).optional(),
  /** Traefik forward-auth: where to ask whether a request may pass, and the answer headers handed to the app. */
  forwardAuth: json(
    z.strictObject(
      {
        address: text().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL such as "http://authelia.auth.svc.cluster.local:9091/api/authz/forward-auth"'),
        responseHeaders: z.array(text()).default([]),
        trustForwardHeader: boolean().default(false),
      },
      { error: "must be an object with address, and optionally responseHeaders and trustForwardHeader" },
    ),
  ).optional(),
  prometheusRetention: text().regex(/^\d+[hdwy]$/, 'must be a duration such as "15d"').default("15d"),
  prometheusStorageSize: text().regex(/^\d+(Mi|Gi|Ti)$/, 'must be a size such as "20Gi"').default("20Gi"),
  prometheusStorageClass: text().optional(),
  kubePrometheusStackVersion: chartVersion().default("88.5.3"),
  blackboxExporterVersion: chartVersion().default("11.17.2"),
  ...tailnetShape,
  ...alertingShape,
};
const homeSchema = z.object({ ...commonShape, ...homeShape });

export interface HomeConfig extends CommonConfig {
  edgeStack: string;
  cluster: { kubeconfig?: string; context: string; serviceHost: string; servicePort: number; podCidr: string; serviceCidr: string };
  loadBalancer: { pool: string; traefikAddress: string; interfaces: string[] };
  gatewayApi: { enabled: boolean; version: string };
  charts: { cilium: string; traefik: string; certManager: string; reflector: string };
  ciliumEncryption: boolean;
  gatewayImages: { wireguard: string; haproxy: string };
  gluetunImage: string;
  storageClasses?: string[];
  forwardAuth?: ForwardAuthConfig;
  monitoringCharts: { kubePrometheusStack: string; blackboxExporter: string };
  prometheus: { retention: string; storageSize: string; storageClass?: string };
  alerting: AlertingSettings;
  headscale: HeadscaleSettings;
}


/** Traefik's forwardAuth settings, shared by every app that turns it on. */
export interface ForwardAuthConfig {
  address: string;
  responseHeaders: string[];
  trustForwardHeader: boolean;
}

/** The address Traefik's Service takes when none is configured: the pool's first host (its network address if a /32). */
function defaultTraefikAddress(pool: string): string {
  const parsed = parseCidr(pool)!;
  return hostAddress(parsed, parsed.prefix >= 31 ? 0 : 1);
}

function homeProblems(c: z.infer<typeof homeSchema>): Problem[] {
  const problems: Problem[] = [];
  const lan = parseCidr(c.lanCidr)!;
  const pool = parseCidr(c.lbPool)!;
  const pods = parseCidr(c.podCidr)!;
  if (!cidrContains(lan, pool)) problems.push({ key: "lbPool", message: `"${c.lbPool}" is outside the home LAN ${c.lanCidr}; L2 announcements only answer for LAN addresses` });
  if (c.dhcpRange) {
    const [first, last] = c.dhcpRange.split("-").map((a) => parseAddress(a));
    if (!first || !last || first.family !== 4 || last.family !== 4 || first.value > last.value) {
      problems.push({ key: "dhcpRange", message: `"${c.dhcpRange}" must be two IPv4 addresses, the first not above the last` });
    } else if (addressRangeOverlaps(pool, first.value, last.value)) {
      problems.push({ key: "lbPool", message: `"${c.lbPool}" overlaps the DHCP range ${c.dhcpRange}; the router would hand out addresses the cluster announces` });
    }
  }
  for (const [key, other] of [["lanCidr", lan], ["tunnelCidr", parseCidr(c.tunnelCidr)!]] as const) {
    if (cidrsOverlap(pods, other)) problems.push({ key: "podCidr", message: `"${c.podCidr}" overlaps homelab:${key} ${other.text}` });
  }
  const services = parseCidr(c.serviceCidr)!;
  for (const [key, other] of [["lanCidr", lan], ["tunnelCidr", parseCidr(c.tunnelCidr)!], ["podCidr", pods]] as const) {
    if (cidrsOverlap(services, other)) problems.push({ key: "serviceCidr", message: `"${c.serviceCidr}" overlaps homelab:${key} ${other.text}` });
  }
  c.services.forEach((s, i) => {
    if (s.forwardAuth && !c.forwardAuth) problems.push({ key: `services[${i}].forwardAuth`, message: `"${s.name}" asks for forward-auth, but homelab:forwardAuth is not set` });
    if (!c.storageClasses) return;
    (s.storage ?? []).forEach((volume, j) => {
      if (volume.storageClass && !c.storageClasses!.includes(volume.storageClass)) {
        problems.push({ key: `services[${i}].storage[${j}].storageClass`, message: `"${volume.storageClass}" is not a class the cluster offers; homelab:storageClasses lists ${c.storageClasses!.join(", ")}` });
      }
    });
  });
  for (const key of ["prometheusStorageClass", "headscaleStorageClass"] as const) {
    const storageClass = c[key];
    if (c.storageClasses && storageClass && !c.storageClasses.includes(storageClass)) {
      problems.push({ key, message: `"${storageClass}" is not a class the cluster offers; homelab:storageClasses lists ${c.storageClasses.join(", ")}` });
    }
  }
  problems.push(...headscaleProblems(c));
  problems.push(...traefikChartProblems(c));
  const address = c.traefikAddress ?? defaultTraefikAddress(c.lbPool);
  if (!containsAddress(pool, address)) {
    problems.push({ key: "traefikAddress", message: `"${address}" must be an IPv4 address inside homelab:lbPool ${c.lbPool}` });
  }
  return problems;
}

/**
 * The Traefik chart versions this program can install: 34 and later, whose redirections name an entrypoint; and with
 * Gateway API on, 40.2.0 and later, since before it the chart's crds/ ships the Gateway API CRDs that the Cilium step
 * installs too, and two owners of one CRD fail on create (traefik-helm-chart ab7dbb15, "remove Gateway API CRDs").
 */
function traefikChartProblems(c: { traefikVersion: string; gatewayApi: boolean }): Problem[] {
  const [major, minor] = c.traefikVersion.replace(/^v/, "").split(".").map(Number);
  if (major < 34) return [{ key: "traefikVersion", message: `"${c.traefikVersion}" is older than chart 34, whose entrypoint redirections the Traefik values are written for` }];
  if (c.gatewayApi && (major < 40 || (major === 40 && minor < 2))) {
    return [{ key: "traefikVersion", message: `"${c.traefikVersion}" ships the Gateway API CRDs (until chart 40.2.0), which homelab:gatewayApi installs too; use 40.2.0 or later, or turn gatewayApi off` }];
  }
  return [];
}

/** Parses the home stack's config. */
export function parseHomeConfig(raw: Record<string, unknown>): HomeConfig {
  const c = parseWith(homeSchema, raw, (v) => [...commonProblems(v), ...homeProblems(v)]);
  return {
    ...toCommon(c),
    edgeStack: c.edgeStack,
    cluster: { kubeconfig: c.kubeconfig, context: c.kubeContext, serviceHost: c.k8sServiceHost, servicePort: c.k8sServicePort, podCidr: c.podCidr, serviceCidr: c.serviceCidr },
    loadBalancer: { pool: c.lbPool, traefikAddress: c.traefikAddress ?? defaultTraefikAddress(c.lbPool), interfaces: c.l2Interfaces },
    gatewayApi: { enabled: c.gatewayApi, version: c.gatewayApiVersion },
    charts: { cilium: c.ciliumVersion, traefik: c.traefikVersion, certManager: c.certManagerVersion, reflector: c.reflectorVersion },
    ciliumEncryption: c.ciliumEncryption,
    gatewayImages: { wireguard: c.gatewayWireguardImage, haproxy: c.gatewayHaproxyImage },
    gluetunImage: c.gluetunImage,
    storageClasses: c.storageClasses,
    forwardAuth: c.forwardAuth,
    monitoringCharts: { kubePrometheusStack: c.kubePrometheusStackVersion, blackboxExporter: c.blackboxExporterVersion },
    prometheus: { retention: c.prometheusRetention, storageSize: c.prometheusStorageSize, storageClass: c.prometheusStorageClass },
    alerting: alertingSettings(c.alertReceivers, raw.alertReceiverSecrets),
    headscale: headscaleSettings(c),
  };
}
