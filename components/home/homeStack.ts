import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { appNamespace, HEADPLANE_NAMESPACE, HEADSCALE_NAMESPACE, MONITORING_NAMESPACE } from "../config/catalog";
import { AppSecretValues } from "../config/appSecrets";
import { loadAppSecrets, loadHomeConfig } from "../config/load";
import { HomeConfig, ServiceConfig } from "../config/schema";
import { EdgeStackOutputs, readEdgeOutputs } from "../contract/edge";
import { TypedOutputs } from "../contract/stackOutputs";
import { HomeStackOutputs } from "../contract/home";
import { edgeForwards, HomePeerName } from "../network/tunnelPlan";
import { AppNamespace } from "../apps/appNamespace";
import { appSecretReads, registerAppSecrets } from "../apps/appSecret";
import { AppService } from "../apps/appService";
import { gluetunWaivers } from "../apps/gluetun";
import { PodSecurityWaiver } from "./podSecurity";
import { Headplane } from "./headplane";
import { Headscale, HEADSCALE_POD } from "./headscale";
import { Monitoring } from "./monitoring";
import { SubnetRouter } from "./subnetRouter";
import { StackBuild } from "../stackBuild";
import { internalCertificateNames } from "./certificates";
import { CertManager } from "./certManager";
import { Cilium } from "./cilium";
import { reflectorTargets } from "./reflection";
import { Reflector } from "./reflector";
import { Traefik } from "./traefik";
import { ENTRYPOINTS } from "./traefikValues";
import { GatewayRoute, TUNNEL_NAMESPACE, TunnelGateway } from "./tunnelGateway";

/** Where each port the edge forwards to the gateway goes: web ports to Traefik's tunnel entrypoints, raw TCP to its app. */
export function gatewayRoutes(config: Pick<HomeConfig, "services" | "network">, traefik: { host: string; namespace: string }): GatewayRoute[] {
  const webTargets: Record<number, number> = { 80: ENTRYPOINTS.tunnelweb.exposedPort, 443: ENTRYPOINTS.tunnelwebsecure.exposedPort };
  const rawOwners = new Map(config.services.flatMap((s) => (s.tcpPorts ?? []).map((port) => [port, s] as const)));
  const ports = edgeForwards(config).find((f) => f.peer === "gateway")!.ports;
  return ports.map((port) => {
    if (webTargets[port]) return { port, host: traefik.host, namespace: traefik.namespace, targetPort: webTargets[port], sendProxy: true };
    const owner = rawOwners.get(port)!;
    const namespace = appNamespace(owner);
    return { port, host: `${owner.name}.${namespace}.svc.cluster.local`, namespace, targetPort: port, sendProxy: false };
  });
}

/**
 * Builds the home graph. It reads the edge stack's contract through one StackReference and never writes back, then
 * builds the cluster's networking in order: Cilium, then Traefik, cert-manager and the tunnel gateway, and Reflector
 * last, once every namespace it writes into exists.
 */
