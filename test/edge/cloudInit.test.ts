import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { VPS_PATHS } from "../../components/edge/applyScript";
import { renderCloudInit } from "../../components/edge/cloudInit";
import { requireRealTools, run, tryRun } from "../support/realTools";

const spec = {
  paths: VPS_PATHS,
  ruleset: "flush ruleset\n",
  wireguardConfig: "[Interface]\nPrivateKey = x\n",
  wireguardInterface: "wg0",
  sshdDropIn: "Port 22022\n",
  applyScript: "#!/bin/sh\necho apply\n",
  sshUser: "root",
};

function writeUserData(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "ci-")), "user-data.yaml");
  writeFileSync(file, text);
  return file;
}

describe("cloud-init user-data", () => {
  const text = renderCloudInit(spec);
  const doc = parse(text);

  it("is #cloud-config that installs nftables and wireguard-tools", () => {
    assert.ok(text.startsWith("#cloud-config\n"));
    assert.deepEqual(doc.packages, ["nftables", "wireguard-tools"]);
  });

  it("lets root log in with its key when the push logs in as root, and not otherwise, whatever the image's cloud.cfg says", () => {
    assert.equal(doc.disable_root, false);
    assert.equal(parse(renderCloudInit({ ...spec, sshUser: "deploy" })).disable_root, true);
  });

  it("writes every file verbatim, the WireGuard config readable by root only", () => {
    const files = Object.fromEntries(doc.write_files.map((f: { path: string }) => [f.path, f]));
    assert.equal(files["/etc/nftables.conf"].content, spec.ruleset);
    assert.equal(files["/etc/wireguard/wg0.conf"].content, spec.wireguardConfig);
    assert.equal(files["/etc/wireguard/wg0.conf"].permissions, "0600");
    assert.equal(files["/etc/ssh/sshd_config.d/10-homelab.conf"].content, spec.sshdDropIn);
    assert.equal(files["/var/lib/homelab-edge/apply.sh"].content, spec.applyScript);
    assert.match(files["/etc/sysctl.d/90-homelab-forwarding.conf"].content, /net\.ipv4\.ip_forward = 1\nnet\.ipv6\.conf\.all\.forwarding = 1/);
    // Written after the packages, so dpkg never meets conffiles it did not ship.
    assert.equal(files["/etc/nftables.conf"].defer, true);
    assert.equal(files["/etc/wireguard/wg0.conf"].defer, true);
  });

  it("enables forwarding and the services, and checks sshd's config before restarting it", () => {
    const commands = doc.runcmd.map((c: string[]) => c.join(" "));
    assert.deepEqual(commands, ["sysctl --system", "systemctl enable --now nftables.service", "systemctl enable --now wg-quick@wg0.service", "sshd -t", "systemctl restart ssh"]);
  });

  describe("checked by the real cloud-init", function () {
    it("passes `cloud-init schema`", function () {
      requireRealTools(this, ["cloud-init"]);
      assert.match(run("cloud-init", ["schema", "-c", writeUserData(text)]), /Valid cloud-config/);
    });

    it("fails `cloud-init schema` on a value of the wrong type, so the check is real", function () {
      requireRealTools(this, ["cloud-init"]);
      const result = tryRun("cloud-init", ["schema", "-c", writeUserData(text.replace("package_update: true", "package_update: sometimes"))]);
      assert.notEqual(result.status, 0, result.stdout);
    });
  });
});
