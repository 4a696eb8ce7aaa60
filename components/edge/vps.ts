import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { firstHostOfNetwork } from "../contract/cidr";
import { EDGE_UPDATE_MODES } from "../config/schema";
import { VPS_COMPONENT, VPS_FILE_OUTPUTS } from "../contract/policyNames";
import { ApplyScriptSpec, renderApplyScript, StagedFiles, VPS_PATHS } from "./applyScript";
import { renderCloudInit } from "./cloudInit";
import { EdgeConfigPush } from "./configPush";
import { FirewallSpec, firewallRules } from "./firewall";
import { EdgeRulesetSpec, renderEdgeRuleset } from "./nftables";
import { renderSshdDropIn } from "./sshd";
import { peerAddresses, withoutPrivateKey } from "./wireguard";

export interface VpsArgs {
  /** Hetzner server type, e.g. "cx23". */
  serverType: string;
  /** Hetzner location, e.g. "fsn1"; the primary IPs live there too. */
  location: string;
  /** OS image, e.g. "debian-12". */
  image: string;
  /** The operator's OpenSSH public key. */
  sshPublicKey: string;
  /** Name or id of that key where it is already in the Hetzner project, which refuses a second key of one fingerprint. */
  existingSshKey?: string;
  /** Whether the VPS gets a public IPv6 network. */
  ipv6: boolean;
  /** Input of the nftables ruleset. */
  ruleset: EdgeRulesetSpec;
  /** Input of the hcloud Firewall; built from the same forwards as the ruleset. */
  firewall: FirewallSpec;
  /** The VPS's wg-quick config (secret). */
  wireguardConfig: pulumi.Input<string>;
  /** The probe confirm runs before accepting a change; the gateway's key comes from the tunnel. */
  probe: Omit<ApplyScriptSpec["probe"], "peerPublicKey"> & { peerPublicKey: pulumi.Input<string> };
  /** How changes reach a running server. */
  update: {
    /** ssh: push over SSH with commit-confirm; replace: a new server with new user-data. */
    mode: (typeof EDGE_UPDATE_MODES)[number];
    commitConfirmSeconds: number;
    sshUser: string;
    /** Secret; required in mode ssh. */
    sshPrivateKey?: pulumi.Input<string>;
  };
  /** Labels on every hcloud resource. */
  labels: Record<string, string>;
}

/** Everything written onto the VPS, as rendered; the plan writes these out for the real tools to check. */
export interface VpsArtifacts {
  ruleset: string;
  sshdDropIn: string;
  applyScript: pulumi.Output<string>;
  userData: pulumi.Output<string>;
}

/** The rented edge: a Hetzner server with fixed primary IPs, a cloud firewall, and its files kept current. */
export class Vps extends pulumi.ComponentResource {
  /** The ruleset and sshd drop-in as pushed, and the tunnel's peer addresses: plain outputs the policy pack checks. */
  readonly ruleset: string;
  readonly sshdDropIn: string;
  readonly tunnelPeerAddresses: pulumi.Output<string[]>;
  readonly ipv4: pulumi.Output<string>;
  /** The server's own IPv6 address (::1 of its /64), when IPv6 is on. */
  readonly ipv6?: pulumi.Output<string>;
  readonly serverId: pulumi.Output<string>;
  readonly artifacts: VpsArtifacts;

