import { stringify } from "yaml";
import { EdgePaths } from "./applyScript";

/** The files and settings cloud-init puts on a fresh VPS. */
export interface CloudInitSpec {
  paths: EdgePaths;
  ruleset: string;
  wireguardConfig: string;
  wireguardInterface: string;
  sshdDropIn: string;
  applyScript: string;
  /** The account the push logs in as; root login over SSH is allowed exactly when it is "root". */
  sshUser: string;
}

/** Forwarding on for both families: the VPS routes DNATed flows into the tunnel. */
export const FORWARDING_SYSCTL = "net.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\n";

/**
 * Renders #cloud-config user-data. The ruleset and wg0.conf are written deferred, after the packages are installed,
 * so dpkg never meets a conffile it did not expect.
 */
export function renderCloudInit(spec: CloudInitSpec): string {
  const file = (path: string, content: string, permissions: string, defer = false) => ({ path, content, permissions, owner: "root:root", ...(defer ? { defer: true } : {}) });
  const document = {
    // Said here so the image's cloud.cfg never decides it: a stock Debian cloud image refuses root's key
    // (disable_root: true), Hetzner's accepts it.
    disable_root: spec.sshUser !== "root",
    package_update: true,
    packages: ["nftables", "wireguard-tools"],
    write_files: [
      file(spec.paths.sshdDropIn, spec.sshdDropIn, "0644"),
      file("/etc/sysctl.d/90-homelab-forwarding.conf", FORWARDING_SYSCTL, "0644"),
      file(`${spec.paths.state}/apply.sh`, spec.applyScript, "0700"),
      file(spec.paths.ruleset, spec.ruleset, "0644", true),
      file(spec.paths.wireguard, spec.wireguardConfig, "0600", true),
    ],
    runcmd: [
      ["sysctl", "--system"],
      ["systemctl", "enable", "--now", "nftables.service"],
      ["systemctl", "enable", "--now", `wg-quick@${spec.wireguardInterface}.service`],
      ["sshd", "-t"],
      ["systemctl", "restart", "ssh"],
    ],
  };
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`;
}
