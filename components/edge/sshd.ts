/** Settings of the VPS's sshd drop-in. */
export interface SshdSpec {
  /** The admin SSH port. */
  port: number;
  /** The one user the push and the operator log in as. */
  user: string;
  /** The networks that user may log in from. */
  adminCidrs: string[];
}

/**
 * Renders the sshd drop-in: keys only, on the configured port, for the one user from the admin networks only. sshd
 * holds that line itself because on a new server it listens before either gate: cloud-init loads the ruleset only
 * after installing packages, and in ssh mode the hcloud Firewall comes after the first confirm. sshd keeps the first
 * value it reads for a keyword, and Debian includes sshd_config.d/*.conf at the top, so a "10-" file wins over the
 * image's own drop-ins.
 */
export function renderSshdDropIn(spec: SshdSpec): string {
  return [
    "# Rendered by the homelab edge stack.",
    `Port ${spec.port}`,
    "PubkeyAuthentication yes",
    "AuthenticationMethods publickey",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "PermitEmptyPasswords no",
    "X11Forwarding no",
    "MaxAuthTries 3",
    "LoginGraceTime 20",
    `AllowUsers ${spec.adminCidrs.map((cidr) => `${spec.user}@${cidr}`).join(" ")}`,
    "",
  ].join("\n");
}

/** Where the drop-in lives on the VPS. */
export const SSHD_DROPIN_PATH = "/etc/ssh/sshd_config.d/10-homelab.conf";
