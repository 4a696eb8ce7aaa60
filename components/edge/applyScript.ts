import { ACTIVATE_FUNCTIONS } from "./activateFunctions";
import { BOOT_ROLLBACK_UNIT, renderBootRollbackUnit } from "./bootRollbackUnit";

/** Where the edge's files live on the VPS; tests point these into a scratch directory. */
export interface EdgePaths {
  ruleset: string;
  wireguard: string;
  sshdDropIn: string;
  /** Keeps the last good files, the pending marker and the script's own copy. */
  state: string;
}

export const VPS_PATHS: EdgePaths = {
  ruleset: "/etc/nftables.conf",
  wireguard: "/etc/wireguard/wg0.conf",
  sshdDropIn: "/etc/ssh/sshd_config.d/10-homelab.conf",
  state: "/var/lib/homelab-edge",
};

/** Everything the apply-with-rollback script needs to know at render time. */
export interface ApplyScriptSpec {
  paths: EdgePaths;
  /** WireGuard interface the config belongs to. */
  wireguardInterface: string;
  /** Seconds a change may stay unconfirmed before the last good files come back. */
  confirmSeconds: number;
  /** The forwarded port probed before confirming, when the gateway peer is up. */
  probe: { peerPublicKey: string; address: string; port: number; maxHandshakeAgeSeconds: number };
}

/** The staged files, as the VPS receives them. */
export interface StagedFiles {
  ruleset: string;
  wireguard: string;
  sshdDropIn: string;
  script: string;
}

/** File names inside a staged directory; the push command and the script agree on them. */
export const STAGED_FILES = { ruleset: "nftables.conf", wireguard: "wg0.conf", sshdDropIn: "sshd.conf", script: "apply.sh" } as const;

/** Quotes a value for POSIX sh. */
export const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** How long loading a change may take before the timer armed ahead of it fires anyway. */
export const LOAD_ALLOWANCE_SECONDS = 120;

/** How apply reports on stdout whether the gateway peer has a recent handshake: "<prefix>up" or "<prefix>down". */
export const GATEWAY_STATE_LINE = "homelab-edge-gateway: ";

/**
 * Renders the POSIX sh script that applies the edge's files with commit-confirm:
 *   apply DIR TOKEN   check the staged ruleset with `nft -c`, keep the running files as last good, install and load
 *                     the new ones, and start a detached timer that restores the last good files unless
 *   confirm TOKEN     arrives in time, over a new SSH connection (the one that applied the rules survives a bad
 *                     ruleset, so it proves nothing). Confirm first probes a forwarded port when the gateway is up.
 * The rollback timer is armed before anything is installed, so a change that fails halfway still comes back, and
 * armed again once the change runs, so loading time never eats the confirm window. Under
 * systemd it is a transient timer unit, outside the SSH session, so no logout or sshd restart can end it; without
 * systemd it is a setsid'd process, and sshd is reloaded by signal.
 */
