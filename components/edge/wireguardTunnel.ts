import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NetworkPlan, STUN_PORT } from "../config/schema";
import { HomePeerName, TunnelEndpoint, TunnelPlan } from "../network/tunnelPlan";
import { renderPolicyRouting, renderWireguardConfig, TUNNEL_ROUTING_TABLE, TUNNEL_RULE_PRIORITY, wireguardPublicKey } from "./wireguard";

export interface WireguardTunnelArgs {
  /** MTU, port and address families. */
  network: NetworkPlan;
  /** Every tunnel address. */
  tunnel: TunnelPlan;
}

/** Keepalive from the home side only: it sits behind NAT, and the VPS must be able to reach it at any time. */
export const HOME_KEEPALIVE_SECONDS = 25;

const interfaceAddresses = (tunnel: TunnelPlan, address: TunnelEndpoint) => [`${address.ipv4}/${tunnel.prefixV4}`, ...(address.ipv6 ? [`${address.ipv6}/${tunnel.prefixV6}`] : [])];

const allowedIps = (address: TunnelEndpoint) => [`${address.ipv4}/32`, ...(address.ipv6 ? [`${address.ipv6}/128`] : [])];

/** The WireGuard tunnel between the VPS and each home peer: keys and every rendered config. */
export class WireguardTunnel extends pulumi.ComponentResource {
  /** The VPS's wg-quick config (secret). */
  readonly vpsConfig: pulumi.Output<string>;
  readonly vpsPublicKey: pulumi.Output<string>;
  readonly peerPublicKeys: Record<HomePeerName, pulumi.Output<string>>;
  private readonly peers: { name: HomePeerName; address: TunnelEndpoint; privateKey: pulumi.Output<string> }[];
  private readonly network: NetworkPlan;
  private readonly tunnel: TunnelPlan;

  constructor(name: string, args: WireguardTunnelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:edge:WireguardTunnel", name, {}, opts);
    const keyPair = (role: string) => {
      const bytes = new random.RandomBytes(`${name}-${role}-key`, { length: 32 }, { parent: this });
      const privateKey = pulumi.secret(bytes.base64);
      // Derived from a secret, so pulumi would hide it; a public key is meant to be shared.
      const publicKey = pulumi.unsecret(privateKey.apply(wireguardPublicKey));
      return { privateKey, publicKey };
    };
    const { network, tunnel } = args;

    const vps = keyPair("vps");
    const peers = tunnel.peers.map((peer) => ({ ...peer, keys: keyPair(peer.name) }));

    this.vpsPublicKey = vps.publicKey;
    this.vpsConfig = pulumi
      .all([vps.privateKey, ...peers.map((p) => p.keys.publicKey)])
      .apply(([privateKey, ...publicKeys]) =>
        renderWireguardConfig({
          privateKey,
          addresses: interfaceAddresses(tunnel, tunnel.vps),
          listenPort: network.wireguardPort,
          mtu: network.tunnelMtu,
          peers: peers.map((peer, i) => ({ name: peer.name, publicKey: publicKeys[i], allowedIps: allowedIps(peer.address) })),
        }),
      );

    this.network = network;
    this.tunnel = tunnel;
    this.peers = peers.map((p) => ({ name: p.name, address: p.address, privateKey: p.keys.privateKey }));
    this.peerPublicKeys = Object.fromEntries(peers.map((p) => [p.name, p.keys.publicKey])) as Record<HomePeerName, pulumi.Output<string>>;
    this.registerOutputs({ vpsPublicKey: this.vpsPublicKey, peerPublicKeys: this.peerPublicKeys });
  }

  /**
   * Each home peer's wg-quick config (secret), dialling `endpoint`. A method rather than a constructor argument: the
   * endpoint is the VPS's address, and the VPS needs this tunnel's own config first.
   */
  homePeerConfigs(endpoint: pulumi.Input<string>): Record<HomePeerName, pulumi.Output<string>> {
    const configs = {} as Record<HomePeerName, pulumi.Output<string>>;
    for (const peer of this.peers) {
      // Headscale's STUN listens on [::]:3478 in the derp peer's pod; its answers are selected by source port.
      const udpSourcePorts = peer.name === "derp" ? [STUN_PORT] : undefined;
      const routing = renderPolicyRouting({ device: "%i", ipv4: peer.address.ipv4, ipv6: peer.address.ipv6, table: TUNNEL_ROUTING_TABLE, priority: TUNNEL_RULE_PRIORITY, udpSourcePorts });
      configs[peer.name] = pulumi.all([peer.privateKey, this.vpsPublicKey, endpoint]).apply(([privateKey, vpsPublicKey, endpointText]) =>
        renderWireguardConfig({
          privateKey,
          addresses: interfaceAddresses(this.tunnel, peer.address),
          mtu: this.network.tunnelMtu,
          table: "off",
          postUp: routing.up,
          preDown: routing.down,
          peers: [
            {
              name: "vps",
              publicKey: vpsPublicKey,
              allowedIps: ["0.0.0.0/0", ...(peer.address.ipv6 ? ["::/0"] : [])],
              endpoint: endpointText,
              persistentKeepalive: HOME_KEEPALIVE_SECONDS,
            },
          ],
        }),
      );
    }
    return configs;
  }
}
