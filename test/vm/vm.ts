import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lookup } from "node:dns/promises";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { MIRROR_GUEST_ADDRESS, MIRROR_HOST, VmImage } from "./image";

/** The guest's side of QEMU's user-mode network, where the mirror forward lives. */
const USER_NET_GUEST = "10.0.2.15/24";

export interface VmNic {
  /** Addresses with prefix length, e.g. "192.0.2.75/25". */
  addresses: string[];
  gateway4?: string;
  gateway6?: string;
}

export interface VmSpec {
  image: VmImage;
  /** The plan's user-data, byte for byte. */
  userData: string;
  /** Keys the platform hands cloud-init, as Hetzner's metadata service hands it the project's key. */
  publicKeys: string[];
  /** The public NIC (eth0), as Hetzner's network config would set it. */
  wan: VmNic;
  hostname: string;
}

/** Runs a command; throws with its output when it fails. */
export function sh(cmd: string, args: string[], input?: string): string {
  const result = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${result.status}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Writes files into the ext4 image without mounting it. */
function writeIntoImage(disk: string, dir: string, files: Record<string, string>, scratch: string) {
  const commands = [`cd ${dir}`];
  for (const [name, content] of Object.entries(files)) {
    const local = join(scratch, name);
    writeFileSync(local, content, { mode: 0o600 });
    commands.push(`write ${local} ${name}`);
  }
  const script = join(scratch, "debugfs.cmd");
  writeFileSync(script, `${commands.join("\n")}\n`);
  const out = spawnSync("debugfs", ["-w", "-f", script, disk], { encoding: "utf8" });
  if (out.status !== 0 || /error|not found|No such/i.test(out.stderr.replace(/^debugfs [^\n]*\n/, ""))) throw new Error(`debugfs could not seed ${disk}:\n${out.stderr}`);
}

/**
 * One Debian VM booted by QEMU (software emulation) from a copy of the cached image, with a NoCloud seed. eth0 is a
 * tap the caller moves into its own network namespace; eth1 is QEMU's user-mode network, isolated (restrict=on) but
 * for one forward of port 80 to the package mirror, which the user-data's package_update needs. It has no IPv6
 * (its router advertisements would add a second default route).
 */
export class Vm {
  readonly dir = mkdtempSync(join(tmpdir(), "homelab-vm-"));
  readonly tap = `hlvm${randomBytes(3).toString("hex")}`;
  readonly console = join(this.dir, "console.log");
  private qemu?: ChildProcess;
  private exited?: Promise<void>;

  constructor(private readonly spec: VmSpec) {
    chmodSync(this.dir, 0o700);
  }

  /** Copies the image, seeds it and powers the VM on; the tap exists in the root namespace when this returns. */
  async start(): Promise<void> {
    const disk = join(this.dir, "disk.img");
    sh("cp", ["--sparse=always", this.spec.image.disk, disk]);
    const instanceId = `homelab-vm-${randomBytes(4).toString("hex")}`;
    const networkConfig = {
      version: 2,
      ethernets: {
        eth0: { addresses: this.spec.wan.addresses, ...(this.spec.wan.gateway4 ? { gateway4: this.spec.wan.gateway4 } : {}), ...(this.spec.wan.gateway6 ? { gateway6: this.spec.wan.gateway6 } : {}) },
        eth1: { addresses: [USER_NET_GUEST] },
      },
    };
    writeIntoImage(
      disk,
      "/var/lib/cloud/seed/nocloud",
      {
        "user-data": this.spec.userData,
        "meta-data": stringify({ "instance-id": instanceId, "local-hostname": this.spec.hostname, "public-keys": this.spec.publicKeys }),
        "network-config": stringify(networkConfig),
      },
      this.dir,
    );

    const [mirror] = await lookup(MIRROR_HOST, { family: 4, all: true });
    sh("ip", ["tuntap", "add", "dev", this.tap, "mode", "tap"]);
    // Per guest connection, QEMU runs this on the host with the connection on stdin/stdout: a pipe to the mirror.
    const pipe = `bash -c 'exec 3<>/dev/tcp/${mirror.address}/80; cat <&3 & cat >&3; wait'`;
    const args = [
      ...["-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "2", "-m", "1024"],
      ...["-display", "none", "-monitor", "none", "-serial", `file:${this.console}`],
      ...["-kernel", this.spec.image.kernel, "-initrd", this.spec.image.initrd, "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0"],
      ...["-drive", `file=${disk},if=virtio,format=raw`],
      ...["-netdev", `tap,id=wan,ifname=${this.tap},script=no,downscript=no`, "-device", "virtio-net-pci,netdev=wan,mac=52:54:00:00:00:01"],
      ...["-netdev", `user,id=mirror,restrict=on,ipv6=off,guestfwd=tcp:${MIRROR_GUEST_ADDRESS}:80-cmd:${pipe}`, "-device", "virtio-net-pci,netdev=mirror,mac=52:54:00:00:00:02"],
    ];
    const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    qemu.stderr?.on("data", (chunk) => (stderr += chunk));
    this.qemu = qemu;
    this.exited = new Promise((resolve) => qemu.once("exit", () => resolve()));
    // QEMU opens the tap at start-up; give it a moment, and fail at once if it did not start.
    await new Promise((r) => setTimeout(r, 1500));
    if (qemu.exitCode !== null) throw new Error(`qemu exited ${qemu.exitCode}: ${stderr}`);
  }

  /** The end of the serial console, for failure messages. */
  consoleTail(lines = 60): string {
    if (!existsSync(this.console)) return "(no console output)";
    return readFileSync(this.console, "utf8").split("\n").slice(-lines).join("\n");
  }

  /** Keeps the console for a failed run's post-mortem. */
  saveConsole(to: string) {
    if (existsSync(this.console)) copyFileSync(this.console, to);
  }

  /** Powers the VM off and removes its disk copy and tap; safe to call twice, and after a failed start. */
  async stop(): Promise<void> {
    if (this.qemu && this.qemu.exitCode === null) {
      this.qemu.kill("SIGKILL");
      await this.exited;
    }
    spawnSync("ip", ["link", "delete", this.tap], { stdio: "ignore" });
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous kill, for a process exit handler. */
  kill(): void {
    if (this.qemu && this.qemu.exitCode === null) this.qemu.kill("SIGKILL");
  }
}
