import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { AddressInfo, createServer, Server } from "node:net";
import { GATEWAY_STATE_LINE } from "../../components/edge/applyScript";
import { APPLY_STDOUT_ENV, renderPublicProbeCommand } from "../../components/edge/pushCommands";
import { requireRealTools } from "../support/realTools";

/** Runs the rendered probe through sh, as the command provider's local Command does, with apply's stdout given. */
function probe(port: number, applyStdout: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", renderPublicProbeCommand("127.0.0.1", port)], { env: { ...process.env, [APPLY_STDOUT_ENV]: applyStdout }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const listening = (): Promise<Server> => new Promise((resolve) => { const server = createServer((s) => s.end()); server.listen(0, "127.0.0.1", () => resolve(server)); });
const portOf = (server: Server) => (server.address() as AddressInfo).port;

describe("the public-path probe between apply and confirm", function () {
  before(function () {
    requireRealTools(this, ["sh", "node"]);
  });

  it("passes when the forwarded port answers and apply said the gateway is up", async () => {
    const server = await listening();
    try {
      const result = await probe(portOf(server), `${GATEWAY_STATE_LINE}up\n`);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /answers through the forwarded public path/);
    } finally {
      server.close();
    }
  });

  it("fails, saying the change breaks the public path, when the gateway is up but the port does not answer", async () => {
    const server = await listening();
    const port = portOf(server);
    await new Promise((r) => server.close(r));
    const result = await probe(port, `some log line\n${GATEWAY_STATE_LINE}up\n`);
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${port} does not answer from here \\(ECONNREFUSED\\) though the gateway is up: .*not confirming`));
  });

  it("skips the probe when apply said the gateway has no recent handshake, as on a first deploy", async () => {
    const server = await listening();
    const port = portOf(server);
    await new Promise((r) => server.close(r));
    const result = await probe(port, `${GATEWAY_STATE_LINE}down\n`);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /no recent handshake; the public path is not probed/);
  });
});
