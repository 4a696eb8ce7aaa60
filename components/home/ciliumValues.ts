/** What Cilium's chart needs from this program. */
export interface CiliumValuesSpec {
  /** The API server Cilium talks to directly: with kube-proxy replaced there is no Service VIP to reach it by. */
  k8sServiceHost: string;
  k8sServicePort: number;
  podCidr: string;
  gatewayApi: boolean;
  /** WireGuard transparent encryption between nodes: the VXLAN overlay is otherwise clear and unauthenticated on the LAN. */
  encryption: boolean;
}

/**
 * Helm values for Cilium. Kube-proxy replacement is always on because L2 announcements need it; the client rate
 * limit is raised because each announced Service holds a lease the agents renew through the API server.
 */
export function renderCiliumValues(spec: CiliumValuesSpec): Record<string, unknown> {
  return {
    kubeProxyReplacement: true,
    k8sServiceHost: spec.k8sServiceHost,
    k8sServicePort: spec.k8sServicePort,
    l2announcements: { enabled: true },
    k8sClientRateLimit: { qps: 20, burst: 40 },
    ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: [spec.podCidr] } },
    // Requests and limits on every container the chart renders, as the policy pack asks of all workloads. At 1.20.0 the
    // agent's init containers take initResources (mount-cgroup too, unless cgroup.autoMount.resources is set), except
    // install-cni-binaries, which reads cni.resources over a default sized for a 1Gi limit that copying binaries never
    // needs; the cilium-envoy DaemonSet reads envoy.resources, whose default is none.
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
    initResources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
    cni: { resources: { requests: { cpu: "10m", memory: "10Mi" }, limits: { memory: "64Mi" } } },
    envoy: { resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "512Mi" } } },
    operator: { replicas: 1, resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "256Mi" } } },
    gatewayAPI: { enabled: spec.gatewayApi },
    encryption: spec.encryption ? { enabled: true, type: "wireguard" } : { enabled: false },
  };
}