  constructor(name: string, args: VpsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(VPS_COMPONENT, name, {}, opts);
    if (args.update.mode === "ssh" && args.update.sshPrivateKey === undefined) {
      throw new Error("Vps: update mode ssh needs sshPrivateKey");
    }
    const labels = args.labels;
    const sshMode = args.update.mode === "ssh";
    const ruleset = renderEdgeRuleset(args.ruleset);
    const sshdDropIn = renderSshdDropIn({ port: args.ruleset.ssh.port, user: args.update.sshUser, adminCidrs: args.ruleset.ssh.adminCidrs });
    const applyScript = pulumi.output(args.probe.peerPublicKey).apply((peerPublicKey) =>
      renderApplyScript({
        paths: VPS_PATHS,
        wireguardInterface: args.ruleset.tunnel,
        confirmSeconds: args.update.commitConfirmSeconds,
        probe: { ...args.probe, peerPublicKey },
      }),
    );
    const files: pulumi.Output<StagedFiles> = pulumi
      .all([args.wireguardConfig, applyScript])
      .apply(([wireguard, script]) => ({ ruleset, wireguard, sshdDropIn, script }));
    // Hetzner's metadata service serves the user-data to any process on the server, and in mode ssh ignoreChanges
    // keeps it for the server's life. There the first push delivers wg0.conf whole (wg syncconf sets the key), so
    // the tunnel boots keyless. Mode replace pushes nothing: the key travels in the user-data, which the ruleset lets
    // only root fetch.
    const bootWireguard = (wireguard: string) => (sshMode ? withoutPrivateKey(wireguard) : wireguard);
    const userData = files.apply((f) =>
      renderCloudInit({ paths: VPS_PATHS, ruleset: f.ruleset, wireguardConfig: bootWireguard(f.wireguard), wireguardInterface: args.ruleset.tunnel, sshdDropIn: f.sshdDropIn, applyScript: f.script, sshUser: args.update.sshUser }),
    );

    const sshKey = args.existingSshKey ?? new hcloud.SshKey(name, { publicKey: args.sshPublicKey, labels }, { parent: this }).id;
    // autoDelete false: the addresses outlive any one server, so DNS and the home peers never change with it.
    const primaryIp = (family: "ipv4" | "ipv6") =>
      new hcloud.PrimaryIp(`${name}-${family}`, { type: family, assigneeType: "server", location: args.location, autoDelete: false, labels }, { parent: this });
    const ipv4 = primaryIp("ipv4");
    const ipv6 = args.ipv6 ? primaryIp("ipv6") : undefined;
    // The Firewall opens SSH to adminCidrs, as the ruleset does. In mode ssh its rules change only after the push's
    // confirm, which proves the new list still lets Pulumi in: a wrong list rolls back on the VPS and never reaches
    // Hetzner's edge. The push waits for the server, so there the server cannot name the Firewall at creation. In mode
    // replace nothing is confirmed, and the server takes the Firewall before its first boot.
    const newFirewall = (dependsOn: pulumi.Resource[]) => new hcloud.Firewall(name, { labels, rules: firewallRules(args.firewall) }, { parent: this, dependsOn });
    const firewallAtCreation = sshMode ? undefined : newFirewall([]);

    const server = new hcloud.Server(
      name,
      {
        serverType: args.serverType,
        location: args.location,
        image: args.image,
        sshKeys: [sshKey],
        ...(firewallAtCreation ? { firewallIds: [firewallAtCreation.id.apply(Number)] } : {}),
        labels,
        userData,
        publicNets: [
          {
            ipv4Enabled: true,
            ipv4: ipv4.id.apply(Number),
            ipv6Enabled: args.ipv6,
            ...(ipv6 ? { ipv6: ipv6.id.apply(Number) } : {}),
          },
        ],
      },
      {
        parent: this,
        // The primary IPs must be free before a new server can take them.
        deleteBeforeReplace: true,
        // In mode ssh, changes travel over SSH; new user-data must not replace the server.
        ignoreChanges: sshMode ? ["userData"] : [],
      },
    );

    this.ipv4 = ipv4.ipAddress;
    this.ipv6 = ipv6?.ipAddress.apply(firstHostOfNetwork);
    this.serverId = server.id;
    this.artifacts = { ruleset, sshdDropIn, applyScript, userData };

    const push = sshMode
      ? new EdgeConfigPush(
          `${name}-push`,
          { host: this.ipv4, ipv6: this.ipv6, port: args.ruleset.ssh.port, user: args.update.sshUser, privateKey: args.update.sshPrivateKey!, files, paths: VPS_PATHS, server },
          { parent: this },
        )
      : undefined;
    const firewall = firewallAtCreation ?? newFirewall([push!.confirmed]);
    // In both modes, so a switch of mode (the lockout runbook makes two) neither creates nor deletes it: its delete
    // would take the Firewall off the server. Hetzner allows one attachment per Firewall; this is it.
    new hcloud.FirewallAttachment(name, { firewallId: firewall.id.apply(Number), serverIds: [server.id.apply(Number)] }, { parent: this });
    this.ruleset = ruleset;
    this.sshdDropIn = sshdDropIn;
    // Addresses only, so not secret, though they are read from the secret config.
    this.tunnelPeerAddresses = pulumi.unsecret(pulumi.output(args.wireguardConfig).apply(peerAddresses));
    this.registerOutputs({
      ipv4: this.ipv4,
      ipv6: this.ipv6,
      serverId: this.serverId,
      [VPS_FILE_OUTPUTS.ruleset]: this.ruleset,
      [VPS_FILE_OUTPUTS.sshdDropIn]: this.sshdDropIn,
      [VPS_FILE_OUTPUTS.tunnelPeerAddresses]: this.tunnelPeerAddresses,
    });
  }
}
