import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { WEB_PORTS } from "../config/common";
import { EdgePaths, StagedFiles } from "./applyScript";
import { APPLY_STDOUT_ENV, renderConfirmCommand, renderPublicProbeCommand, renderPushCommand, renderPushInput } from "./pushCommands";

export interface EdgeConfigPushArgs {
  /** Public address of the VPS. */
  host: pulumi.Input<string>;
  /** The VPS's public IPv6 address, when it has one: the public-path probe dials it too. */
  ipv6?: pulumi.Input<string>;
  /** The admin SSH port; reachable only from the admin networks, so `pulumi up` must run inside them. */
  port: number;
  user: string;
  /** Secret private key of the operator's SSH key pair. */
  privateKey: pulumi.Input<string>;
  /** The files cloud-init wrote on first boot, as they should be now. */
  files: pulumi.Input<StagedFiles>;
  paths: EdgePaths;
  /** The server the files go to; the push waits for it, since a component's own dependsOn does not reach its children. */
  server: pulumi.CustomResource;
}

/** The forwarded port the public-path probe dials: 443 always goes to the gateway peer. */
export const PUBLIC_PROBE_PORT = WEB_PORTS[1];

/** Identifies one set of files; the same hash triggers the push and names the change to confirm. */
export function changeToken(files: StagedFiles): string {
  const hash = createHash("sha256");
  for (const key of Object.keys(files).sort() as (keyof StagedFiles)[]) hash.update(`${key}\0${files[key]}\0`);
  return hash.digest("hex").slice(0, 16);
}

/**
 * Pushes the edge's files to a running VPS with commit-confirm: one SSH connection applies them and arms the
 * rollback timer, a probe from where Pulumi runs checks the forwarded public path, and a second, new connection
 * confirms. If the new ruleset locked SSH out or broke the forwarding, no confirm comes and the VPS restores the last
 * good files by itself.
 */
export class EdgeConfigPush extends pulumi.ComponentResource {
  /** The change token of the files last pushed. */
  readonly token: pulumi.Output<string>;
  /** The confirm step: what waits on it runs only once the VPS runs the new files and a new SSH connection got in. */
  readonly confirmed: pulumi.Resource;

  constructor(name: string, args: EdgeConfigPushArgs, opts?: pulumi.ComponentResourceOptions) {
    super("homelab:edge:EdgeConfigPush", name, {}, opts);
    const files = pulumi.output(args.files);
    // The token hashes secret files; it reveals nothing of them, and showing it lets operators match VPS logs.
    this.token = pulumi.unsecret(files.apply(changeToken));
    const connection = {
      host: args.host,
      port: args.port,
      user: args.user,
      privateKey: args.privateKey,
      // On the first deploy sshd moves to the admin port only when cloud-init finishes: keep dialling for a while.
      dialErrorLimit: 60,
      perDialTimeout: 10,
    };
    // A replaced server boots the user-data frozen at the first deploy, so a new server id pushes the current files too.
    const triggers = [this.token, args.server.id];
    const apply = new command.remote.Command(
      `${name}-apply`,
      { connection, create: this.token.apply((token) => renderPushCommand(token, args.paths)), stdin: pulumi.secret(files.apply(renderPushInput)), triggers },
      { parent: this, dependsOn: [args.server] },
    );
    // The confirm's own probe runs on the VPS and reaches the gateway through the tunnel only; a ruleset that breaks
    // the DNAT would pass it. This one comes in from outside, through the public address and the forwarded port.
    const probe = new command.local.Command(
      `${name}-probe`,
      { create: pulumi.all([args.host, args.ipv6]).apply(([host, ipv6]) => renderPublicProbeCommand(ipv6 ? [host, ipv6] : [host], PUBLIC_PROBE_PORT)), environment: { [APPLY_STDOUT_ENV]: apply.stdout }, triggers },
      { parent: this, dependsOn: [apply] },
    );
    const confirm = new command.remote.Command(
      `${name}-confirm`,
      { connection, create: this.token.apply((token) => renderConfirmCommand(token, args.paths)), triggers },
      { parent: this, dependsOn: [probe] },
    );
    this.confirmed = confirm;
    this.registerOutputs({ token: this.token, confirmed: confirm.stdout });
  }
}
