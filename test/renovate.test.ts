import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ts from "typescript";
import { Pin, scanPins } from "./support/pinScan";
import { requireRealTools, tryRun } from "./support/realTools";
import { applyRules, CONFIG_FILE, coverage, Dep, loadConfig, RenovateConfig, ROOT, trackedFiles } from "./support/renovateModel";

const files = () => [...new Set([...trackedFiles(), CONFIG_FILE])];
const show = (pins: Pin[]) => pins.map((p) => `${p.file}:${p.line} ${p.name ?? ""} ${p.value}`).join("\n");
const without = (config: RenovateConfig, change: Partial<RenovateConfig>): RenovateConfig => ({ ...config, ...change });

/** The charts components/home installs: each `chart` with its `repositoryOpts.repo`, read from the source's syntax tree. */
function installedCharts(): Map<string, string> {
  const charts = new Map<string, string>();
  for (const file of trackedFiles().filter((f) => /^components\/home\/[^/]+\.ts$/.test(f))) {
    const visit = (node: ts.Node): void => {
      if (ts.isObjectLiteralExpression(node)) {
        const prop = (o: ts.ObjectLiteralExpression, name: string) => o.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText() === name)?.initializer;
        const chart = prop(node, "chart");
        const opts = prop(node, "repositoryOpts");
        const repo = opts && ts.isObjectLiteralExpression(opts) ? prop(opts, "repo") : undefined;
        if (chart && ts.isStringLiteral(chart) && repo && ts.isStringLiteral(repo)) charts.set(chart.text, repo.text);
      }
      ts.forEachChild(node, visit);
    };
    visit(ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true));
  }
  return charts;
}

