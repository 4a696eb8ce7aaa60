import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderHaproxyConfig } from "../../components/home/haproxy";
import { requireRealTools, tryRun } from "../support/realTools";

const spec = {
  listen: { ipv4: "10.10.10.2", ipv6: "fd7a:10:10::2" },
  healthPort: 8404,
  routes: [
    { port: 443, host: "traefik-tunnel.traefik.svc.cluster.local", targetPort: 8444, sendProxy: true },
    { port: 80, host: "traefik-tunnel.traefik.svc.cluster.local", targetPort: 8081, sendProxy: true },
    { port: 25565, host: "minecraft.minecraft.svc.cluster.local", targetPort: 25565, sendProxy: false },
  ],
};

function check(config: string) {
  const file = join(mkdtempSync(join(tmpdir(), "haproxy-")), "haproxy.cfg");
  writeFileSync(file, config);
  return tryRun("haproxy", ["-c", "-dW", "-f", file]);
}

describe("haproxy.cfg renderer", () => {
  const text = renderHaproxyConfig(spec);

  it("binds each forwarded port on both tunnel addresses only", () => {
    for (const port of [80, 443, 25565]) {
      assert.match(text, new RegExp(`bind 10\\.10\\.10\\.2:${port}\\n  bind \\[fd7a:10:10::2\\]:${port}\\n`));
    }
    assert.doesNotMatch(text, /bind \*:|bind 0\.0\.0\.0|bind :::/);
  });

  it("sends PROXY v2 only where the receiver trusts it, and resolves names at run time", () => {
    assert.match(text, /server upstream traefik-tunnel\.traefik\.svc\.cluster\.local:8444 send-proxy-v2 resolvers cluster init-addr none/);
    assert.match(text, /server upstream minecraft\.minecraft\.svc\.cluster\.local:25565 resolvers cluster init-addr none/);
    assert.match(text, /resolvers cluster\n {2}parse-resolv-conf/);
  });

  it("answers the readiness probe on the pod address", () => {
    assert.match(text, /frontend health\n {2}mode http\n {2}bind :8404\n {2}monitor-uri \/healthz/);
  });

  // Debian 12's haproxy is 2.6 while the gateway's image is 3.4 (gatewayHaproxyImage): the rendered keywords are in both
  // manuals, but a keyword only 3.4 refused would still pass here.
  describe("checked by the real haproxy", function () {
    it("passes `haproxy -c` with zero warnings", function () {
      requireRealTools(this, ["haproxy"]);
      const result = check(text);
      assert.equal(result.status, 0, result.stderr + result.stdout);
    });

    it("fails it when a Service name is resolved at start, which plain -c only warns about", function () {
      requireRealTools(this, ["haproxy"]);
      const resolvedAtStart = check(text.replace(/ init-addr none/g, ""));
      assert.notEqual(resolvedAtStart.status, 0, "the unresolvable cluster name must fail under -dW");
    });
  });
});
