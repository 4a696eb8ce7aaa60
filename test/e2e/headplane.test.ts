import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { COOKIE_SECRET_FILE, COOKIE_SECRET_LENGTH } from "../../components/home/headplaneConfig";
import { OfflineRun } from "../../tools/offline/engine";
import { resourceOf, resourcesOf, runHome } from "../support/offline";
import { requireRealTools, TOOLS_BIN } from "../support/realTools";
import type { HeadplaneOutcome, HeadplaneStart } from "./headplaneStart";

/** A mount of the planned container, with where its content sits on this machine. */
interface PodFile {
  mountPath: string;
  scratch: string;
  readOnly: boolean;
  /** A subPath mount binds one file; any other, a directory. */
  file: boolean;
}

/**
 * The planned Headplane container's ConfigMap and Secret volumes, as files in `work`: the ConfigMap's keys its subPath
 * mounts name, and the Secret's items. Its emptyDirs hold nothing the config loader reads, and /tmp bound over would
 * hide a checkout under /tmp (as in CI), so they are left out.
 */
function podFiles(home: OfflineRun, work: string): PodFile[] {
  const pod = (resourceOf(home, "kubernetes:apps/v1:Deployment", "headplane").inputs.spec as any).template.spec;
  const byName = (type: string, name: string) => resourcesOf(home, type).find((r) => (r.inputs.metadata as any).name === name)!.inputs as any;
  return pod.containers[0].volumeMounts.flatMap((mount: any, i: number): PodFile[] => {
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    const scratch = join(work, `volume-${i}`);
    // Kubelet mounts ConfigMap and Secret volumes read-only, whatever the mount says.
    if (volume.configMap) {
      assert.ok(mount.subPath, `${mount.mountPath}: the ConfigMap is mounted by key`);
      writeFileSync(scratch, byName("kubernetes:core/v1:ConfigMap", volume.configMap.name).data[mount.subPath]);
      return [{ mountPath: mount.mountPath, scratch, readOnly: true, file: true }];
    }
    if (volume.secret) {
      mkdirSync(scratch);
      const data = byName("kubernetes:core/v1:Secret", volume.secret.secretName).stringData;
      for (const item of volume.secret.items) writeFileSync(join(scratch, item.path), data[item.key], { mode: volume.secret.defaultMode });
      return [{ mountPath: mount.mountPath, scratch, readOnly: true, file: false }];
    }
    return [];
  });
}

/** Creates the mount points this machine lacks, parents included; returns them deepest first, for removal. */
function createMountPoints(files: PodFile[]): string[] {
  const created: string[] = [];
  const make = (path: string, file: boolean) => {
    if (existsSync(path)) return;
    make(dirname(path), false);
    if (file) writeFileSync(path, "");
    else mkdirSync(path);
    created.unshift(path);
  };
  files.forEach((f) => make(f.mountPath, f.file));
  return created;
}

/** Every leaf of a parsed YAML document, by its dotted key. */
const leaves = (value: unknown, prefix = ""): [string, unknown][] =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? Object.entries(value).flatMap(([k, v]) => leaves(v, `${prefix}${k}.`)) : [[prefix.slice(0, -1), value]];
const at = (object: any, key: string) => key.split(".").reduce((o, k) => o?.[k], object);

/**
 * Headplane's own code, not a model of it: test/e2e/headplaneStart.ts runs Headplane v0.6.3's app/server/config/load.ts
 * (loadConfig, which merges the file, the HEADPLANE_* variables and each *_path key's file, then validates with
 * app/server/config/config-schema.ts) and app/server/headscale/config-loader.ts, under the release's Node and the
 * packages its pnpm-lock.yaml pins (scripts/install-system-tools, headplane-tsx). Its inputs are the planned pod's: the
 * ConfigMap and Secret files where the container mounts them, in a mount namespace of its own, and its environment.
 */
