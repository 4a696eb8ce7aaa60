/**
 * The apply script's shell functions that load installed files into the running services, without dropping what
 * runs: the ruleset atomically, WireGuard's peers and interface in place, then sshd. They read the script's variables
 * RULESET, WG_CONF, WG_IF and STATE, and its log function; renderApplyScript puts them in the script as they are.
 */
export const ACTIVATE_FUNCTIONS = `reload_sshd() {
  command -v sshd >/dev/null 2>&1 || return 0
  # sshd -t refuses to run without its privilege separation directory, which only a running ssh.service creates.
  [ -d /run/sshd ] || mkdir -m 0755 /run/sshd
  sshd -t || return 1
  if [ -d /run/systemd/system ]; then
    systemctl reload ssh 2>/dev/null || systemctl reload sshd
  elif [ -s /run/sshd.pid ]; then
    kill -HUP "$(cat /run/sshd.pid)"
  fi
}

# wg syncconf applies the key, the port and the peers, never the lines only wg-quick reads; of those the VPS's wg0.conf
# has MTU and Address. They are set in place, against what the kernel runs, so the home peers keep their sessions (a
# restarted interface waits minutes for them to handshake again) and a tunnel change runs under the timer, not first
# at the next boot, unconfirmed.
set_interface() {
  mtu=$(sed -n 's/^MTU = //p' "$WG_CONF")
  if [ -n "$mtu" ] && [ "$mtu" != "$(cat "/sys/class/net/$WG_IF/mtu")" ]; then ip link set dev "$WG_IF" mtu "$mtu" || return 1; fi
  want=$(sed -n 's/^Address = //p' "$WG_CONF" | tr -d ' ' | tr ',' '\\n' | sort)
  have=$(ip -o address show dev "$WG_IF" scope global | awk '{ print $4 }' | sort)
  [ "$want" = "$have" ] && return 0
  log "the tunnel's addresses change to $(echo "$want" | tr '\\n' ' ')"
  ip address flush dev "$WG_IF" || return 1
  for address in $want; do ip address add "$address" dev "$WG_IF" || return 1; done
}

# Loads what is installed: the ruleset atomically, WireGuard without dropping the tunnel, then sshd.
activate() {
  nft -f "$RULESET" || return 1
  if ip link show "$WG_IF" >/dev/null 2>&1; then
    # The stripped copy holds the key: it goes whether or not syncconf took it.
    stripped="$STATE/wg-stripped.conf"
    sync_failed=0
    (umask 077; wg-quick strip "$WG_CONF" > "$stripped") && wg syncconf "$WG_IF" "$stripped" || sync_failed=1
    rm -f "$stripped"
    [ "$sync_failed" -eq 0 ] || return 1
    set_interface || return 1
  fi
  reload_sshd
}
`;
