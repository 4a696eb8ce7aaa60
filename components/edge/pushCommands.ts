import { EdgePaths, GATEWAY_STATE_LINE, quote, STAGED_FILES, StagedFiles } from "./applyScript";

/**
 * The staged files as the push command reads them on standard input: a line per file, its staged name and then its
 * content in base64, so no quoting of the content can go wrong. Secret, since wg0.conf holds the VPS's key.
 */
export function renderPushInput(files: StagedFiles): string {
  return (Object.keys(STAGED_FILES) as (keyof StagedFiles)[]).map((key) => `${STAGED_FILES[key]} ${Buffer.from(files[key]).toString("base64")}\n`).join("");
}

/**
 * Renders the remote command that stages the files it reads on standard input (renderPushInput) and runs `apply`.
 * The files never appear in the command itself: sshd runs it as a shell's argument, which every process on the VPS
 * can read in /proc/<pid>/cmdline for as long as the push runs, and wg0.conf holds the key. printf is the shell's own,
 * so no content reaches an argument list there either.
 */
export function renderPushCommand(token: string, paths: EdgePaths): string {
  const stagedRoot = `${paths.state}/staged`;
  const names = Object.values(STAGED_FILES);
  return [
    "set -eu",
    // On the first deploy cloud-init may still be installing nftables and wireguard-tools: wait for it. How it ended
    // only informs (Debian 12's cloud-init exits 1 for any failed module); apply checks every file itself.
    'if command -v cloud-init >/dev/null 2>&1 && ! cloud-init status --wait >/dev/null 2>&1; then echo "homelab-edge: cloud-init ended with errors; applying anyway: $(cloud-init status --long 2>&1 | tr \'\\n\' \' \')" >&2; fi',
    "umask 077",
    `staged_root=${quote(stagedRoot)}`,
    `staged="$staged_root"/${quote(token)}`,
    // The staged wg0.conf holds the VPS's private key: every staged directory goes once apply returns, however it
    // ended (a dropped session too), older pushes' included. Apply keeps what a rollback needs under the state
    // directory: the last good files and its own copy.
    `trap 'rm -rf "$staged_root"' EXIT`,
    "trap 'exit 1' HUP INT TERM",
    'rm -rf "$staged" && mkdir -p "$staged"',
    `while read -r name content; do case "$name" in ${names.join("|")}) printf '%s' "$content" | base64 -d > "$staged/$name" ;; *) echo "homelab-edge: unknown staged file $name" >&2; exit 2 ;; esac; done`,
    `for name in ${names.join(" ")}; do [ -f "$staged/$name" ] || { echo "homelab-edge: $name did not arrive on standard input" >&2; exit 2; }; done`,
    `sh "$staged/${STAGED_FILES.script}" apply "$staged" ${quote(token)}`,
    "",
  ].join("\n");
}

/** The environment variable the public-path probe reads apply's stdout from. */
export const APPLY_STDOUT_ENV = "HOMELAB_EDGE_APPLY_STDOUT";

/**
 * Renders the probe that runs where Pulumi runs, between apply and confirm: a TCP connection to each of the VPS's
 * public addresses on a forwarded port. From outside, it crosses what the tunnel-side probe cannot: the WAN, the DNAT
 * and the forward chain, in each family. It probes only when apply said the gateway has a recent handshake (a first
 * deploy has no home yet). An IPv6 address this machine has no route to is skipped, not failed: many runners have no
 * IPv6, which says nothing of the VPS. It is Node, which any machine running this Pulumi program has, and no shell
 * tool that may be absent. The families are probed at once and all tries end within 10 s, under the shortest confirm
 * window (15 s): a try after the VPS rolled the change back would find the old, working path and pass.
 */
export function renderPublicProbeCommand(hosts: string[], port: number): string {
  const script = [
    `const [port, ...hosts] = process.argv.slice(1);`,
    `if (!(process.env.${APPLY_STDOUT_ENV} || "").includes(${JSON.stringify(`${GATEWAY_STATE_LINE}up`)})) {`,
    `  console.log("homelab-edge: the gateway has no recent handshake; the public path is not probed");`,
    `  process.exit(0);`,
    `}`,
    `const probe = (host) => new Promise((resolve) => {`,
    `  let tries = 0;`,
    `  const attempt = () => {`,
    `    const socket = require("net").connect({ host, port: Number(port), timeout: 3000 });`,
    `    socket.once("connect", () => { socket.destroy(); console.log("homelab-edge: " + host + ":" + port + " answers through the forwarded public path"); resolve(true); });`,
    `    const fail = (why) => {`,
    `      socket.destroy();`,
    `      if (host.includes(":") && why === "ENETUNREACH") { console.log("homelab-edge: no IPv6 route from here to " + host + "; its public path is not probed"); return resolve(true); }`,
    `      if (++tries < 3) return setTimeout(attempt, 500);`,
    `      console.error("homelab-edge: " + host + ":" + port + " does not answer from here (" + why + ") though the gateway is up: the change breaks the forwarded public path; not confirming, so the VPS rolls it back");`,
    `      resolve(false);`,
    `    };`,
    `    socket.once("timeout", () => fail("timed out"));`,
    `    socket.once("error", (err) => fail(err.code || err.message));`,
    `  };`,
    `  attempt();`,
    `});`,
    `Promise.all(hosts.map(probe)).then((answered) => process.exit(answered.every(Boolean) ? 0 : 1));`,
  ].join("\n");
  return `node -e ${quote(script)} ${port} ${hosts.map(quote).join(" ")}\n`;
}

/** The remote command that confirms a change; runs over its own SSH connection. */
export function renderConfirmCommand(token: string, paths: EdgePaths): string {
  return `sh ${quote(`${paths.state}/${STAGED_FILES.script}`)} confirm ${quote(token)}\n`;
}
