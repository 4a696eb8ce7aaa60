import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStackConfig, SECRET_PLACEHOLDER } from "../../tools/offline/stackConfig";

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "stackcfg-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("stack config merge", () => {
  const dir = project({
    "Pulumi.yaml": [
      "name: lab",
      "runtime: nodejs",
      "config:",
      "  short: plain",
      "  typed:",
      "    type: integer",
      "    default: 5",
      "  catalog:",
      "    value:",
      "      - name: a",
      "  token:",
      "    type: string",
      "    secret: true",
      "  aws:region: us-east-1",
      "",
    ].join("\n"),
    "Pulumi.dev.yaml": ["config:", "  lab:typed: 7", "  lab:list: [x, y]", "  other:key:", "    secure: v1:abc", ""].join("\n"),
  });

  it("merges project values with stack values the way the CLI does", () => {
    const { project: name, config, secretKeys } = loadStackConfig("dev", dir);
    assert.equal(name, "lab");
    assert.equal(config["lab:short"], "plain");
    assert.equal(config["lab:typed"], "7", "the stack value wins");
    assert.equal(config["lab:catalog"], '[{"name":"a"}]');
    assert.equal(config["lab:list"], '["x","y"]');
    assert.equal(config["aws:region"], "us-east-1", "namespaced project keys keep their namespace");
    assert.equal(config["lab:token"], SECRET_PLACEHOLDER);
    assert.equal(config["other:key"], SECRET_PLACEHOLDER, "secure values stay opaque");
    assert.deepEqual(secretKeys, ["lab:token", "other:key"]);
  });

  it("uses project defaults when the stack has no file", () => {
    const { config } = loadStackConfig("absent", dir);
    assert.equal(config["lab:typed"], "5");
  });
});
