import { strict as assert } from "node:assert";
import { z } from "zod";
import { ConfigError, parseWith, projectKeys } from "../../components/config/parsing";

describe("config parsing", () => {
  it("keeps this project's keys only, without their namespace", () => {
    assert.deepEqual(projectKeys({ "homelab:domain": "mylab.net", "hcloud:token": "t", "homelab:services": "[]" }), { domain: "mylab.net", services: "[]" });
  });

  it("reports every problem at once, each naming its key, schema issues before cross-field ones", () => {
    const schema = z.object({ port: z.number(), name: z.string() });
    assert.throws(
      () => parseWith(schema, { port: "x" }, () => []),
      (err: Error) => err instanceof ConfigError && /homelab:port: .*\n.*homelab:name is required but not set/s.test(err.message),
    );
    assert.throws(() => parseWith(schema, { port: 1, name: "a" }, () => [{ key: "name", message: "clashes" }]), /Invalid configuration:\n {2}- homelab:name: clashes$/);
  });
});
