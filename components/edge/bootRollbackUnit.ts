/** The systemd unit that rolls back, at boot, a change whose confirm never came. */
export const BOOT_ROLLBACK_UNIT = { name: "homelab-edge-boot-rollback.service", path: "/etc/systemd/system/homelab-edge-boot-rollback.service" } as const;

/** Where the unit finds the pending marker, and the apply script it runs. */
export interface BootRollbackPaths {
  /** The state directory that holds `pending` while a change is unconfirmed. */
  state: string;
  /** The apply script's own copy on the VPS. */
  script: string;
}

/**
 * Renders the boot unit. The transient rollback timer dies with a reboot, so a change still pending at boot would
 * load unprotected; this oneshot puts the last good files back first. DefaultDependencies=no and Before= the
 * services that read the files (nftables.service itself runs that early), After=local-fs.target for /etc and /var.
 */
export function renderBootRollbackUnit(paths: BootRollbackPaths, wireguardInterface: string): string {
  return [
    "# Rendered by the homelab edge stack.",
    "[Unit]",
    "Description=Roll back an unconfirmed homelab edge change before nftables, WireGuard and sshd load it",
    "DefaultDependencies=no",
    "After=local-fs.target",
    `Before=nftables.service network-pre.target wg-quick@${wireguardInterface}.service ssh.service shutdown.target`,
    "Wants=network-pre.target",
    "Conflicts=shutdown.target",
    `ConditionPathExists=${paths.state}/pending`,
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=/bin/sh ${paths.script} boot`,
    "",
    "[Install]",
    "WantedBy=sysinit.target",
    "",
  ].join("\n");
}