describe("Headplane v0.6.3's own config loader, on the planned pod's files and environment (audit D2)", function () {
  this.timeout(120000);
  let home: OfflineRun;
  let work: string;
  let created: string[] = [];
  let cookie: string;
  let rendered: string;
  let result: { pathSupportedKeys: string[]; outcomes: HeadplaneOutcome[] };
  const outcome: Record<string, HeadplaneOutcome> = {};

  before(async function () {
    requireRealTools(this, ["headplane-tsx", "unshare", "mount"], true);
    home = await runHome();
    work = mkdtempSync(join(tmpdir(), "headplane-e2e-"));
    const files = podFiles(home, work);
    created = createMountPoints(files);
    const scratchOf = (path: string) => {
      const f = files.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))!;
      return f.file ? f.scratch : join(f.scratch, path.slice(f.mountPath.length + 1));
    };
    const configFile = scratchOf("/etc/headplane/config.yaml");
    const secretFile = scratchOf(COOKIE_SECRET_FILE);
    rendered = readFileSync(configFile, "utf8");
    cookie = readFileSync(secretFile, "utf8");
    const container = (resourceOf(home, "kubernetes:apps/v1:Deployment", "headplane").inputs.spec as any).template.spec.containers[0];
    // The container's own variables (none today), and what kubelet adds to every pod; service links are off.
    const env: Record<string, string> = { PATH: process.env.PATH!, KUBERNETES_SERVICE_HOST: "10.43.0.1", KUBERNETES_SERVICE_PORT: "443" };
    for (const variable of container.env ?? []) {
      assert.equal(variable.valueFrom, undefined, `${variable.name}: a variable from a Secret needs its value resolved here`);
      env[variable.name] = variable.value;
    }

    const { server, ...rest } = parse(rendered);
    const { cookie_secret_path: _, ...serverWithoutPath } = server;
    /** The config as it was before the secret moved to a file: the variable then carried it. */
    const withoutPath = stringify({ server: serverWithoutPath, ...rest });
    const digits = "0123456789".repeat(COOKIE_SECRET_LENGTH).slice(0, COOKIE_SECRET_LENGTH);
    const starts: Record<string, HeadplaneStart> = {
      planned: { files: {}, env: {} },
      short: { files: { [secretFile]: cookie.slice(1) }, env: {} },
      long: { files: { [secretFile]: `${cookie}0` }, env: {} },
      absent: { files: { [secretFile]: null }, env: {} },
      digitsInFile: { files: { [secretFile]: digits }, env: {} },
      fileAlone: { files: { [configFile]: withoutPath, [secretFile]: cookie }, env: {} },
      hexInEnv: { files: { [configFile]: withoutPath }, env: { HEADPLANE_SERVER__COOKIE_SECRET: cookie } },
      digitsInEnv: { files: { [configFile]: withoutPath }, env: { HEADPLANE_SERVER__COOKIE_SECRET: digits } },
      fileAndEnv: { files: { [configFile]: rendered }, env: { HEADPLANE_SERVER__COOKIE_SECRET: cookie } },
    };
    const startsFile = join(work, "starts.json");
    const resultsFile = join(work, "results.json");
    writeFileSync(startsFile, JSON.stringify(Object.values(starts)));
    const binds = files.flatMap((f) => [`mount --bind '${f.scratch}' '${f.mountPath}'`, ...(f.readOnly ? [`mount -o remount,bind,ro '${f.mountPath}'`] : [])]).join(" && ");
    const started = Date.now();
    const run = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", `${binds} && exec headplane-tsx '${join(__dirname, "headplaneStart.ts")}' '${startsFile}' '${resultsFile}'`], { env, encoding: "utf8" });
    console.log(`      Headplane's loader: ${Object.keys(starts).length} starts in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(run.status, 0, `${run.stderr}${run.stdout}`);
    result = JSON.parse(readFileSync(resultsFile, "utf8"));
    Object.keys(starts).forEach((name, i) => (outcome[name] = result.outcomes[i]));
  });
  after(() => {
    created.forEach((path) => (statSync(path).isDirectory() ? rmdirSync(path) : unlinkSync(path)));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const loaded = (name: string) => {
    const o = outcome[name];
    assert.ok("config" in o, `${name}: ${"error" in o ? o.error.message : ""}`);
    return o;
  };
  const refusal = (name: string) => {
    const o = outcome[name];
    assert.ok("error" in o, `${name} was accepted`);
    return o.error;
  };

  it("is the release the Deployment's image pins", () => {
    const image = (resourceOf(home, "kubernetes:apps/v1:Deployment", "headplane").inputs.spec as any).template.spec.containers[0].image;
    const tag = /:(\d+\.\d+\.\d+)$/.exec(image)![1];
    assert.equal(readFileSync(join(TOOLS_BIN, ".headplane-tsx.version"), "utf8").trim(), `tale/headplane@v${tag}`, "rerun scripts/install-system-tools");
  });

  it("accepts the planned pod, reads the cookie secret from the Secret's file, drops none of the rendered keys, and shows Headscale's config read-only", () => {
    const { config, headscale } = loaded("planned") as Extract<HeadplaneOutcome, { config: any }>;
    assert.equal(config.server.cookie_secret, cookie, "the Secret's value, from the file server.cookie_secret_path names");
    // Headplane deletes keys it does not declare without a word; each rendered one must survive, its *_path read.
    for (const [key, value] of leaves(parse(rendered))) {
      const secretKey = key.replace(/_path$/, "");
      if (key !== secretKey && result.pathSupportedKeys.includes(secretKey)) assert.equal(typeof at(config, secretKey), "string", `${key} was read into ${secretKey}`);
      else assert.deepEqual(at(config, key), value, `${key} as rendered`);
    }
    assert.deepEqual(headscale, { readable: true, writable: false, loaded: true });
  });

  it(`refuses a cookie secret of other than ${COOKIE_SECRET_LENGTH} characters, or none in the Secret's file, so the pod would exit at start`, () => {
    for (const [name, length] of [["short", COOKIE_SECRET_LENGTH - 1], ["long", COOKIE_SECRET_LENGTH + 1]] as const) {
      const error = refusal(name);
      assert.equal(error.code, "INVALID_REQUIRED_FIELDS", error.message);
      assert.match(error.message, new RegExp(`server\\.cookie_secret must be exactly length ${COOKIE_SECRET_LENGTH} \\(was ${length}\\)`));
    }
    const absent = refusal("absent");
    assert.equal(absent.code, "MISSING_SECRET_FILE", absent.message);
    assert.ok(absent.message.includes(`"server.cookie_secret_path" could not be accessed at path "${COOKIE_SECRET_FILE}"`), absent.message);
  });

  it("takes an all-digit secret from the file as it is, but from the environment as a number it then refuses: why the program mounts a file", () => {
    assert.equal((loaded("digitsInFile") as any).config.server.cookie_secret, "0123456789".repeat(COOKIE_SECRET_LENGTH).slice(0, COOKIE_SECRET_LENGTH));
    assert.equal((loaded("hexInEnv") as any).config.server.cookie_secret, cookie, "the environment route itself works");
    assert.match(refusal("digitsInEnv").message, /server\.cookie_secret must be a string \(was a number\)/);
  });

  it("refuses the file alone, with no secret by either route (D2 as 0.6.0 met it), and a secret given both ways", () => {
    assert.match(refusal("fileAlone").message, /server\.cookie_secret must be a string \(was missing\)/);
    assert.equal(refusal("fileAndEnv").code, "CONFLICTING_SECRET_PATH_FIELD");
  });
});
