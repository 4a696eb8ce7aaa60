// The real Renovate (the version scripts/install-system-tools pins) extracts the repository with its config, offline:
// `--platform=local --dry-run=extract` reads the files and looks nothing up. What it finds must be every pin the scan
// finds, and exactly what the unit tests' model of its managers predicts.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { scanPins } from "../support/pinScan";
import { requireRealTools } from "../support/realTools";
import { CONFIG_FILE, coverage, Dep, loadConfig, ROOT, trackedFiles } from "../support/renovateModel";

interface ExtractedDep {
  depName?: string;
  packageName?: string;
  currentValue?: string;
  currentDigest?: string;
  datasource?: string;
  depType?: string;
  registryUrls?: string[];
}

/** The working tree's tracked files, committed in a scratch repository: Renovate lists files with git. */
function scratchRepository(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "renovate-extract-"));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=test", "-c", "user.email=test@localhost", ...args], { cwd: dir, stdio: "pipe" });
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "scratch");
  return dir;
}

/** Every dependency Renovate extracted, with its manager and file, from its JSON log. */
function extract(dir: string): (ExtractedDep & { manager: string; file: string })[] {
  const env = { PATH: process.env.PATH!, HOME: dir, LOG_LEVEL: "debug", LOG_FORMAT: "json", RENOVATE_BASE_DIR: join(dir, ".renovate-base") };
  const result = spawnSync("renovate", ["--platform=local", "--dry-run=extract", "--onboarding=false"], { cwd: dir, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0, result.stderr + result.stdout.slice(-4000));
  const records = result.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
  const extracted = records.find((r) => r.msg === "Extracted dependencies");
  assert.ok(extracted, "Renovate logged no extracted dependencies");
  const packageFiles = extracted.packageFiles as Record<string, { packageFile: string; deps: ExtractedDep[] }[]>;
  return Object.entries(packageFiles).flatMap(([manager, list]) => list.flatMap(({ packageFile, deps }) => deps.map((dep) => ({ ...dep, manager, file: packageFile }))));
}

// Renovate writes a bare host's URL with its root slash; the config and the components write it without.
const url = (u?: string) => u?.replace(/\/$/, "");
const key = (d: { manager: string; file: string; depName?: string; packageName?: string; currentValue?: string; currentDigest?: string; datasource?: string; depType?: string }, registryUrl?: string) =>
  [d.manager, d.file, d.depName, d.currentValue ?? "", d.currentDigest ?? "", d.datasource, d.depType ?? "", url(registryUrl) ?? ""].join(" | ");

describe(`Renovate's own extraction with ${CONFIG_FILE}`, function () {
  const files = [...new Set([...trackedFiles(), CONFIG_FILE])];
  let dir: string;
  let real: ReturnType<typeof extract>;

  before(function () {
    requireRealTools(this, ["renovate", "git"]);
    dir = scratchRepository(files);
    real = extract(dir);
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("extracts every pin the scan finds, each under its own name", () => {
    const missing = scanPins(files).filter(
      (pin) => !real.some((dep) => dep.file === pin.file && (dep.currentValue === pin.value || dep.currentDigest === pin.value) && (!pin.name || dep.depName === pin.name)),
    );
    assert.equal(missing.map((p) => `${p.file}:${p.line} ${p.name ?? ""} ${p.value}`).join("\n"), "");
  });

  it("extracts exactly what the unit tests' model of its managers predicts", () => {
    const predicted = coverage(loadConfig(), files, scanPins(files)).deps.map((d: Dep) => key(d, d.registryUrl)).sort();
    const versioned = real.filter((d) => d.currentValue || d.currentDigest);
    assert.deepEqual(versioned.map((d) => key(d, d.registryUrls?.[0])).sort(), predicted);
  });
});
