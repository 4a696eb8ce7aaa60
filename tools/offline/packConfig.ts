import { CommonConfig, EdgeConfig, HomeConfig } from "../../components/config/schema";
import { edgeForwards } from "../../components/network/tunnelPlan";
import { TRAEFIK_NAMESPACE } from "../../components/home/traefik";
import { PackConfig } from "./policyRunner";

/**
 * The policy pack's config for this catalog: the ports the firewall may open to the internet are exactly the ones the
 * catalog forwards, plus WireGuard; with the home config, LoadBalancers are held to Traefik's namespace and the pool.
 * `npm run plan` writes it to out/policy-config.json for `--policy-pack-config`.
 */
export function packConfigFor(config: Pick<CommonConfig, "services" | "network"> & { ssh?: Pick<EdgeConfig["ssh"], "allowWideAdminCidrs"> }, home?: Pick<HomeConfig, "loadBalancer">): PackConfig {
  const forwards = edgeForwards(config);
  const ports = (protocol: "tcp" | "udp") => forwards.filter((f) => f.protocol === protocol).flatMap((f) => f.ports);
  return {
    "edge-firewall-allowed-ports": { tcp: ports("tcp"), udp: [config.network.wireguardPort, ...ports("udp")] },
    "k8s-route-entrypoints": { publicHosts: config.services.filter((s) => s.exposure === "public").map((s) => s.hostname) },
    ...(config.ssh ? { "edge-firewall-no-public-ssh": { allowWideSources: config.ssh.allowWideAdminCidrs } } : {}),
    ...(home ? { "k8s-loadbalancer-placement": { allowedNamespaces: [TRAEFIK_NAMESPACE], pool: home.loadBalancer.pool } } : {}),
  };
}
