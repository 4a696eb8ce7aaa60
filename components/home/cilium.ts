import { ICiliumLoadBalancerIPPool } from "@kubernetes-models/cilium/cilium.io/v2/CiliumLoadBalancerIPPool";
import { ICiliumL2AnnouncementPolicy } from "@kubernetes-models/cilium/cilium.io/v2alpha1/CiliumL2AnnouncementPolicy";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CiliumValuesSpec, renderCiliumValues } from "./ciliumValues";
import { typedCustomResource } from "./customResource";

export interface CiliumArgs extends CiliumValuesSpec {
  /** Exact chart version. */
  version: string;
  /** The LAN range Services of type LoadBalancer take addresses from. */
  lbPool: string;
  /** Node interfaces (regular expressions) that answer ARP for those addresses. */
  interfaces: string[];
  /** Gateway API release whose standard CRDs are installed first, when Gateway API is on. */
  gatewayApiVersion: string;
}

export const CILIUM_NAMESPACE = "kube-system";
export const LB_POOL_NAME = "lan";

/** Cilium as the CNI and kube-proxy replacement, with LB IPAM from a LAN pool announced over L2. */
export class Cilium extends pulumi.ComponentResource {
  /** Everything that must exist before workloads get addresses. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: CiliumArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:home:Cilium", name, {}, opts);
    // Cilium only enables its Gateway API controller when the CRDs are already there at start.
    const gatewayCrds = args.gatewayApi
      ? [
          new k8s.yaml.v2.ConfigFile(
            `${name}-gateway-api-crds`,
            { file: `https://github.com/kubernetes-sigs/gateway-api/releases/download/${args.gatewayApiVersion}/standard-install.yaml` },
            { parent: this },
          ),
        ]
      : [];
    const chart = new k8s.helm.v4.Chart(
      name,
      {
        chart: "cilium",
        repositoryOpts: { repo: "https://helm.cilium.io" },
        version: args.version,
        namespace: CILIUM_NAMESPACE,
        values: renderCiliumValues(args),
      },
      { parent: this, dependsOn: gatewayCrds },
    );
    const pool = typedCustomResource<ICiliumLoadBalancerIPPool>(
      `${name}-lb-pool`,
      { apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", metadata: { name: LB_POOL_NAME }, spec: { blocks: [{ cidr: args.lbPool }] } },
      { parent: this, dependsOn: [chart] },
    );
    const l2 = typedCustomResource<ICiliumL2AnnouncementPolicy>(
      `${name}-l2-policy`,
      {
        apiVersion: "cilium.io/v2alpha1",
        kind: "CiliumL2AnnouncementPolicy",
        metadata: { name: "lan" },
        spec: { interfaces: args.interfaces, loadBalancerIPs: true, externalIPs: false },
      },
      { parent: this, dependsOn: [chart] },
    );
    this.ready = [chart, pool, l2];
    this.registerOutputs({});
  }
}
