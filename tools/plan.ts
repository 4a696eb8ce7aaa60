import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ConfigError } from "../components/config/schema";
import { crossStackProblems } from "./offline/crossStack";
import { OfflineRun } from "./offline/engine";
import { FAKE_PUBLIC_IPV4_ENV, fakePublicIpv4Prefix } from "./offline/fakes";
import { chartsOf, manifestOf, renderManifest, validateManifest } from "./offline/manifests";
import { contractSecretProblems, PlannedStack, planStacks, renderOutputsJson, renderResourcesJson, renderTree } from "./offline/planStacks";
import { renderViolations } from "./offline/policyRunner";
import { SECRET_PLACEHOLDER } from "./offline/stackConfig";

const USAGE = "usage: npm run plan [-- --stack edge|home] [--out DIR] [--public-ipv4 A.B.C.0/24]";

function parseArgs(argv: string[]): { stacks: PlannedStack[]; out: string } {
  let stacks: PlannedStack[] = ["edge", "home"];
  let out = "out";
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = inline ?? argv[++i];
    if (flag === "--stack" && (value === "edge" || value === "home")) stacks = [value];
    else if (flag === "--out" && value) out = value;
    // The /24 the fake primary IPs come from (default 203.0.113.0/24), for tests that run the files somewhere real.
    else if (flag === "--public-ipv4" && value) process.env[FAKE_PUBLIC_IPV4_ENV] = value;
    else {
      console.error(`${USAGE}\nunexpected argument: ${argv[i]}`);
      process.exit(2);
    }
  }
  return { stacks, out };
}

/**
 * Plans the stacks offline and writes out/<stack>/. Exits 1 when the plan is complete but has findings (a secret left
 * plain, a schema or cross-stack problem, a mandatory policy violation), 2 on bad config, 3 when planning crashed.
 */
async function main() {
  const { stacks, out } = parseArgs(process.argv.slice(2));
  try {
    fakePublicIpv4Prefix();
  } catch (err) {
    console.error(`${USAGE}\n${(err as Error).message}`);
    process.exit(2);
  }
  const plan = await planStacks(stacks);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "policy-config.json"), `${JSON.stringify(plan.packConfig, null, 2)}\n`);
  let problems = 0;
  let mandatory = 0;
  for (const { stack, run, violations, standIns, placeholders, advice } of plan.stacks) {
    const dir = join(out, stack);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(run.artifacts)) writeFileSync(join(dir, file), content, { mode: 0o600 });
    writeFileSync(join(dir, "resources.json"), renderResourcesJson(run));
    const invalid = await writeKubernetes(dir, run);
    for (const problem of invalid) console.error(`SCHEMA (${stack}): ${problem}`);
    problems += invalid.length;
    writeFileSync(join(dir, "outputs.json"), renderOutputsJson(run));
    writeFileSync(join(dir, "policy.json"), `${JSON.stringify(violations.map(({ policy, level, message }) => ({ policy, level, message })), null, 2)}\n`);
    console.log(`== ${stack} ==`);
    console.log(renderTree(run));
    const leaks = [...run.leaks, ...contractSecretProblems(stack, run)];
    for (const leak of leaks) console.error(`SECRET LEAK (${stack}): ${leak}`);
    problems += leaks.length;
    const mandatoryHere = violations.filter((v) => v.level === "mandatory").length;
    console.log(`policy pack (${stack}): ${mandatoryHere} mandatory violation(s), ${violations.length - mandatoryHere} other finding(s)`);
    if (violations.length) console.log(renderViolations(violations));
    mandatory += mandatoryHere;
    for (const key of standIns) {
      const name = key.split(":")[1];
      // A dotted key is a path inside an object key (appSecrets.<secret>.<key>), which only --path sets.
      const set = name.includes(".") ? `--path '${name}' <value>` : name;
      console.log(`planned with a stand-in for ${key}, which ${stack} does not set: before a real deploy, pulumi config set --stack ${stack} --secret ${set}`);
    }
    for (const { key, message } of advice) console.log(`advice for ${stack}: ${key}: ${message}`);
    if (placeholders.length) console.log(`example values a real preview or deploy of ${stack} refuses until they are your own:\n${placeholders.map((p) => `  - ${p.key}: "${p.value}", ${p.why}`).join("\n")}`);
    console.log(`wrote ${dir}/: ${[...Object.keys(run.artifacts), "resources.json", "outputs.json", "policy.json"].join(", ")}\n`);
  }
  const [edge, home] = ["edge", "home"].map((name) => plan.stacks.find((s) => s.stack === name)?.run);
  if (edge && home) {
    const across = crossStackProblems(edge, home);
    console.log(`across edge and home: ${across.length ? across.map((p) => `\n  - ${p}`).join("") : "every forwarded port (tcp and udp) has a listener, every tunnel route its CNAME and every CNAME a route"}`);
    problems += across.length;
  }
  if (problems) console.error(`${problems} problem(s): secrets left plain, objects that fail their schema, or stacks that disagree; fix before deploying.`);
  if (mandatory) console.error(`${mandatory} mandatory policy violation(s); see above.`);
  if (problems || mandatory) process.exit(1);
}

/** Writes every Kubernetes object as YAML and every chart with its values; returns the schema problems. */
async function writeKubernetes(dir: string, run: OfflineRun): Promise<string[]> {
  const problems: string[] = [];
  for (const resource of run.resources) {
    const manifest = manifestOf(resource, SECRET_PLACEHOLDER);
    if (!manifest) continue;
    const where = manifest.metadata?.namespace ?? "_cluster";
    mkdirSync(join(dir, "manifests", where), { recursive: true });
    writeFileSync(join(dir, "manifests", where, `${manifest.kind}-${manifest.metadata?.name ?? resource.name}.yaml`), renderManifest(manifest));
    for (const problem of await validateManifest(manifest)) problems.push(`${manifest.kind} ${manifest.metadata?.name ?? resource.name}: ${problem}`);
  }
  for (const chart of chartsOf(run.resources)) {
    mkdirSync(join(dir, "charts"), { recursive: true });
    writeFileSync(join(dir, "charts", `${chart.name}.yaml`), stringify(chart, { lineWidth: 0 }));
  }
  return problems;
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(3);
});
