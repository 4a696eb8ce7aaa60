import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { exemptionAnnotation } from "../contract/policyNames";
import { PodSecurityWaiver } from "./podSecurity";

/** The Pod Security controls a namespace with a tunnel-setup init container waives, each with its reason. */
export const TUNNEL_SETUP_WAIVERS: PodSecurityWaiver[] = [
  { rule: "capabilities", reason: "the tunnel-setup init container adds NET_ADMIN to create wg0 and its policy routes" },
  { rule: "runAsNonRoot", reason: "the tunnel-setup init container runs as root, as ip and wg require" },
];

/** The policy pack's exemptions for a workload with a tunnel-setup init container; they match the waivers above. */
export function tunnelSetupExemptions(mainContainer: string): Record<string, string> {
  return {
    [exemptionAnnotation("k8s-capabilities")]: `tunnel-setup adds NET_ADMIN to create wg0 and its policy routes; ${mainContainer} adds none`,
    [exemptionAnnotation("k8s-run-as-non-root")]: `tunnel-setup runs as root, as ip and wg need; ${mainContainer} does not`,
    [exemptionAnnotation("k8s-run-as-user")]: "tunnel-setup runs as uid 0 for the same reason",
  };
}

/**
 * The init container's command. Kubernetes may run an init container again in the same pod sandbox (after a kubelet
 * restart), where wg0 still exists and wg-quick would refuse to start ("already exists"): the old interface goes first.
 */
export const TUNNEL_SETUP_COMMAND = ["sh", "-c", "ip link del wg0 2>/dev/null; exec wg-quick up /etc/wireguard/wg0.conf"];
/**
 * Without the kernel module wg-quick falls back to wireguard-go, a process that would die with the init container and
 * take the tunnel with it: pointing the fallback nowhere makes such a node fail the pod, visibly.
 */
export const TUNNEL_SETUP_ENV = [{ name: "WG_QUICK_USERSPACE_IMPLEMENTATION", value: "/nonexistent" }];

/**
 * The init container that brings up kernel WireGuard from a wg-quick config mounted at /etc/wireguard, before the
 * pod's main containers start. The interface and its policy routing stay in the pod's network namespace after it exits;
 * it alone has NET_ADMIN.
 */
export function tunnelSetupContainer(image: string, volume: string): k8s.types.input.core.v1.Container {
  return {
    name: "tunnel-setup",
    image,
    command: TUNNEL_SETUP_COMMAND,
    env: TUNNEL_SETUP_ENV,
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsUser: 0, runAsNonRoot: false, capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } },
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
    volumeMounts: [{ name: volume, mountPath: "/etc/wireguard", readOnly: true }],
  };
}

/** The only egress a tunnel peer's pod needs for WireGuard: UDP to the VPS's endpoint. */
export function tunnelEndpointEgress(endpoint: { address: pulumi.Input<string>; port: number }): k8s.types.input.networking.v1.NetworkPolicyEgressRule {
  return { to: [{ ipBlock: { cidr: pulumi.interpolate`${endpoint.address}/32` } }], ports: [{ protocol: "UDP", port: endpoint.port }] };
}