export function buildHomeStack(): StackBuild {
  const config = loadHomeConfig();
  const appSecrets = loadAppSecrets(appSecretReads(config.services));
  const edge = readEdgeOutputs(new pulumi.StackReference("edge", { name: config.edgeStack }));
  const provider = new k8s.Provider("cluster", { kubeconfig: config.cluster.kubeconfig, context: config.cluster.context });

  const cilium = new Cilium(
    "cilium",
    {
      version: config.charts.cilium,
      k8sServiceHost: config.cluster.serviceHost,
      k8sServicePort: config.cluster.servicePort,
      podCidr: config.cluster.podCidr,
      gatewayApi: config.gatewayApi.enabled,
      gatewayApiVersion: config.gatewayApi.version,
      encryption: config.ciliumEncryption,
      lbPool: config.loadBalancer.pool,
      interfaces: config.loadBalancer.interfaces,
    },
    { providers: [provider] },
  );
  const onNetwork = { providers: [provider], dependsOn: cilium.ready };
  const traefik = new Traefik(
    "traefik",
    { version: config.charts.traefik, address: config.loadBalancer.traefikAddress, podCidr: config.cluster.podCidr, gatewayApi: config.gatewayApi.enabled, internalCertificate: internalCertificateNames(config.domain, config.services).length > 0, tunnelNamespace: TUNNEL_NAMESPACE },
    onNetwork,
  );
  const certManager = new CertManager(
    "cert-manager",
    { version: config.charts.certManager, domain: config.domain, services: config.services, acme: config.acme, cloudflareToken: edge.acmeDnsToken, traefikNamespace: traefik.namespace, traefikReady: traefik.chart },
    onNetwork,
  );

  const gatewayPeer = (w: { peers: Record<string, { address: { ipv4: string; ipv6?: string } }> }) => {
    const peer = w.peers.gateway;
    if (!peer) throw new pulumi.RunError(`edge stack "${config.edgeStack}" has no "gateway" WireGuard peer`);
    return peer.address;
  };
  const gatewayConfig = homePeerConfig(edge, config.edgeStack, "gateway");
  const gateway = new TunnelGateway(
    "tunnel-gateway",
    {
      wireguardConfig: gatewayConfig,
      tunnelAddress: edge.wireguard.apply(gatewayPeer),
      endpoint: { address: edge.publicIpv4, port: config.network.wireguardPort },
      routes: gatewayRoutes(config, { host: traefik.tunnelServiceHost, namespace: traefik.namespace }),
      images: config.gatewayImages,
    },
    { providers: [provider], dependsOn: [traefik.chart] },
  );

  const appNamespaceMakers = buildApps(config, appSecrets.secrets, { traefik, cilium, certManager }, provider);
  const tailnet = buildTailnet(config, edge, { traefik, cilium }, provider);
  const headscale = tailnet?.headscale;
  const namespaceMakers = new Map<string, pulumi.Resource>([
    ...appNamespaceMakers,
    ...(headscale ? [[HEADSCALE_NAMESPACE, headscale.namespaceResource] as const] : []),
    ...(tailnet?.headplane ? [[HEADPLANE_NAMESPACE, tailnet.headplane] as const] : []),
  ]);
  const reflectInto = reflectorTargets(config.services).map((namespace) => {
    const madeBy = namespaceMakers.get(namespace);
    if (!madeBy) throw new pulumi.RunError(`Reflector would copy into namespace "${namespace}", which this program does not make`);
    return { namespace, madeBy };
  });
  new Reflector("reflector", { version: config.charts.reflector, targets: reflectInto }, onNetwork);

  const outputs: { [K in keyof HomeStackOutputs]: pulumi.Input<HomeStackOutputs[K]> } = {
    gatewayLbIp: config.loadBalancer.traefikAddress,
    serviceUrls: Object.fromEntries(config.services.map((s) => [s.name, `https://${s.hostname}`])),
    caCertificatePem: certManager.caCertificatePem,
    tunnelGatewayAddress: edge.wireguard.apply((w) => gatewayPeer(w).ipv4),
    ...(headscale ? { headscaleUrl: headscale.serverUrl } : {}),
  };
  return {
    outputs,
    artifacts: {
      "haproxy.cfg": gateway.haproxyConfig,
      "gateway-wg0.conf": gatewayConfig,
      ...(headscale ? { "headscale-config.yaml": headscale.config, "tailnet-policy.json": headscale.policy } : {}),
      ...(tailnet?.headplane ? { "headplane-config.yaml": tailnet.headplane.config } : {}),
      ...(tailnet?.derpConfig ? { "derp-wg0.conf": tailnet.derpConfig } : {}),
    },
  };
}

/** One home peer's wg-quick config from the edge's contract; an edge stack without it is a clear error, not a blank file. */
function homePeerConfig(edge: TypedOutputs<EdgeStackOutputs>, edgeStack: string, peer: HomePeerName): pulumi.Output<string> {
  return edge.homePeerConfigs.apply((configs) => {
    if (!configs[peer]) throw new pulumi.RunError(`edge stack "${edgeStack}" output "homePeerConfigs" has no "${peer}" config`);
    return configs[peer];
  });
}

/** The Pod Security waivers each app namespace needs, from its members' VPN sidecars, each stated once. */
export function namespaceWaivers(services: ServiceConfig[]): Map<string, PodSecurityWaiver[]> {
  const waivers = new Map<string, PodSecurityWaiver[]>();
  for (const service of services.filter((s) => s.image)) {
    const namespace = appNamespace(service);
    const known = waivers.get(namespace) ?? [];
    const added = service.vpn ? gluetunWaivers(service.vpn).filter((w) => !known.some((k) => k.rule === w.rule && k.reason === w.reason)) : [];
    waivers.set(namespace, [...known, ...added]);
  }
  return waivers;
}

/**
 * The monitoring stack when the catalog has a prometheus entry, then every app, each group's namespace and Secret made
 * once. Returns each namespace it makes with the resource that makes it.
 */
