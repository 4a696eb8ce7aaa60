import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { tailnetShape } from "../components/config/tailnet";
import { parse } from "yaml";
import { requireRealTools, SKIP_FLAG, tryRun } from "./support/realTools";

const DIR = join(__dirname, "../.github/workflows");
const text = (file: string) => readFileSync(join(DIR, file), "utf8");
const workflow = (file: string) => parse(text(file));
type Step = { uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> };
const steps = (job: { steps: Step[] }) => job.steps;
const WORKFLOWS = readdirSync(DIR).filter((f) => f.endsWith(".yml"));

describe("GitHub Actions workflows", () => {
  for (const file of WORKFLOWS) {
    it(`${file} passes the workflow schema (@action-validator/core)`, () => {
      assert.deepEqual(validateWorkflow(text(file)).errors, []);
    });
  }

  it("the validator is real: a broken workflow fails it", () => {
    assert.ok(validateWorkflow("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    stepz: []\n").errors.length > 0);
  });

  describe("checked by the real actionlint (expressions, and the shell in run steps through shellcheck)", () => {
    before(function () {
      requireRealTools(this, ["actionlint", "shellcheck"]);
    });

    it("passes every workflow", () => {
      const result = tryRun("actionlint", ["-no-color", ...WORKFLOWS.map((file) => join(DIR, file))]);
      assert.equal(result.status, 0, result.stdout + result.stderr);
    });

    it("is real: an unknown context in an expression and an unquoted shell variable fail it", () => {
      const broken = join(mkdtempSync(join(tmpdir(), "actionlint-")), "broken.yml");
      writeFileSync(broken, 'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ secret.TOKEN }}\n      - run: cat $FILE_NAME\n');
      const result = tryRun("actionlint", ["-no-color", broken]);
      assert.equal(result.status, 1);
      assert.match(result.stdout, /undefined variable "secret"/);
      assert.match(result.stdout, /SC2086/);
    });
  });

  it("a job that runs the tests runs them as .ci/run does, or skips the real-tool checks by the flag .ci/run never sets", () => {
    for (const file of WORKFLOWS) {
      for (const [name, job] of Object.entries(workflow(file).jobs as Record<string, { steps: Step[] }>)) {
        for (const step of steps(job).filter((s) => /\bnpm (test|run test)/.test(s.run ?? ""))) {
          assert.equal(step.env?.[SKIP_FLAG], "1", `${file} ${name}: npm test without .ci/run must set ${SKIP_FLAG}=1`);
        }
        const ciRun = steps(job).find((s) => s.run?.includes(".ci/run"));
        if (ciRun) assert.ok(steps(job).some((s) => s.uses?.startsWith("actions/setup-go")), `${file} ${name}: the tool script builds with Go`);
      }
    }
    assert.doesNotMatch(readFileSync(join(__dirname, "../.ci/run"), "utf8"), new RegExp(SKIP_FLAG));
  });

  it("pull requests: tests and the plan diff run without any secret, and upload the PR number with the diff", () => {
    const pr = workflow("pull-request.yml");
    assert.deepEqual(pr.permissions, { contents: "read" });
    const test = pr.jobs.test;
    assert.doesNotMatch(JSON.stringify(test), /secrets\./);
    assert.ok(steps(test).some((s) => s.run?.includes(".ci/run")));
    assert.ok(steps(test).some((s) => s.run?.includes("npm run plan:diff -- --base") && s.run.includes("--format markdown")));
    const upload = steps(test).find((s) => s.uses?.startsWith("actions/upload-artifact"))! as { with: { path: string } };
    assert.match(upload.with.path, /plan-diff\.md\n.*pr-number\.txt/);
  });

  it("real previews with the policy pack run only where secrets exist, never for forks", () => {
    const pr = workflow("pull-request.yml");
    for (const name of ["preview-edge", "preview-home"]) {
      const job = pr.jobs[name];
      assert.equal(job.if, "github.event.pull_request.head.repo.full_name == github.repository", name);
      const pulumi = steps(job).find((s) => s.uses?.startsWith("pulumi/actions"))! as { with: Record<string, unknown> };
      assert.equal(pulumi.with.command, "preview");
      assert.equal(pulumi.with.policyPacks, "policy");
      assert.equal(pulumi.with["comment-on-pr"], true);
    }
  });

  it("the commenting workflow has only read-actions and write-PR rights, and never checks out or runs PR code", () => {
    const comment = workflow("plan-diff-comment.yml");
    assert.deepEqual(comment.permissions, { actions: "read", "pull-requests": "write" });
    assert.deepEqual(comment.on.workflow_run.workflows, [workflow("pull-request.yml").name]);
    const job = comment.jobs.comment;
    assert.ok(!steps(job).some((s) => s.uses?.startsWith("actions/checkout")), "no checkout");
    assert.ok(!steps(job).some((s) => s.run), "no shell step that could run artifact contents");
    const download = steps(job).find((s) => s.uses?.startsWith("actions/download-artifact"))! as { with: Record<string, string> };
    assert.equal(download.with["run-id"], "${{ github.event.workflow_run.id }}");
  });

  it("the edge deploy fails at once on a hosted runner while the push needs SSH from inside adminCidrs", () => {
    const edge = workflow("deploy.yml").jobs.edge;
    assert.match(edge["runs-on"], /vars\.EDGE_RUNNER == 'self-hosted' && 'self-hosted'/);
    const guard = steps(edge).find((s) => s.run?.includes("edgeUpdateMode"))! as Step & { if: string };
    assert.equal(guard.if, "vars.EDGE_RUNNER != 'self-hosted'");
    const before = steps(edge).findIndex((s) => s === guard) < steps(edge).findIndex((s) => s.uses?.startsWith("pulumi/actions"));
    assert.ok(before, "the guard runs before pulumi up");
    const runGuard = (stackFile: string) => {
      const dir = mkdtempSync(join(tmpdir(), "edge-guard-"));
      writeFileSync(join(dir, "Pulumi.edge.yaml"), stackFile);
      return spawnSync("bash", ["-e", "-c", guard.run!], { cwd: dir, encoding: "utf8" });
    };
    const ssh = runGuard("config:\n  homelab:edgeUpdateMode: ssh\n");
    assert.equal(ssh.status, 1);
    assert.match(ssh.stdout, /::error::edgeUpdateMode is ssh .* EDGE_RUNNER .* replace/);
    assert.equal(runGuard("config:\n  homelab:sshPort: 22022\n").status, 1, "ssh is the default");
    assert.equal(runGuard("config:\n  homelab:edgeUpdateMode: replace\n").status, 0);
    assert.equal(runGuard(readFileSync(join(__dirname, "../Pulumi.edge.yaml"), "utf8")).status, 1, "as shipped, the edge deploys from a runner at home");
  });

  it("splits credentials: previews take read-only ones from the preview environment, deploys production's, nothing else any secret", () => {
    const jobs = WORKFLOWS.flatMap((file) => Object.entries(workflow(file).jobs as Record<string, { environment?: string }>).map(([name, job]) => ({ file, name, job })));
    const environmentOf = (file: string, name: string) => jobs.find((j) => j.file === file && j.name === name)!.job.environment;
    assert.equal(environmentOf("pull-request.yml", "preview-edge"), "preview");
    assert.equal(environmentOf("pull-request.yml", "preview-home"), "preview");
    assert.equal(environmentOf("deploy.yml", "edge"), "production");
    assert.equal(environmentOf("deploy.yml", "home"), "production");
    for (const { file, name, job } of jobs) {
      const secrets = [...JSON.stringify(job).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]).filter((secret) => secret !== "GITHUB_TOKEN");
      if (secrets.length) assert.ok(job.environment, `${file} ${name} reads ${secrets.join(", ")} outside an environment, where every branch's workflow can`);
    }
  });

  describe("the plan-diff comment, run as GitHub runs its script", () => {
    const script = (steps(workflow("plan-diff-comment.yml").jobs.comment).find((s) => s.uses?.startsWith("actions/github-script")) as { with: { script: string } }).with.script;
    const runScript = async (artifactNumber: string, prHeads: Record<number, string>) => {
      const posted: { number?: number; body: string; update?: number }[] = [];
      const files: Record<string, string> = { "pr-number.txt": artifactNumber, "plan-diff.md": "### Plan diff" };
      const github = {
        paginate: async () => [],
        rest: {
          pulls: { get: async ({ pull_number }: { pull_number: number }) => ({ data: { head: { sha: prHeads[pull_number] ?? "unknown" } } }) },
          issues: {
            listComments: () => undefined,
            createComment: async ({ issue_number, body }: { issue_number: number; body: string }) => posted.push({ number: issue_number, body }),
            updateComment: async ({ comment_id, body }: { comment_id: number; body: string }) => posted.push({ update: comment_id, body }),
          },
        },
      };
      const context = { repo: { owner: "o", repo: "r" }, payload: { workflow_run: { id: 99, head_sha: "abc123" } } };
      const fakeRequire = (name: string) => (name === "fs" ? { readFileSync: (file: string) => files[file] } : undefined);
      await new Function("require", "github", "context", `return (async () => {\n${script}\n})();`)(fakeRequire, github, context);
      return posted;
    };

    it("posts to the pull request whose head the run tested", async () => {
      assert.deepEqual((await runScript("7", { 7: "abc123" })).map((p) => p.number), [7]);
    });

    it("refuses a number that names another pull request, which the artifact's writer chose", async () => {
      await assert.rejects(runScript("8", { 7: "abc123", 8: "def456" }), /pull request 8 is not the one run 99 tested/);
    });
  });

  it("uses pulumi/actions v7, the major on a current Node runtime (v7.0.0 action.yml: node24; v6 ran on node20)", () => {
    const uses = WORKFLOWS.flatMap((file) => Object.values(workflow(file).jobs as Record<string, { steps: Step[] }>).flatMap((job) => steps(job).map((s) => s.uses ?? "")));
    const pulumi = uses.filter((u) => u.startsWith("pulumi/actions@"));
    assert.ok(pulumi.length >= 4);
    assert.deepEqual([...new Set(pulumi)], ["pulumi/actions@v7"]);
  });

  it("pins the Pulumi CLI to the SDK the lockfile holds, and the tailnet client to the subnet router's Tailscale", () => {
    const all = WORKFLOWS.flatMap((file) => Object.values(workflow(file).jobs as Record<string, { steps: Step[] }>).flatMap(steps));
    const lock = JSON.parse(readFileSync(join(__dirname, "../package-lock.json"), "utf8"));
    const sdk = lock.packages["node_modules/@pulumi/pulumi"].version as string;
    const pulumi = all.filter((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.ok(pulumi.length >= 4);
    assert.deepEqual(pulumi.map((s) => s.with?.["pulumi-version"]), pulumi.map(() => sdk), "each pulumi/actions step's pulumi-version");
    const router = /:v(\d+\.\d+\.\d+)$/.exec(tailnetShape.subnetRouterImage.parse(undefined))?.[1];
    const tailscale = all.filter((s) => s.uses?.startsWith("tailscale/github-action@"));
    assert.ok(tailscale.length >= 2 && router);
    assert.deepEqual(tailscale.map((s) => String(s.with?.version)), tailscale.map(() => router), "each tailscale/github-action step's version");
  });

  it("main deploys the edge, then home, each with the policy pack; home reaches the cluster by tailnet or a self-hosted runner", () => {
    const deploy = workflow("deploy.yml");
    assert.deepEqual(deploy.on.push.branches, ["main"]);
    assert.equal(deploy.jobs.home.needs, "edge");
    for (const [name, stack] of [["edge", "edge"], ["home", "home"]]) {
      const pulumi = steps(deploy.jobs[name]).find((s) => s.uses?.startsWith("pulumi/actions"))! as { with: Record<string, unknown> };
      assert.equal(pulumi.with.command, "up");
      assert.equal(pulumi.with["stack-name"], stack);
      assert.equal(pulumi.with.policyPacks, "policy");
    }
    assert.deepEqual(deploy.on.workflow_dispatch.inputs["home-access"].options, ["tailnet", "self-hosted"]);
    assert.match(deploy.jobs.home["runs-on"], /self-hosted/);
  });
});
