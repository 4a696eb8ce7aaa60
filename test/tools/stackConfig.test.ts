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
    "Pulumi.dev.yaml": ["config:", "  lab:typed: 7", "  lab:list: [x, y]", "  lab:token:", "    secure: v1:def", "  other:key:", "    secure: v1:abc", ""].join("\n"),
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
    const { config } = loadStackConfig("absent", project({ "Pulumi.yaml": "name: lab\nruntime: nodejs\nconfig:\n  typed:\n    type: integer\n    default: 5\n" }));
    assert.equal(config["lab:typed"], "5");
  });

  it("fails as the CLI does for a declared key with no value that the stack does not set", () => {
    const bare = project({ "Pulumi.yaml": "name: lab\nruntime: nodejs\nconfig:\n  key:\n    type: string\n    secret: true\n" });
    assert.throws(() => loadStackConfig("home", bare), /^Error: Stack 'home' is missing configuration value 'key'$/);
    writeFileSync(join(bare, "Pulumi.edge.yaml"), "config:\n  lab:key: plain\n");
    assert.throws(() => loadStackConfig("edge", bare), /configuration value 'lab:key' must be encrypted as it's secret/);
    writeFileSync(join(bare, "Pulumi.edge.yaml"), "config:\n  lab:key:\n    secure: v1:abc\n");
    assert.equal(loadStackConfig("edge", bare).config["lab:key"], SECRET_PLACEHOLDER);
    const defaulted = project({ "Pulumi.yaml": "name: lab\nruntime: nodejs\nconfig:\n  key:\n    type: string\n    secret: true\n    default: plain\n" });
    assert.throws(() => loadStackConfig("home", defaulted), /configuration value 'key' must be encrypted as it's secret/, "a default does not make a secret key optional");
  });

  it("reads an object with secure leaves, as `config set --secret --path` writes it, as one secret key with opaque leaves", () => {
    const withPath = project({
      "Pulumi.yaml": "name: lab\nruntime: nodejs\n",
      "Pulumi.home.yaml": ["config:", "  lab:appSecrets:", "    vpn:", "      key:", "        secure: v1:abc", "      user: plain-name", "  lab:plain:", "    nested: [a]", ""].join("\n"),
    });
    const { config, secretKeys } = loadStackConfig("home", withPath);
    assert.deepEqual(JSON.parse(config["lab:appSecrets"]), { vpn: { key: SECRET_PLACEHOLDER, user: "plain-name" } });
    assert.deepEqual(JSON.parse(config["lab:plain"]), { nested: ["a"] });
    assert.deepEqual(secretKeys, ["lab:appSecrets"]);
  });

  it("plans an operator-set secret the stack leaves unset with a stand-in, and says so", () => {
    const { config, secretKeys, standIns } = loadStackConfig("dev", dir, ["sshKey", "typed"]);
    assert.deepEqual(standIns, ["lab:sshKey"], "a key the stack sets needs no stand-in");
    assert.equal(config["lab:sshKey"], SECRET_PLACEHOLDER);
    assert.ok(secretKeys.includes("lab:sshKey"));
  });

  it("reads the project's own files with no declared key left unset on either stack", () => {
    for (const stack of ["edge", "home"]) assert.doesNotThrow(() => loadStackConfig(stack, join(__dirname, "../.."), stack === "edge" ? ["sshPrivateKey"] : []));
  });

  it("names the edge stack so that it resolves on Pulumi Cloud and the local backend alike", () => {
    // A three-part name's first part is taken literally as the organization on Pulumi Cloud; only the local backend
    // insists on "organization" (pulumi/pulumi pkg/backend/httpstate and pkg/backend/diy, ParseStackReference).
    assert.equal(loadStackConfig("home", join(__dirname, "../..")).config["homelab:edgeStack"], "edge");
  });
});
