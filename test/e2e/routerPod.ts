import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OfflineRun } from "../../tools/offline/engine";
import { createMountPoints } from "../home/fixtures/headscaleHost";
import { resourceOf } from "../support/offline";
import { Netns, TOOLS_BIN } from "../support/realTools";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

/** One run of the pod: resolves `done` when containerboot exits. */
export interface PodRun {
  exited: number | null | undefined;
  log(): string;
  stop(): void;
  done: Promise<void>;
}

/**
 * The subnet router as its planned pod runs it: the real containerboot, the container's environment exactly as planned
 * (the Secret resolved to the bootstrap's key), plus what kubelet injects into every pod (KUBERNETES_SERVICE_HOST/PORT):
 * with no service-account token mounted, that pair is what crashed v1.86 (D1). Its volumes are scratch directories
 * bound where the container mounts them, in a mount namespace of its own inside the given network namespace.
 */
export class RouterPod {
  readonly pod: any;
  readonly container: any;
  /** The container's mount paths, mount points created where this machine lacks them (removed by `cleanup`). */
  readonly mounts: string[];
  readonly env: Record<string, string>;
  /** The LAN route the container advertises (TS_ROUTES). */
  readonly lan: string;
  private readonly created: string[];
  private readonly volumes: Record<string, string>;
  private readonly shell: string;

  /** `etcHosts` and `caCert` take the place of cluster DNS and the image's CA bundle. */
  constructor(home: OfflineRun, netns: Netns, readonly work: string, { authKey, etcHosts, caCert }: { authKey: string; etcHosts: string; caCert: string }) {
    this.pod = (resourceOf(home, "kubernetes:apps/v1:Deployment", "subnet-router").inputs.spec as any).template.spec;
    this.container = this.pod.containers[0];
    this.mounts = this.container.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    this.created = createMountPoints(this.mounts);
    this.env = { PATH: process.env.PATH!, KUBERNETES_SERVICE_HOST: "10.43.0.1", KUBERNETES_SERVICE_PORT: "443" };
    for (const variable of this.container.env as EnvVar[]) {
      if (variable.valueFrom) assert.equal(variable.valueFrom.secretKeyRef.key, "authkey", `${variable.name} comes from the Secret the bootstrap writes`);
      this.env[variable.name] = variable.valueFrom ? authKey : variable.value!;
    }
    this.lan = this.env.TS_ROUTES;
    this.volumes = Object.fromEntries(this.mounts.map((path) => [path, join(work, `volume${path.replace(/\//g, "-")}`)]));
    Object.values(this.volumes).forEach((dir) => mkdirSync(dir, { mode: 0o700 }));
    writeFileSync(join(work, "hosts"), etcHosts);
    writeFileSync(join(work, "resolv.conf"), "");
    // Files first: a volume may cover the directory they come from (the pod's /tmp). So may it cover the pinned
    // binaries' own directory (a checkout under /tmp, as in CI): it is bound first, onto /usr/local/sbin (empty on
    // Debian).
    const binds = [[TOOLS_BIN, "/usr/local/sbin"], [join(work, "hosts"), "/etc/hosts"], [join(work, "resolv.conf"), "/etc/resolv.conf"], [caCert, "/etc/ssl/certs/ca-certificates.crt"], ...Object.entries(this.volumes).map(([path, dir]) => [dir, path])];
    this.shell = join(work, "containerboot-in-pod");
    writeFileSync(this.shell, `#!/bin/sh\nexec ip netns exec ${netns.name} sh -c '${binds.map(([from, to]) => `mount --bind ${from} ${to}`).join(" && ")} && PATH=/usr/local/sbin:$PATH exec containerboot'\n`);
    chmodSync(this.shell, 0o755);
  }

  /** One run of the pod: a fresh emptyDir for /tmp, the state claim kept. */
  start(run: number): PodRun {
    const tmp = this.volumes["/tmp"];
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    const log = join(this.work, `containerboot-${run}.log`);
    const child = spawn(this.shell, [], { env: this.env, stdio: ["ignore", openSync(log, "w"), openSync(log, "a")], detached: true });
    const pod: PodRun = {
      exited: undefined,
      log: () => readFileSync(log, "utf8"),
      stop: () => process.kill(-child.pid!, "SIGTERM"),
      done: new Promise<void>((resolve) => child.on("exit", (code) => ((pod.exited = code), resolve()))),
    };
    return pod;
  }

  /** The port the pod's probes ask for /healthz. */
  get healthPort(): string {
    return new URL(`http://${this.env.TS_LOCAL_ADDR_PORT}`).port;
  }

  /** Removes the mount points this machine lacked. */
  cleanup(): void {
    this.created.reverse().forEach((path) => rmdirSync(path));
  }
}
