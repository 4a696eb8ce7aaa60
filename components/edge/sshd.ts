/** Settings of the VPS's sshd drop-in. */
export interface SshdSpec {
  port: number;
}

/**
 * Renders the sshd drop-in: keys only, on the configured port. sshd keeps the first value it reads for a keyword,
 * and Debian includes sshd_config.d/*.conf at the top, so a "10-" file wins over the image's own drop-ins.
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
    "",
  ].join("\n");
}

/** Where the drop-in lives on the VPS. */
export const SSHD_DROPIN_PATH = "/etc/ssh/sshd_config.d/10-homelab.conf";