function buildApps(config: HomeConfig, secrets: AppSecretValues[], cluster: { traefik: Traefik; cilium: Cilium; certManager: CertManager }, provider: k8s.Provider): Map<string, pulumi.Resource> {
  const afterNetwork = { providers: [provider], dependsOn: [cluster.traefik.chart, ...cluster.cilium.ready] };
  const prometheus = config.services.find((s) => s.component === "prometheus");
  const monitoring =
    prometheus &&
    new Monitoring(
      "monitoring",
      { entry: prometheus, catalog: config.services, versions: config.monitoringCharts, prometheus: config.prometheus, traefikNamespace: cluster.traefik.namespace, forwardAuth: config.forwardAuth, alerting: config.alerting },
      // cert-manager issues the operator's webhook certificate, so its CRDs and webhook must be up first.
      { ...afterNetwork, dependsOn: [...afterNetwork.dependsOn, cluster.certManager] },
    );
  const namespaces = new Map(
    [...namespaceWaivers(config.services)].map(([name, waivers]) => [name, new AppNamespace(`namespace-${name}`, { namespace: name, waivers }, { providers: [provider] })]),
  );
  const secretsByApp = registerAppSecrets(secrets, namespaces, { providers: [provider] });
  for (const service of config.services.filter((s) => s.image)) {
    const namespace = namespaces.get(appNamespace(service))!;
    new AppService(
      service.name,
      {
        service,
        catalog: config.services,
        namespace: { name: namespace.name, resource: namespace.resource },
        namespaces: { traefik: cluster.traefik.namespace, monitoring: MONITORING_NAMESPACE },
        vpn: { image: config.gluetunImage, clusterCidrs: [config.cluster.podCidr] },
        forwardAuth: config.forwardAuth,
        scraped: Boolean(monitoring),
        secrets: secretsByApp.get(service.name),
      },
      // PodMonitors need the monitoring stack's CRDs.
      { ...afterNetwork, dependsOn: [...afterNetwork.dependsOn, ...(monitoring ? [monitoring] : [])] },
    );
  }
  return new Map<string, pulumi.Resource>([...[...namespaces].map(([name, made]) => [name, made.resource] as const), ...(monitoring ? [[MONITORING_NAMESPACE, monitoring] as const] : [])]);
}

/**
 * Headscale when the catalog has an entry for it, with the edge's `derp` peer in its pod while DERP is on, the
 * subnet router that opens the LAN to the tailnet, and Headplane when the catalog has an entry for it too.
 */
function buildTailnet(
  config: HomeConfig,
  edge: TypedOutputs<EdgeStackOutputs>,
  cluster: { traefik: Traefik; cilium: Cilium },
  provider: k8s.Provider,
): { headscale: Headscale; headplane?: Headplane; derpConfig?: pulumi.Output<string> } | undefined {
  const entry = config.services.find((s) => s.component === "headscale");
  if (!entry) return undefined;
  const headplaneEntry = config.services.find((s) => s.component === "headplane");
  const derpConfig = config.network.derp ? homePeerConfig(edge, config.edgeStack, "derp") : undefined;
  const headscale = new Headscale(
    "headscale",
    {
      entry,
      catalog: config.services,
      settings: config.headscale,
      lanCidr: config.network.lanCidr,
      traefikAddress: config.loadBalancer.traefikAddress,
      namespaces: { traefik: cluster.traefik.namespace, monitoring: MONITORING_NAMESPACE, ...(headplaneEntry ? { headplane: HEADPLANE_NAMESPACE } : {}) },
      derp: derpConfig && {
        wireguardConfig: derpConfig,
        publicAddresses: pulumi.all([edge.publicIpv4, edge.publicIpv6]).apply(([ipv4, ipv6]) => ({ ipv4, ...(ipv6 ? { ipv6 } : {}) })),
        endpoint: { address: edge.publicIpv4, port: config.network.wireguardPort },
        image: config.gatewayImages.wireguard,
      },
    },
    { providers: [provider], dependsOn: [cluster.traefik.chart, ...cluster.cilium.ready] },
  );
  new SubnetRouter(
    "subnet-router",
    {
      serverUrl: headscale.serverUrl,
      lanCidr: config.network.lanCidr,
      headscale: { namespace: headscale.namespace, pod: HEADSCALE_POD, server: headscale.server, namespaceResource: headscale.namespaceResource },
      traefikNamespace: cluster.traefik.namespace,
      images: { router: config.headscale.images.subnetRouter, bootstrap: config.headscale.images.bootstrap },
    },
    { providers: [provider] },
  );
  const headplane =
    headplaneEntry &&
    new Headplane(
      "headplane",
      {
        entry: headplaneEntry,
        image: config.headscale.images.headplane,
        headscale: { internalUrl: headscale.internalUrl, serverUrl: headscale.serverUrl, config: headscale.config, port: entry.port },
        traefikNamespace: cluster.traefik.namespace,
        forwardAuth: config.forwardAuth,
      },
      { providers: [provider], dependsOn: [cluster.traefik.chart, ...cluster.cilium.ready] },
    );
  return { headscale, headplane, derpConfig };
}
