import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { traefikStandInPaths } from "../support/tunnelGatewayPod";
import { EdgeVmLab } from "./edgeLab";

const urlHost = (address: string) => (address.includes(":") ? `[${address}]` : address);

const sha256File = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });

const DOWNLOAD_MB = 100;

/**
 * Issue 14 §1 item 4 on the VM: the home peer runs the home stack's haproxy.cfg (planned against this edge) in front of
 * a PROXY v2 backend, so the client's address crosses DNAT, the VM's kernel WireGuard and HAProxy's PROXY header.
 * Registered after the first push, which gives the VPS its WireGuard key.
 */
export function describeHomePath(getLab: () => EdgeVmLab) {
  describe("the home stack's haproxy.cfg in front of a PROXY v2 backend, through the VM's kernel WireGuard", () => {
    let lab: EdgeVmLab;
    /** HTTPS from the client to a name under the wildcard, at the VPS's public address, trusting the stand-in's CA. */
    const https = (vps: string, path: string, extra: string[] = [], timeoutSeconds = 30) =>
      lab.tryExec("client", "curl", ["-sS", "--max-time", String(timeoutSeconds), "--cacert", traefikStandInPaths(lab.dir).certificate, "--resolve", `edge.example.com:443:${urlHost(vps)}`, ...extra, `https://edge.example.com${path}`], (timeoutSeconds + 30) * 1000);

    before(function () {
      lab = getLab();
      if (!lab) this.skip();
    });

    it("the gateway runs the home plan's own haproxy.cfg and gateway peer config, bound to the tunnel addresses", () => {
      assert.equal(readFileSync(join(lab.dir, "home/haproxy.cfg"), "utf8"), lab.home.artifacts["haproxy.cfg"]);
      const listening = lab.exec("home", "ss", ["-Hltnp"]);
      for (const bind of ["10.10.10.2:443", "10.10.10.2:80", "[fd7a:10:10::2]:443", "[fd7a:10:10::2]:80"]) {
        assert.match(listening, new RegExp(`${bind.replace(/[.[\]]/g, "\\$&")}\\s.*haproxy`), `HAProxy listens on ${bind}`);
      }
    });

    for (const family of ["ipv4", "ipv6"] as const) {
      it(`over ${family}, HTTPS and HTTP reach the backend, whose PROXY header names the client's own address`, () => {
        const client = lab.addresses.client[family];
        const vps = lab.addresses.vps[family];
        const tls = https(vps, "/whoami");
        assert.equal(tls.status, 0, tls.stderr);
        assert.equal(tls.stdout.trim(), client);
        const http = lab.tryExec("client", "curl", ["-sS", "-g", "--max-time", "30", `http://${urlHost(vps)}/`], 60_000);
        assert.equal(http.status, 0, http.stderr);
        assert.equal(http.stdout.trim(), client);
        // nginx takes connections only on the pod network, with a PROXY header: only HAProxy can have sent these.
        const log = readFileSync(traefikStandInPaths(lab.dir).accessLog, "utf8").split("\n");
        assert.ok(log.some((line) => line.startsWith(`${client} GET /whoami `)), `the backend logged no HTTPS request from ${client}:\n${log.slice(-5).join("\n")}`);
      });
    }

    it(`a ${DOWNLOAD_MB} MB download through the same path arrives intact`, async () => {
      const file = join(traefikStandInPaths(lab.dir).files, "big.bin");
      writeFileSync(file, randomBytes(DOWNLOAD_MB * 1024 * 1024), { mode: 0o644 });
      const out = join(lab.dir, "downloaded.bin");
      const started = Date.now();
      const result = https(lab.addresses.vps.ipv4, "/files/big.bin", ["-o", out, "-w", "%{size_download}"], 600);
      const seconds = (Date.now() - started) / 1000;
      assert.equal(result.status, 0, result.stderr);
      assert.equal(Number(result.stdout), DOWNLOAD_MB * 1024 * 1024, "bytes received");
      assert.equal(await sha256File(out), await sha256File(file));
      const mtu = /^MTU = (\d+)$/m.exec(lab.home.artifacts["gateway-wg0.conf"])?.[1];
      console.log(`      measured: ${DOWNLOAD_MB} MB in ${seconds.toFixed(1)} s (${(DOWNLOAD_MB / seconds).toFixed(1)} MB/s) client -> DNAT -> kernel WireGuard (MTU ${mtu}) -> HAProxy -> backend, under TCG`);
    });
  });
}
