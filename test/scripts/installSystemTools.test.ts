import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { requireRealTools, run, TOOLS_BIN } from "../support/realTools";

const ROOT = resolve(__dirname, "../..");
const SCRIPT = join(ROOT, "scripts/install-system-tools");
/** The version an image pin in components/ names, as the script reads it; `v` is how its tags begin. */
const pin = (image: string, v = "v") => new RegExp(`${image}:${v}(\\d+\\.\\d+\\.\\d+)`).exec(run("grep", ["-rhoE", `${image}:${v}[0-9.]+`, join(ROOT, "components")]))![1];

/** A PATH with bash and the few commands the script needs to report, and none of the tools it installs. */
function barePath(): string {
  const dir = mkdtempSync(join(tmpdir(), "bare-path-"));
  for (const command of ["bash", "env", "grep", "sed", "sort", "head", "tr", "cat", "id", "dirname", "printf"]) symlinkSync(run("sh", ["-c", `command -v ${command}`]).trim(), join(dir, command));
  return dir;
}

describe("scripts/install-system-tools", () => {
  it("passes shellcheck", function () {
    requireRealTools(this, ["shellcheck"]);
    run("shellcheck", [SCRIPT]);
  });

  it("on another OS names what to install and exits 2 before changing anything", () => {
    const osRelease = join(mkdtempSync(join(tmpdir(), "os-")), "os-release");
    writeFileSync(osRelease, 'ID=fedora\nPRETTY_NAME="Fedora Linux 41"\n');
    const result = spawnSync(SCRIPT, [], { encoding: "utf8", env: { PATH: barePath(), HOMELAB_OS_RELEASE: osRelease } });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /this is not Debian or Ubuntu \(Fedora Linux 41\)/);
    assert.match(result.stderr, /Debian\/Ubuntu packages: .*nftables .*wireguard-go/);
    assert.match(result.stderr, /Go programs .*github\.com\/juanfont\/headscale\/cmd\/headscale@v/);
    assert.ok(result.stderr.includes(`Headplane's config loader: tale/headplane v${pin("tale/headplane", "")}'s source (HEADPLANE_GIT_DIR)`), result.stderr);
    assert.doesNotMatch(result.stdout, /installing|building/);
  });

  it("--check lists what is missing and exits 1, changing nothing", () => {
    const result = spawnSync(SCRIPT, ["--check"], { encoding: "utf8", env: { PATH: barePath() } });
    assert.equal(result.status, 1);
    assert.match(result.stdout, /^missing packages: .*\bwireguard-go\b/m);
  });

  it("builds Headscale and Tailscale at the versions the program's image pins name", function () {
    requireRealTools(this, ["headscale", "tailscale", "tailscaled"]);
    assert.match(run(join(TOOLS_BIN, "headscale"), ["version"]), new RegExp(`^headscale version v${pin("headscale/headscale")}$`, "m"));
    assert.match(run(join(TOOLS_BIN, "tailscale"), ["version"]), new RegExp(`^${pin("tailscale/tailscale").replace(/\./g, "\\.")}\\b`));
    assert.equal(readFileSync(join(TOOLS_BIN, ".tailscaled.version"), "utf8").trim(), `tailscale.com/cmd/tailscaled@v${pin("tailscale/tailscale")}`);
  });
});
