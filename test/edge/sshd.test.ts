import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderSshdDropIn } from "../../components/edge/sshd";
import { Netns, requireRealTools, run, tryRun } from "../support/realTools";

describe("sshd drop-in", () => {
  const text = renderSshdDropIn({ port: 22022, user: "root", adminCidrs: ["198.51.100.0/24", "2001:db8:5::/48"] });

  it("allows keys only, on the configured port", () => {
    assert.match(text, /^Port 22022$/m);
    assert.match(text, /^PasswordAuthentication no$/m);
    assert.match(text, /^KbdInteractiveAuthentication no$/m);
    assert.match(text, /^AuthenticationMethods publickey$/m);
    assert.match(text, /^PermitRootLogin prohibit-password$/m);
    assert.match(text, /^AllowUsers root@198\.51\.100\.0\/24 root@2001:db8:5::\/48$/m);
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

  it("lets the user in from the admin networks only, checked by a real sshd, as on a new server before any firewall", async function () {
    requireRealTools(this, ["sshd", "ssh", "ssh-keygen", "ip"], true);
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const dir = mkdtempSync(join(tmpdir(), "sshd-live-"));
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "admin_key")]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "admin_key.pub")));
    // The admin network is 127.0.0.1/32 here; 127.0.0.2, on the same loopback, stands for the rest of the internet.
    const dropIn = renderSshdDropIn({ port: 22022, user: "root", adminCidrs: ["127.0.0.1/32"] });
    // sshd keeps the first value it reads, so the drop-in's lines win over these, as over the image's sshd_config.
    writeFileSync(join(dir, "sshd_config"), `${dropIn}ListenAddress 127.0.0.1\nAuthorizedKeysFile ${dir}/authorized_keys\nStrictModes no\nPidFile none\n`);
    const ns = new Netns();
    const sshd = spawn("ip", ["netns", "exec", ns.name, "/usr/sbin/sshd", "-D", "-e", "-f", join(dir, "sshd_config"), "-h", join(dir, "host_key")]);
    let log = "";
    sshd.stderr.on("data", (chunk) => (log += chunk));
    try {
      const login = (source: string) =>
        ns.tryExec("ssh", ["-i", join(dir, "admin_key"), "-b", source, "-p", "22022", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "root@127.0.0.1", "echo in"]);
      for (let i = 0; i < 50 && !/Server listening/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
      const admin = login("127.0.0.1");
      assert.equal(admin.status, 0, `${admin.stderr}\n${log}`);
      assert.equal(admin.stdout.trim(), "in");
      const stranger = login("127.0.0.2");
      assert.equal(stranger.status, 255);
      assert.match(stranger.stderr, /Permission denied \(publickey\)/);
      const refusal = /User root from 127\.0\.0\.2 not allowed because not listed in AllowUsers/;
      for (let i = 0; i < 30 && !refusal.test(log); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(log, refusal);
    } finally {
      sshd.kill();
      ns.delete();
    }
  });
});