export function renderApplyScript(spec: ApplyScriptSpec): string {
  const p = spec.paths;
  return `#!/bin/sh
# Rendered by the homelab edge stack: applies edge files with automatic rollback unless confirmed.
set -eu

RULESET=${quote(p.ruleset)}
WG_CONF=${quote(p.wireguard)}
SSHD_DROPIN=${quote(p.sshdDropIn)}
STATE=${quote(p.state)}
WG_IF=${quote(spec.wireguardInterface)}
CONFIRM_SECONDS=${spec.confirmSeconds}
LOAD_ALLOWANCE_SECONDS=${LOAD_ALLOWANCE_SECONDS}
PROBE_PEER_KEY=${quote(spec.probe.peerPublicKey)}
PROBE_ADDRESS=${quote(spec.probe.address)}
PROBE_PORT=${spec.probe.port}
PROBE_MAX_HANDSHAKE_AGE=${spec.probe.maxHandshakeAgeSeconds}

log() { echo "homelab-edge: $*" >&2; echo "$(date -u +%FT%TZ) $*" >> "$STATE/log"; }

# Copies a file into place unless it is there already: a rollback must not fail on a file it need not write (one
# that cannot be written is often why the change failed). A missing source leaves the live file untouched.
put() {
  [ -f "$1" ] || return 0
  if [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
  install -m "$3" "$1" "$2"
}

# Copies one directory's three files into place. Every file is tried even after one fails, so a rollback restores
# all it can; set -e does not apply inside a function called as a condition, so each failure is counted by hand.
install_from() {
  failed=0
  put "$1/${STAGED_FILES.ruleset}" "$RULESET" 0644 || failed=1
  put "$1/${STAGED_FILES.wireguard}" "$WG_CONF" 0600 || failed=1
  put "$1/${STAGED_FILES.sshdDropIn}" "$SSHD_DROPIN" 0644 || failed=1
  return $failed
}

${ACTIVATE_FUNCTIONS}
# Confirm, the rollback timer and apply all decide on pending: they hold one lock, or a confirm still probing when
# the timer fires would report "confirmed" over the last good files the timer had just put back.
take_lock() {
  exec 9>"$STATE/lock"
  flock 9
}

# The pending change is gone; a confirm for it that comes later learns when.
forget_pending() {
  if [ -f "$STATE/pending" ]; then echo "$(cat "$STATE/pending") $(date -u +%FT%TZ)" > "$STATE/rolled-back"; fi
  rm -f "$STATE/pending"
}

# A rollback that did not complete keeps the pending marker, so the boot unit tries again and a later apply does not
# take the half-restored live files for good ones.
rollback() {
  log "rolling back to the last good files"
  if install_from "$STATE/last-good" && activate; then
    forget_pending
  else
    log "the last good files did not all come back; $STATE/pending stays, so the next boot tries again"
    return 1
  fi
}

# At boot, before nftables, WireGuard and sshd read the files: the timer of a change left pending died with the old
# boot, so the last good files go back now. Only files: the services about to start load them.
cmd_boot() {
  [ -f "$STATE/pending" ] || return 0
  log "booted with $(cat "$STATE/pending") unconfirmed: restoring the last good files before the services load them"
  if install_from "$STATE/last-good"; then forget_pending; else log "the last good files did not all come back"; return 1; fi
}

# Installs the boot unit (only where systemd runs), rewriting it only when it changed.
install_boot_unit() {
  [ -d /run/systemd/system ] || return 0
  unit=${quote(BOOT_ROLLBACK_UNIT.path)}
  cat > "$STATE/boot-unit.tmp" <<'UNIT'
${renderBootRollbackUnit({ state: p.state, script: `${p.state}/${STAGED_FILES.script}` }, spec.wireguardInterface)}UNIT
  if ! cmp -s "$STATE/boot-unit.tmp" "$unit"; then
    install -m 0644 "$STATE/boot-unit.tmp" "$unit" && systemctl enable --quiet ${BOOT_ROLLBACK_UNIT.name} || return 1
  fi
  rm -f "$STATE/boot-unit.tmp"
}

# Restores the last good files unless TOKEN is confirmed within SECONDS from now; arming again replaces the timer
# armed before.
arm_rollback_timer() {
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
    # A timer left by an earlier try of the same change, or by this one, would make the unit name taken.
    systemctl stop "homelab-edge-rollback-$1.timer" 2>/dev/null || true
    systemd-run --quiet --collect --unit "homelab-edge-rollback-$1" --on-active="$2s" --timer-property=AccuracySec=1s /bin/sh "$STATE/${STAGED_FILES.script}" rollback-after 0 "$1"
  else
    if [ -s "$STATE/timer.pid" ]; then kill "$(cat "$STATE/timer.pid")" 2>/dev/null || true; fi
    # Fully detached, or this SSH channel would stay open until the timer fires and every confirm would be late.
    # Without the lock's descriptor: a sleeping timer holding it would keep every confirm waiting.
    setsid sh "$STATE/${STAGED_FILES.script}" rollback-after "$2" "$1" </dev/null >/dev/null 2>&1 9>&- &
    echo $! > "$STATE/timer.pid"
  fi
}

gateway_is_up() {
  command -v wg >/dev/null 2>&1 || return 1
  last=$(wg show "$WG_IF" latest-handshakes 2>/dev/null | awk -v key="$PROBE_PEER_KEY" '$1 == key { print $2 }')
  [ -n "$last" ] && [ "$last" -gt 0 ] && [ $(( $(date +%s) - last )) -le "$PROBE_MAX_HANDSHAKE_AGE" ]
}

probe_forwarded_port() {
  command -v bash >/dev/null 2>&1 || return 0
  timeout 5 bash -c "exec 3<>/dev/tcp/$PROBE_ADDRESS/$PROBE_PORT" 2>/dev/null
}

cmd_apply() {
  staged=$1 token=$2
  mkdir -p "$STATE/last-good"
  chmod 0700 "$STATE"
  take_lock
  if ! nft -c -f "$staged/${STAGED_FILES.ruleset}"; then
    log "rejected: the staged ruleset does not load; the running one stays"
    exit 3
  fi
  if [ -f "$STATE/pending" ]; then
    # An unconfirmed change is running: it is not good, so keep the older last-good files as they are.
    log "replacing unconfirmed change $(cat "$STATE/pending")"
  else
    for pair in "$RULESET:${STAGED_FILES.ruleset}" "$WG_CONF:${STAGED_FILES.wireguard}" "$SSHD_DROPIN:${STAGED_FILES.sshdDropIn}"; do
      live=\${pair%%:*}
      if [ -f "$live" ]; then install -m 0600 "$live" "$STATE/last-good/\${pair#*:}"; fi
    done
  fi
  install -m 0700 "$0" "$STATE/${STAGED_FILES.script}"
  # Before pending exists: a reboot from here on finds the unit that rolls an unconfirmed change back.
  if ! install_boot_unit; then
    log "the boot rollback unit could not be installed; nothing changed"
    exit 4
  fi
  echo "$token" > "$STATE/pending"
  rm -f "$STATE/rolled-back"
  # Until the change runs, the window is longer by what loading may take, so this timer cannot fire mid-load.
  arm_rollback_timer "$token" $((CONFIRM_SECONDS + LOAD_ALLOWANCE_SECONDS))
  if ! install_from "$staged"; then
    log "the new files failed to install"
    rollback || true
    exit 4
  fi
  if ! activate; then
    log "the new files failed to load"
    rollback || true
    exit 4
  fi
  # The window counts from when the change runs: loading can take longer than the window on a slow or busy VPS
  # (sshd -t and a reload under load), and then the confirm would always come too late.
  if ! arm_rollback_timer "$token" "$CONFIRM_SECONDS"; then
    # The longer timer is stopped by now: never leave a change running with none.
    log "the rollback timer could not be armed again"
    rollback || true
    exit 4
  fi
  # What confirm checks the live files against: a change confirmed must be the one that runs.
  for live in "$RULESET" "$WG_CONF" "$SSHD_DROPIN"; do
    if [ -f "$live" ]; then sha256sum "$live"; fi
  done > "$STATE/pending.sha256"
  log "applied $token; rolls back in \${CONFIRM_SECONDS}s unless confirmed"
  # On stdout, for the public-path probe that runs where Pulumi does (see renderPublicProbeCommand).
  if gateway_is_up; then echo "${GATEWAY_STATE_LINE}up"; else echo "${GATEWAY_STATE_LINE}down"; fi
}

cmd_rollback_after() {
  sleep "$1"
  take_lock
  if [ "$(cat "$STATE/pending" 2>/dev/null)" = "$2" ]; then rollback; fi
}

cmd_confirm() {
  token=$1
  take_lock
  if [ "$(cat "$STATE/pending" 2>/dev/null)" != "$token" ]; then
    rolled_back=$(cat "$STATE/rolled-back" 2>/dev/null || true)
    if [ "\${rolled_back%% *}" = "$token" ]; then
      log "$token was rolled back at \${rolled_back#* } before this confirm arrived: the last good files run. The apply step is done in Pulumi's state, so push again with pulumi up --replace on the URN of the *-push-apply command (pulumi stack --show-urns lists it)"
    else
      log "nothing pending for $token"
    fi
    exit 5
  fi
  if gateway_is_up; then
    if ! probe_forwarded_port; then
      log "gateway is up but $PROBE_ADDRESS:$PROBE_PORT does not answer; not confirming"
      exit 6
    fi
  else
    log "gateway has no recent handshake; skipping the forwarded-port probe"
  fi
  if ! sha256sum -c --quiet --status "$STATE/pending.sha256"; then
    log "the live files are not those $token installed; not confirming"
    exit 7
  fi
  rm -f "$STATE/pending" "$STATE/pending.sha256"
  log "confirmed $token"
}

case "\${1:-}" in
  apply) cmd_apply "$2" "$3" ;;
  confirm) cmd_confirm "$2" ;;
  rollback-after) cmd_rollback_after "$2" "$3" ;;
  rollback) take_lock; rollback ;;
  boot) cmd_boot ;;
  *) echo "usage: $0 apply DIR TOKEN | confirm TOKEN | rollback | boot" >&2; exit 2 ;;
esac
`;
}
