import { strict as assert } from "node:assert";
import { ACTIVATE_FUNCTIONS } from "../../components/edge/activateFunctions";
import { renderApplyScript, VPS_PATHS } from "../../components/edge/applyScript";
import { requireRealTools, run } from "../support/realTools";

// What the fragment reads from the apply script around it; the tunnel behaviour itself runs in applyScript.test.ts.
const CONTEXT = `RULESET=/etc/nftables.conf\nWG_CONF=/etc/wireguard/wg0.conf\nWG_IF=wg0\nSTATE=/var/lib/homelab-edge\nlog() { echo "$*" >&2; }\n`;

describe("edge apply script: the functions that load files into the running services", () => {
  it("are in the apply script as they are, once", () => {
    const script = renderApplyScript({ paths: VPS_PATHS, wireguardInterface: "wg0", confirmSeconds: 90, probe: { peerPublicKey: "k", address: "10.10.10.2", port: 443, maxHandshakeAgeSeconds: 180 } });
    assert.equal(script.split(ACTIVATE_FUNCTIONS).length, 2);
    for (const name of ["reload_sshd", "set_interface", "activate"]) assert.match(ACTIVATE_FUNCTIONS, new RegExp(`^${name}\\(\\) \\{$`, "m"));
  });

  it("are POSIX sh that shellcheck passes, given the variables the script defines", function () {
    requireRealTools(this, ["sh", "shellcheck"]);
    run("sh", ["-n"], CONTEXT + ACTIVATE_FUNCTIONS);
    run("shellcheck", ["--shell=sh", "-"], `${CONTEXT}${ACTIVATE_FUNCTIONS}activate\n`);
  });
});
