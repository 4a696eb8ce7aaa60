import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STAGED_FILES, VPS_PATHS } from "../../components/edge/applyScript";
import { BOOT_ROLLBACK_UNIT, renderBootRollbackUnit } from "../../components/edge/bootRollbackUnit";
import { requireRealTools, run } from "../support/realTools";

describe("edge boot rollback unit", () => {
  it("renders a boot unit that systemd accepts, ordered before the services that load the files", function () {
    requireRealTools(this, ["systemd-analyze"]);
    const unit = renderBootRollbackUnit({ state: VPS_PATHS.state, script: `${VPS_PATHS.state}/${STAGED_FILES.script}` }, "wg0");
    assert.match(unit, /^DefaultDependencies=no$/m);
    assert.match(unit, /^Before=.*\bnftables\.service\b.*\bnetwork-pre\.target\b.*\bwg-quick@wg0\.service\b.*\bssh\.service\b/m);
    assert.match(unit, new RegExp(`^ConditionPathExists=${VPS_PATHS.state}/pending$`, "m"));
    assert.match(unit, new RegExp(`^ExecStart=/bin/sh ${VPS_PATHS.state}/apply\\.sh boot$`, "m"));
    const dir = mkdtempSync(join(tmpdir(), "boot-unit-"));
    writeFileSync(join(dir, BOOT_ROLLBACK_UNIT.name), unit);
    // verify wants the ExecStart binary to exist; /bin/sh does. Missing nftables/ssh units are only warnings.
    const verified = run("sh", ["-c", `systemd-analyze verify --man=no ${join(dir, BOOT_ROLLBACK_UNIT.name)} 2>&1 || echo "exit $?"`]);
    assert.doesNotMatch(verified, /exit \d|Unknown (key|section)|Invalid|bad-setting/i, verified);
  });
});
