import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildStack } from "../../components/stacks";
import { runOffline } from "../../tools/offline/engine";
import { asStackReference, planStacks } from "../../tools/offline/planStacks";
import { loadPlanConfig } from "../../tools/offline/stackConfig";
import { benchCatalog } from "../support/fixtures";
import { hasTool } from "../support/realTools";
import { DIRECT_PORT, EdgeTopology, Host } from "./topology";

/** One wrk run: requests per second and the 50th/99th percentile latency in milliseconds. */
interface Load {
  rps: number;
  p50: number;
  p99: number;
}

const WRK = { threads: "2", connections: "16", seconds: "5s" };

function milliseconds(text: string): number {
  const [, value, unit] = /([\d.]+)(us|ms|s)/.exec(text)!;
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit];
}

function load(topology: EdgeTopology, host: Host, url: string): Load {
  const out = topology.exec(host, "wrk", ["-t", WRK.threads, "-c", WRK.connections, "-d", WRK.seconds, "--latency", url]);
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`wrk saw errors:\n${out}`);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
    p50: milliseconds(/\s50%\s+(\S+)/.exec(out)![1]),
    p99: milliseconds(/\s99%\s+(\S+)/.exec(out)![1]),
  };
}

const row = (name: string, l: Load) => `${name.padEnd(34)} ${l.rps.toFixed(0).padStart(8)} req/s   p50 ${l.p50.toFixed(2).padStart(7)} ms   p99 ${l.p99.toFixed(2).padStart(7)} ms`;

async function paths() {
  const plan = await planStacks(["edge", "home"]);
  const [edge, home] = plan.stacks.map((s) => s.run);
  const topology = new EdgeTopology(edge, home);
  try {
    topology.build();
    await new Promise((r) => setTimeout(r, 2000));
    const vps = topology.addresses.vps.ipv4;
    const direct = load(topology, "home", `https://${topology.addresses.backend}:${DIRECT_PORT}/whoami`);
    const full = load(topology, "internet", `https://${vps}/whoami`);
    // Without HAProxy: nginx answers on the tunnel address itself, so the edge's DNAT lands on it directly.
    topology.exec("home", "sh", ["-c", "pkill -x haproxy || true"]);
    const backend = join(topology.dir, "backend");
    const tunnelServer = topology.file(
      "home/nginx-tunnel.conf",
      `worker_processes 1; daemon off; user root; pid ${topology.dir}/home/nginx.pid; error_log ${topology.dir}/home/nginx-error.log;
events {}
http { access_log off; client_body_temp_path ${backend}/tmp; proxy_temp_path ${backend}/tmp; fastcgi_temp_path ${backend}/tmp; uwsgi_temp_path ${backend}/tmp; scgi_temp_path ${backend}/tmp;
  server { listen 10.10.10.2:443 ssl; ssl_certificate ${backend}/tls.crt; ssl_certificate_key ${backend}/tls.key; location /whoami { return 200 "$remote_addr\\n"; } } }
`,
      0o644,
    );
    topology.start("home", "nginx", ["-c", tunnelServer]);
    await new Promise((r) => setTimeout(r, 1000));
    const tunnel = load(topology, "internet", `https://${vps}/whoami`);
    console.log(`HTTP load, wrk -t${WRK.threads} -c${WRK.connections} -d${WRK.seconds}, TLS on every path:`);
    console.log(row("direct veth to the backend", direct));
    console.log(row("edge path without HAProxy (tunnel)", tunnel));
    console.log(row("full edge path", full));
    console.log(`ratios: tunnel/direct ${(tunnel.rps / direct.rps).toFixed(2)}, full/tunnel ${(full.rps / tunnel.rps).toFixed(2)}, full/direct ${(full.rps / direct.rps).toFixed(2)} (requests per second)`);
    console.log(`        p99 full/direct ${(full.p99 / direct.p99).toFixed(2)}`);
  } finally {
    topology.teardown();
  }
}

/** Plans the home stack with a catalog of n apps; returns seconds. */
async function planTime(n: number): Promise<number> {
  const services = benchCatalog(n);
  const edgeConfig = loadPlanConfig("edge");
  const edge = await runOffline({ stack: "edge", config: { ...edgeConfig.config, "homelab:services": services }, secretKeys: edgeConfig.secretKeys, program: () => buildStack("edge") });
  const homeConfig = loadPlanConfig("home");
  const started = performance.now();
  await runOffline({
    stack: "home",
    config: { ...homeConfig.config, "homelab:services": services },
    stackReferences: { [homeConfig.config["homelab:edgeStack"]]: asStackReference(edge) },
    program: () => buildStack("home"),
  });
  return (performance.now() - started) / 1000;
}

async function main() {
  const canRun = process.getuid?.() === 0 && ["wrk", "nginx", "haproxy", "wg-quick", "wireguard-go", "dnsmasq"].every(hasTool);
  if (canRun) await paths();
  else console.log("path benchmark skipped: it needs root and wrk, nginx, haproxy, wg-quick, wireguard-go, dnsmasq (.ci/run installs them)");
  await planTime(10); // warm-up: module loading is not planning
  const times = [];
  for (const n of [10, 50, 200]) times.push([n, await planTime(n)] as const);
  console.log("\noffline plan of the home stack:");
  for (const [n, seconds] of times) console.log(`  ${String(n).padStart(3)} apps  ${seconds.toFixed(2)} s  (${(seconds / times[0][1]).toFixed(2)}x the 10-app plan)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
