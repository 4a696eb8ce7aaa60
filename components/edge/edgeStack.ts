import * as pulumi from "@pulumi/pulumi";
import { loadEdgeConfig } from "../config/load";
import { EdgeStackOutputs } from "../contract/edge";
import { StackBuild } from "../stackBuild";
import { CloudflareDns } from "./cloudflareDns";
import { planDnsRecords, renderDnsTable } from "./dnsRecords";
import { METADATA_ADDRESS, RulesetForward } from "./nftables";
import { edgeForwards, planTunnel } from "../network/tunnelPlan";
import { Vps } from "./vps";
import { endpointAddress } from "./wireguard";
import { WireguardTunnel } from "./wireguardTunnel";

/** The tunnel interface on the VPS. */
const TUNNEL_INTERFACE = "wg0";
/** SSH connection attempts per source and minute before the ruleset cuts it off, and the burst above that. */
export const SSH_RATE = { newConnectionsPerMinute: 6, burst: 4 };
/** How fresh the gateway's handshake must be for confirm to probe a forwarded port through it. */
const PROBE_HANDSHAKE_MAX_AGE_SECONDS = 180;

/** Builds the edge graph: WireGuard keys and configs, the VPS with its ruleset, and the Cloudflare records. */
export function buildEdgeStack(): StackBuild {
  const { config, sshPrivateKey } = loadEdgeConfig();
  const { network } = config;
  const tunnelPlan = planTunnel(network);
  const forwards = edgeForwards(config);
  const addressOf = (peer: string) => tunnelPlan.peers.find((p) => p.name === peer)!.address;
  const gateway = addressOf("gateway");

  const tunnel = new WireguardTunnel("tunnel", {
    network,
    tunnel: tunnelPlan,
  });

  const rulesetForwards: RulesetForward[] = forwards.map((f) => ({ ...f, to: addressOf(f.peer) }));
  const vps = new Vps("edge", {
    serverType: config.vps.serverType,
    location: config.vps.location,
    image: config.vps.image,
    sshPublicKey: config.ssh.publicKey,
    existingSshKey: config.ssh.existingKey,
    ipv6: network.ipv6,
    ruleset: {
      wan: config.vps.wanInterface,
      tunnel: TUNNEL_INTERFACE,
      wireguardPort: network.wireguardPort,
      ssh: { port: config.ssh.port, adminCidrs: config.ssh.adminCidrs, ...SSH_RATE },
      forwards: rulesetForwards,
      spoofedSources: [network.tunnelCidr, ...(network.ipv6 ? [network.tunnelCidrV6!] : []), network.lanCidr],
      metadataAddress: METADATA_ADDRESS,
    },
    firewall: { forwards, wireguardPort: network.wireguardPort, ssh: { port: config.ssh.port, adminCidrs: config.ssh.adminCidrs } },
    wireguardConfig: tunnel.vpsConfig,
    probe: { peerPublicKey: tunnel.peerPublicKeys.gateway, address: gateway.ipv4, port: 443, maxHandshakeAgeSeconds: PROBE_HANDSHAKE_MAX_AGE_SECONDS },
    update: { mode: config.update.mode, commitConfirmSeconds: config.update.commitConfirmSeconds, sshUser: config.ssh.user, sshPrivateKey },
    labels: { "managed-by": "pulumi", project: "homelab", role: "edge" },
  });

  const dnsSpec = {
    domain: config.domain,
    edgeHostname: config.edgeHostname,
    publicHostnames: config.services.filter((s) => s.exposure === "public").map((s) => s.hostname),
    caaIssuer: config.acme.caaIssuer,
    caaContact: config.acme.email,
  };
  const dns = new CloudflareDns("dns", { ...dnsSpec, zoneId: config.cloudflareZoneId, universalSsl: config.cloudflareUniversalSsl, ipv4: vps.ipv4, ipv6: vps.ipv6 });

  // The fixed primary IPv4, not the hostname: a peer then needs no DNS to come up, and the address outlives servers.
  const endpoint = vps.ipv4.apply((ipv4) => endpointAddress(ipv4, network.wireguardPort));
  const peerConfigs = tunnel.homePeerConfigs(endpoint);
  const peerNames = tunnelPlan.peers.map((p) => p.name);
  // Every contract key must be set here (the mapped type is not homomorphic, so none is optional).
  const outputs: { [K in keyof EdgeStackOutputs & string]: pulumi.Input<EdgeStackOutputs[K]> | undefined } = {
    domain: config.domain,
    zoneId: config.cloudflareZoneId,
    edgeHostname: config.edgeHostname,
    publicIpv4: vps.ipv4,
    publicIpv6: vps.ipv6,
    wireguard: pulumi.all([endpoint, tunnel.vpsPublicKey, ...peerNames.map((n) => tunnel.peerPublicKeys[n])]).apply(([endpoint, vpsPublicKey, ...peerKeys]) => ({
      endpoint,
      port: network.wireguardPort,
      mtu: network.tunnelMtu,
      vpsPublicKey,
      tunnelCidr: network.tunnelCidr,
      tunnelCidrV6: network.tunnelCidrV6,
      vps: tunnelPlan.vps,
      peers: Object.fromEntries(tunnelPlan.peers.map((p, i) => [p.name, { publicKey: peerKeys[i], address: p.address }])),
    })),
    homePeerConfigs: pulumi.secret(pulumi.all(Object.fromEntries(peerNames.map((n) => [n, peerConfigs[n]])))),
    acmeDnsToken: dns.acmeDnsToken,
  };
  // An undefined output (IPv6 off) is left out rather than exported as null.
  const exported = Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined)) as StackBuild["outputs"];

  const artifacts: StackBuild["artifacts"] = {
    "nftables.conf": vps.artifacts.ruleset,
    "wg0.conf": tunnel.vpsConfig,
    "sshd-10-homelab.conf": vps.artifacts.sshdDropIn,
    "apply.sh": vps.artifacts.applyScript,
    "cloud-init.yaml": vps.artifacts.userData,
    "dns-records.txt": pulumi
      .all([vps.ipv4, vps.ipv6 ?? pulumi.output(undefined)])
      .apply(([ipv4, ipv6]) => renderDnsTable(planDnsRecords({ ...dnsSpec, ipv4, ipv6 }))),
  };
  for (const name of peerNames) artifacts[`wg-${name}.conf`] = peerConfigs[name];
  return { outputs: exported, artifacts };
}
