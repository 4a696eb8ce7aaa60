import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { OfflineRun } from "../../tools/offline/engine";
import { FAKE_PUBLIC_IPV4_ENV } from "../../tools/offline/fakes";
import { PlannedStack, planStacks } from "../../tools/offline/planStacks";

/** The test internet: documentation ranges that nothing else on this machine kind uses (203.0.113.0/24 is taken). */
export const TEST_INTERNET_V4 = "192.0.2.0/24";
/** The stack files the offline plan reads; a changed config is planned from copies of them. */
const STACK_FILES = ["Pulumi.yaml", "Pulumi.edge.yaml", "Pulumi.home.yaml"];

/**
 * The edge stack's plan with its public addresses in the test internet; nothing it renders is edited afterwards.
 * `config` sets edge stack values (keys without the project namespace), as `pulumi config set` would: the plan of a
 * changed config is what a second `pulumi up` would push. Keys and fake ids derive from resource names, so the two
 * plans share the server, its addresses and the WireGuard keys, as two deploys of one stack do.
 */
export async function planEdgeForVm(config: Record<string, unknown> = {}): Promise<OfflineRun> {
  return (await planForVm(["edge"], config)).edge;
}

/** The edge's plan as planEdgeForVm makes it, and the home stack's plan against it (its haproxy.cfg, its peers). */
export async function planEdgeAndHomeForVm(): Promise<{ edge: OfflineRun; home: OfflineRun }> {
  const { edge, home } = await planForVm(["edge", "home"], {});
  return { edge, home: home! };
}

async function planForVm(stacks: PlannedStack[], config: Record<string, unknown>): Promise<{ edge: OfflineRun; home?: OfflineRun }> {
  const saved = process.env[FAKE_PUBLIC_IPV4_ENV];
  process.env[FAKE_PUBLIC_IPV4_ENV] = TEST_INTERNET_V4;
  const dir = mkdtempSync(join(tmpdir(), "edge-vm-config-"));
  try {
    for (const file of STACK_FILES) copyFileSync(file, join(dir, file));
    const edgeFile = join(dir, "Pulumi.edge.yaml");
    const stack = parse(readFileSync(edgeFile, "utf8"));
    const project = String(parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")).name);
    for (const [key, value] of Object.entries(config)) stack.config[`${project}:${key}`] = value;
    writeFileSync(edgeFile, stringify(stack));
    const planned = (await planStacks(stacks, dir)).stacks;
    return { edge: planned[0].run, home: planned[1]?.run };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env[FAKE_PUBLIC_IPV4_ENV];
    else process.env[FAKE_PUBLIC_IPV4_ENV] = saved;
  }
}

/** What the plan says about SSH: the port and the admin networks the hcloud Firewall opens it to. */
export function sshRule(edge: OfflineRun): { port: number; adminCidrs: string[] } {
  const firewall = edge.resources.find((r) => r.type === "hcloud:index/firewall:Firewall");
  const rules = (firewall?.inputs.rules ?? []) as { port: string; sourceIps: string[]; description: string }[];
  const ssh = rules.find((r) => r.description === "ssh from admin networks");
  if (!ssh) throw new Error("the plan's hcloud Firewall has no rule 'ssh from admin networks'");
  return { port: Number(ssh.port), adminCidrs: ssh.sourceIps };
}