describe(CONFIG_FILE, () => {
  const config = loadConfig();
  const pins = scanPins(files());
  const { deps, uncovered } = coverage(config, files(), pins);
  const depsOf = (test: (dep: Dep) => boolean) => {
    const found = deps.filter(test);
    assert.ok(found.length > 0, "no dependency of that kind was extracted");
    return found;
  };
  const rules = (dep: Dep) => applyRules(config, dep);

  describe("checked by Renovate's own validator (renovate-config-validator, the version scripts/install-system-tools pins)", () => {
    before(function () {
      requireRealTools(this, ["renovate-config-validator"]);
    });

    it("passes --strict: no error, no warning, no migration needed", () => {
      const result = tryRun("renovate-config-validator", ["--strict", "--no-global", join(ROOT, CONFIG_FILE)]);
      assert.equal(result.status, 0, result.stdout + result.stderr);
    });

    it("is real: an unknown option and a custom manager without a datasource fail it", () => {
      const broken = loadConfig();
      broken.packageRules[0].groupNme = "typo";
      delete broken.customManagers[0].datasourceTemplate;
      const file = join(mkdtempSync(join(tmpdir(), "renovate-")), "renovate.json");
      writeFileSync(file, JSON.stringify(broken));
      const result = tryRun("renovate-config-validator", ["--strict", "--no-global", file]);
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.stdout, /packageRules\[0\]\.groupNme/);
      assert.match(result.stdout, /datasource/i);
    });
  });

  it("uses in matchStrings nothing RE2 lacks (lookaround, backreferences): Renovate runs them on RE2 where it has it", () => {
    for (const matchString of config.customManagers.flatMap((m) => m.matchStrings)) assert.doesNotMatch(matchString, /\(\?<?[=!]|\\[1-9]|\\k</, matchString);
  });

  it("finds pins in every place they are kept (the scan is not empty where it must not be)", () => {
    for (const [file, kind] of [["Pulumi.home.yaml", "version"], ["Pulumi.yaml", "image"], ["components/config/home.ts", "version"], ["components/config/tailnet.ts", "image"], ["scripts/install-system-tools", "version"], [".github/workflows/pull-request.yml", "action"], ["package.json", "npm"], ["policy/package.json", "npm"]]) {
      assert.ok(pins.some((p) => p.file === file && p.kind === kind), `no ${kind} pin found in ${file}`);
    }
  });

  it("extracts every pin in the stack files, the schema defaults, the catalog, the tool script, the workflows and package.json", () => {
    const hint = "no manager of the config extracts these; a new chart key needs a custom manager, a tool-script version a '# renovate: datasource=… depName=…' line right above it";
    assert.equal(show(uncovered), "", hint);
  });

  config.customManagers.forEach((manager, i) => {
    it(`needs its custom manager "${manager.description}": without it, pins go unextracted`, () => {
      const reduced = without(config, { customManagers: config.customManagers.filter((_, j) => j !== i) });
      assert.notEqual(show(coverage(reduced, files(), pins).uncovered), "");
    });
  });

  for (const [manager, file] of [["npm", "policy/package.json"], ["github-actions", ".github/workflows/deploy.yml"]]) {
    it(`needs the built-in ${manager} manager: with it turned off, ${file}'s pins go unextracted`, () => {
      const reduced = without(config, { [manager]: { enabled: false } });
      assert.ok(coverage(reduced, files(), pins).uncovered.some((p) => p.file === file));
    });
  }

  it("looks each chart up in the repository its component installs it from, and every chart a component installs is pinned", () => {
    const charts = installedCharts();
    assert.ok(charts.size >= 6, [...charts.keys()].join(", "));
    const helm = depsOf((d) => d.datasource === "helm");
    for (const dep of helm) assert.equal(dep.registryUrl, charts.get(dep.depName), `${dep.depName} in ${dep.file}`);
    assert.deepEqual([...new Set(helm.map((d) => d.depName))].sort(), [...charts.keys()].sort());
  });

  it("puts every chart bump (and the Gateway API release) behind approval on the Dependency Dashboard, never automerged", () => {
    for (const dep of depsOf((d) => d.datasource === "helm" || d.depName === "kubernetes-sigs/gateway-api")) {
      const result = rules(dep);
      assert.equal(result.dependencyDashboardApproval, true, dep.depName);
      assert.notEqual(result.automerge, true, dep.depName);
      assert.deepEqual(result.labels, ["chart-bump"], dep.depName);
    }
    assert.equal(config.automerge, undefined, "nothing is automerged by default");
  });

  it("moves Cilium and the Gateway API CRDs it installs together, one minor at a time (Cilium's only upgrade path)", () => {
    const results = depsOf((d) => d.depName === "cilium" || d.depName === "kubernetes-sigs/gateway-api").map((d) => rules(d));
    assert.equal(new Set(results.map((r) => r.groupName)).size, 1, results.map((r) => r.groupName).join(", "));
    assert.ok(results[0].groupName);
    assert.ok(results.every((r) => r.separateMultipleMinor === true));
  });

  it("moves the Alertmanager whose amtool checks the rendered config with kube-prometheus-stack, which runs it", () => {
    const groups = depsOf((d) => d.depName === "kube-prometheus-stack" || d.depName === "github.com/prometheus/alertmanager").map((d) => rules(d));
    assert.equal(new Set(groups.map((r) => r.groupName)).size, 1, groups.map((r) => r.groupName).join(", "));
    assert.ok(groups[0].groupName);
    assert.ok(groups.every((r) => r.dependencyDashboardApproval === true));
    assert.ok(deps.some((d) => d.depName === "github.com/prometheus/alertmanager" && d.file === "scripts/install-system-tools"));
  });

  it("groups Headscale's image, one minor at a time on approval; the tool script builds the test binaries from that pin", () => {
    for (const dep of depsOf((d) => d.depName === "docker.io/headscale/headscale")) {
      assert.deepEqual([rules(dep).groupName, rules(dep).separateMultipleMinor, rules(dep).dependencyDashboardApproval], ["Headscale", true, true]);
    }
    assert.equal(rules(depsOf((d) => d.depName === "docker.io/tailscale/tailscale")[0]).groupName, "Tailscale");
    // The binaries have no pin of their own to drift: the script reads the version from the image pin.
    const script = readFileSync(join(ROOT, "scripts/install-system-tools"), "utf8");
    assert.match(script, /^HEADSCALE_VERSION=\$\(image_pin 'headscale\/headscale'\)$/m);
    assert.match(script, /^TAILSCALE_VERSION=\$\(image_pin 'tailscale\/tailscale'\)$/m);
    assert.ok(!pins.some((p) => p.file === "scripts/install-system-tools" && /headscale|tailscale/i.test(script.split("\n")[p.line - 1])));
  });

  it("moves the Pulumi SDK of the program and of the policy pack in one group, with the providers", () => {
    const pulumi = depsOf((d) => d.manager === "npm" && d.depName.startsWith("@pulumi/"));
    assert.ok(pulumi.some((d) => d.file === "policy/package.json") && pulumi.some((d) => d.file === "package.json"));
    assert.deepEqual([...new Set(pulumi.map((d) => rules(d).groupName))], ["Pulumi SDK and providers"]);
  });

  it("groups the npm devDependencies, the Kubernetes models and the actions, each in one PR", () => {
    assert.deepEqual([...new Set(depsOf((d) => d.depType === "devDependencies").map((d) => rules(d).groupName))], ["npm devDependencies"]);
    assert.deepEqual([...new Set(depsOf((d) => d.manager === "npm" && /kubernetes-models/.test(d.depName)).map((d) => rules(d).groupName))], ["Kubernetes models"]);
    assert.deepEqual([...new Set(depsOf((d) => d.depType === "action").map((d) => rules(d).groupName))], ["GitHub Actions"]);
  });

  it("moves Node.js (the workflows' node-version, engines, @types/node) as one, a new major only on approval", () => {
    const node = depsOf((d) => d.depName === "node" || d.depName === "@types/node");
    assert.deepEqual(new Set(node.map((d) => d.depType)), new Set(["uses-with", "engines", "dependencies"]));
    for (const dep of node) {
      assert.deepEqual([applyRules(config, dep, "major").groupName, applyRules(config, dep, "major").dependencyDashboardApproval], ["Node.js", true], `${dep.file} ${dep.depType}`);
      assert.equal(applyRules(config, dep, "minor").dependencyDashboardApproval, undefined, `${dep.file} ${dep.depType}`);
    }
  });

  it("keeps the bootstrap Job's kubectl (alpine/k8s) within the cluster's minor unless approved; patches flow", () => {
    const [kubectl] = depsOf((d) => d.depName === "docker.io/alpine/k8s");
    assert.deepEqual(["major", "minor", "patch"].map((type) => applyRules(config, kubectl, type).dependencyDashboardApproval), [true, true, undefined]);
  });

  it("reads the gateway's linuxserver WireGuard tag as versions, so a new package release or build is an update", () => {
    const [wireguard] = depsOf((d) => d.depName === "lscr.io/linuxserver/wireguard");
    const versioning = String(applyRules(config, wireguard, "patch").versioning ?? "");
    assert.match(versioning, /^regex:/, "docker versioning takes -r<n>-ls<build> for a suffix each build changes");
    const parts = new RegExp(versioning.slice("regex:".length)).exec(wireguard.currentValue ?? "")?.groups ?? {};
    assert.ok(["major", "minor", "patch", "build", "revision"].every((part) => /^\d+$/.test(parts[part] ?? "")), `${wireguard.currentValue} parses into every part`);
  });

  it("holds @pulumi/command on 1.x and TypeScript on 5.x (DESIGN: Gotchas already measured), which today's ranges are in", () => {
    for (const [name, bound, major] of [["@pulumi/command", "<2", 1], ["typescript", "<6", 5]] as const) {
      const dep = depsOf((d) => d.manager === "npm" && d.depName === name)[0];
      assert.equal(rules(dep).allowedVersions, bound);
      assert.equal(Number(/\d+/.exec(dep.currentValue!)![0]), major);
    }
  });
});
