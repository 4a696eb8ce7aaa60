import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderSshdDropIn } from "../../components/edge/sshd";
import { requireRealTools, run, tryRun } from "../support/realTools";

describe("sshd drop-in", () => {
  const text = renderSshdDropIn({ port: 22022 });

  it("allows keys only, on the configured port", () => {
    assert.match(text, /^Port 22022$/m);
    assert.match(text, /^PasswordAuthentication no$/m);
    assert.match(text, /^KbdInteractiveAuthentication no$/m);
    assert.match(text, /^AuthenticationMethods publickey$/m);
    assert.match(text, /^PermitRootLogin prohibit-password$/m);
  });

  it("is accepted by the real `sshd -t`, and a typo is not", function () {
    requireRealTools(this, ["sshd", "ssh-keygen"], true);
    // sshd -t insists on its privilege separation directory, which only a running sshd's unit creates.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const dir = mkdtempSync(join(tmpdir(), "sshd-"));
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    const check = (config: string) => {
      writeFileSync(join(dir, "sshd_config"), config);
      return tryRun("/usr/sbin/sshd", ["-t", "-f", join(dir, "sshd_config"), "-h", join(dir, "host_key")]);
    };
    const good = check(text);
    assert.equal(good.status, 0, good.stderr);
    assert.notEqual(check(text.replace("PasswordAuthentication", "PasswordAuthentcation")).status, 0);
  });
});
