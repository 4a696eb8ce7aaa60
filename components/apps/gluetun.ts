import type * as k8s from "@pulumi/kubernetes";
import { ServiceConfig } from "../config/schema";
import { PodSecurityWaiver } from "../home/podSecurity";

type Vpn = NonNullable<ServiceConfig["vpn"]>;
type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;

export interface GluetunSpec {
  vpn: Vpn;
  image: string;
  /** The app's port, which Gluetun's firewall must let Traefik reach. */
  appPort: number;
  /**
   * Networks let through the kill switch beside the tunnel: the pod network. Not the Service network: nothing in the
   * pod calls a Service, and cluster DNS is exactly what must not be reached (it resolves over the home ISP).
   */
  clusterCidrs: string[];
}

/** Where a VPN's endpoints listen when the entry does not say. */
export const DEFAULT_ENDPOINT_PORTS: Record<Vpn["type"], number[]> = { wireguard: [51820], openvpn: [1194, 443] };
const HEALTH_PORT = 9999;

type PodDns = Pick<k8s.types.input.core.v1.PodSpec, "dnsPolicy" | "dnsConfig">;
/**
 * The pod's resolver for every container: Gluetun's DNS server on the shared loopback. Gluetun rewrites only its own
 * container's resolv.conf (v3.41.1 internal/dns/setup.go, and only where the file is writable); the app's keeps
 * kubelet's cluster DNS otherwise, which Cilium's socket load-balancing turns into a CoreDNS pod address, inside the
 * pod network the kill switch lets through.
 */
export const GLUETUN_POD_DNS: PodDns = { dnsPolicy: "None", dnsConfig: { nameservers: ["127.0.0.1"] } };

/** The variables Gluetun takes the VPN credentials from, and the key of the credentials Secret each one reads. */
export const GLUETUN_CREDENTIALS: Record<Vpn["type"], { env: string; key: string }[]> = {
  wireguard: [
    { env: "WIREGUARD_PRIVATE_KEY", key: "wireguard_private_key" },
    { env: "WIREGUARD_ADDRESSES", key: "wireguard_addresses" },
  ],
  openvpn: [
    { env: "OPENVPN_USER", key: "openvpn_user" },
    { env: "OPENVPN_PASSWORD", key: "openvpn_password" },
  ],
};

/**
 * The Gluetun sidecar that carries all of a pod's traffic (containers share the network namespace). Its firewall is
 * the kill switch: nothing leaves but through the tunnel, except to the cluster's own networks.
 */
export function gluetunSidecar(spec: GluetunSpec): { container: Container; volumes: Volume[]; dns: PodDns; waivers: PodSecurityWaiver[]; endpointPorts: number[] } {
  const { vpn } = spec;
  const credentials = GLUETUN_CREDENTIALS[vpn.type].map(({ env, key }) => ({ name: env, valueFrom: { secretKeyRef: { name: vpn.credentialsSecret!, key } } }));
  const env = [
    { name: "VPN_SERVICE_PROVIDER", value: vpn.provider },
    { name: "VPN_TYPE", value: vpn.type },
    ...(vpn.region ? [{ name: "SERVER_REGIONS", value: vpn.region }] : []),
    // Kernel WireGuard needs no /dev/net/tun, so no host device reaches the pod.
    ...(vpn.type === "wireguard" ? [{ name: "WIREGUARD_IMPLEMENTATION", value: "kernel" }] : []),
    ...credentials,
    // No key turns the kill switch on: it is on unless FIREWALL_ENABLED_DISABLING_IT_SHOOTS_YOU_IN_YOUR_FOOT is off
    // (v3.41.1 internal/configuration/settings/firewall.go), which this sidecar never sets.
    { name: "FIREWALL_INPUT_PORTS", value: String(spec.appPort) },
    { name: "FIREWALL_OUTBOUND_SUBNETS", value: spec.clusterCidrs.join(",") },
    // Gluetun's own DNS (DNS over TLS, through the tunnel) instead of cluster DNS, which forwards over the home ISP.
    { name: "DNS_KEEP_NAMESERVER", value: "off" },
    { name: "VPN_PORT_FORWARDING", value: vpn.portForwarding ? "on" : "off" },
    { name: "HEALTH_SERVER_ADDRESS", value: `:${HEALTH_PORT}` },
  ];
  const tun = vpn.type === "openvpn";
  const probe = { httpGet: { path: "/", port: HEALTH_PORT } };
  return {
    container: {
      name: "gluetun",
      image: spec.image,
      env,
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: false, runAsUser: 0, capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } },
      resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "256Mi" } },
      readinessProbe: { ...probe, periodSeconds: 10 },
      livenessProbe: { ...probe, periodSeconds: 30, failureThreshold: 3 },
      volumeMounts: [{ name: "gluetun-state", mountPath: "/gluetun" }, { name: "gluetun-tmp", mountPath: "/tmp" }, ...(tun ? [{ name: "tun", mountPath: "/dev/net/tun" }] : [])],
    },
    volumes: [{ name: "gluetun-state", emptyDir: {} }, { name: "gluetun-tmp", emptyDir: {} }, ...(tun ? [{ name: "tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } }] : [])],
    dns: GLUETUN_POD_DNS,
    waivers: gluetunWaivers(vpn),
    endpointPorts: vpn.endpointPorts ?? DEFAULT_ENDPOINT_PORTS[vpn.type],
  };
}

/** The Pod Security controls a Gluetun sidecar needs waived in its namespace, each with its reason. */
export function gluetunWaivers(vpn: Vpn): PodSecurityWaiver[] {
  return [
    { rule: "capabilities", reason: "the gluetun sidecar adds NET_ADMIN to bring up the tunnel and its kill-switch firewall" },
    { rule: "runAsNonRoot", reason: "the gluetun sidecar runs as root to manage the pod's network" },
    ...(vpn.type === "openvpn" ? [{ rule: "hostPath", reason: "OpenVPN needs /dev/net/tun from the node" }] : []),
  ];
}

/** Pod Security waivers named as the policy pack's rules, for the workload's exemption annotations. */
export const WAIVER_RULES: Record<string, string[]> = {
  capabilities: ["k8s-capabilities"],
  runAsNonRoot: ["k8s-run-as-non-root", "k8s-run-as-user"],
  hostPath: ["k8s-host-path", "k8s-volume-types"],
};
