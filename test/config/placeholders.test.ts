import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { placeholdersIn, refusePlaceholders } from "../../components/config/placeholders";
import { projectKeys } from "../../components/config/schema";
import { loadPlanConfig } from "../../tools/offline/stackConfig";

const ROOT = resolve(__dirname, "../..");
const shipped = (stack: "edge" | "home") => projectKeys(loadPlanConfig(stack, ROOT).config);

describe("placeholders: the example's values, which a real engine refuses", () => {
  it("finds every example name, documentation address and the docs' zone id in the shipped edge config, by key", () => {
    const keys = placeholdersIn(shipped("edge")).map((p) => p.key);
    for (const key of ["homelab:domain", "homelab:acmeEmail", "homelab:adminCidrs[0]", "homelab:adminCidrs[1]", "homelab:cloudflareZoneId", "homelab:services[0].hostname"]) assert.ok(keys.includes(key), key);
    assert.ok(keys.some((k) => /^homelab:services\[\d+\]\.env\.HOMEPAGE_ALLOWED_HOSTS$/.test(k)), "inside a catalog entry's env too");
  });

  it("tells reserved names from real ones, and documentation ranges from routed ones", () => {
    const found = placeholdersIn({ a: "home.example.org", b: "ops@example.net", c: "http://lab.test:8080/", d: "203.0.113.7", e: "2001:db8:1::/64", f: "example.com.au", g: "myexample.com", h: "10.0.0.0/8", i: "2a01:4f8::/32" });
    assert.deepEqual(found.map((p) => p.key), ["homelab:a", "homelab:b", "homelab:c", "homelab:d", "homelab:e"]);
  });

  it("never quotes a secret, whatever it looks like: app secrets, alert receivers' URLs and tokens, the SSH key", () => {
    const found = placeholdersIn({
      appSecrets: JSON.stringify({ mail: { password: "me@example.com-2026" } }),
      alertReceiverSecrets: JSON.stringify({ ops: { url: "https://hooks.example.com/x" } }),
      sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY----- admin@example.com",
      domain: "example.com",
    });
    assert.deepEqual(found.map((p) => p.key), ["homelab:domain"]);
  });

  it("refuses them in one error that names each key, its value and why", () => {
    assert.throws(() => refusePlaceholders({ domain: "example.com", adminCidrs: '["198.51.100.0/24"]', sshPort: "22022" }), (err: Error) => {
      assert.match(err.message, /homelab:adminCidrs\[0\]: "198\.51\.100\.0\/24" is a documentation address range, routed nowhere; set your own before deploying/);
      assert.match(err.message, /homelab:domain: "example\.com" is a name reserved for examples/);
      assert.doesNotMatch(err.message, /sshPort/);
      return true;
    });
    assert.doesNotThrow(() => refusePlaceholders({ domain: "mylab.net", acmeEmail: "me@mylab.net" }));
  });

  it("stops a program run by a real engine before any resource, and leaves mock runs (the offline plan) alone", () => {
    // No mock monitor here, as under `pulumi up`: the program reads its config from PULUMI_CONFIG and must refuse.
    const config = JSON.stringify(loadPlanConfig("home", ROOT).config);
    const script = `require(${JSON.stringify(join(ROOT, "components/config/load"))}).loadHomeConfig()`;
    const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT, encoding: "utf8", env: { ...process.env, PULUMI_CONFIG: config } });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /Invalid configuration:\n {2}- homelab:acmeEmail: "admin@example\.com" is a name reserved for examples/);
  });
});
