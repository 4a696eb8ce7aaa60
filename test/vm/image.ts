import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Debian's archive; the VM reaches it only through QEMU's user-mode NIC (see vm.ts), the build directly. */
export const MIRROR_HOST = "deb.debian.org";
const MIRROR = `http://${MIRROR_HOST}/debian`;
const SUITE = "bookworm";

/** Where the VM sees the package mirror: QEMU forwards this address's port 80 to the real mirror and nothing else. */
export const MIRROR_GUEST_ADDRESS = "10.0.2.100";

/** What a Hetzner Debian 12 server brings that the edge's user-data relies on, and nothing it would not have. */
export const IMAGE_PACKAGES = [
  "linux-image-cloud-amd64",
  "systemd-sysv",
  "udev",
  "kmod",
  "iproute2",
  "ifupdown",
  "cloud-init",
  "openssh-server",
  "nftables",
  "wireguard-tools",
  // /etc/protocols: nft resolves "meta l4proto ipv6-icmp" through it, and fails to load the ruleset without it.
  "netbase",
  // cloud-init's locale module needs locale-gen and update-locale; minbase has neither.
  "locales",
];

/**
 * Files the image gets on top of the packages, each with why. The first makes it behave like Hetzner's image; the
 * others exist only because the test VM is not on Hetzner.
 */
export const IMAGE_FILES: Record<string, string> = {
  // Hetzner's Debian image lets root in with the project's key; a stock minimal cloud.cfg says disable_root: true.
  // Only NoCloud: the test seeds /var/lib/cloud/seed/nocloud/ where Hetzner's image asks its metadata service.
  "/etc/cloud/cloud.cfg.d/90-hetzner-like.cfg": "disable_root: false\ndatasource_list: [NoCloud, None]\n",
  "/etc/fstab": "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n",
  // The VM's only way out is QEMU's forward of MIRROR_GUEST_ADDRESS:80 to the mirror (apt sends the Host header).
  "/etc/hosts": `127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n${MIRROR_GUEST_ADDRESS} ${MIRROR_HOST}\n`,
  // The mirror here serves a dated snapshot whose Release files have expired, as the host's own apt config allows.
  "/etc/apt/apt.conf.d/90-test-mirror": 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n',
  // cloud-init's locale module sets LANG=en_US.UTF-8, and update-locale refuses a locale that was never generated.
  "/etc/locale.gen": "en_US.UTF-8 UTF-8\n",
};

/** Commands run inside the root tree once the files are in place. */
export const IMAGE_COMMANDS = [["locale-gen"]];

/** Size of the virtual disk; sparse, so only what the root tree uses takes space. */
const DISK_SIZE = "3G";
const BUILDER_VERSION = "1";

export interface VmImage {
  /** The root filesystem, an ext4 image to copy before booting (the VM writes to it). */
  disk: string;
  kernel: string;
  initrd: string;
}

/** Hash of everything that decides the image's content; a change of any of it builds a new image. */
export function imageKey(packages = IMAGE_PACKAGES, files = IMAGE_FILES): string {
  const content = { BUILDER_VERSION, SUITE, MIRROR, IMAGE_PACKAGES: packages, IMAGE_FILES: files, DISK_SIZE, IMAGE_COMMANDS };
  return createHash("sha256").update(JSON.stringify(content)).digest("hex").slice(0, 16);
}

/** Outside the checkout, so reruns and a CI clone of the repository share it. */
export function cacheRoot(): string {
  return process.env.HOMELAB_VM_CACHE ?? (existsSync("/var/cache") ? "/var/cache/homelab-vm" : join(tmpdir(), "homelab-vm"));
}

function must(cmd: string, args: string[]) {
  const result = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${result.status}:\n${result.stderr.slice(-4000)}${result.stdout.slice(-2000)}`);
}

const imageIn = (dir: string): VmImage => ({ disk: join(dir, "disk.img"), kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img") });

/**
 * Returns the cached image for the current key, building it first when there is none (about 80 s for the root tree,
 * a few more for the disk). The build happens beside the cache entry and is renamed into place, so an interrupted
 * build never leaves a half image under the key.
 */
export function ensureImage(log: (line: string) => void = () => undefined): VmImage {
  const dir = join(cacheRoot(), imageKey());
  const image = imageIn(dir);
  if (Object.values(image).every((file) => existsSync(file))) return image;

  mkdirSync(cacheRoot(), { recursive: true });
  const work = `${dir}.build-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  const root = join(work, "root");
  mkdirSync(root, { recursive: true });
  try {
    log(`building the VM image ${imageKey()} in ${work}`);
    must("mmdebstrap", ["--variant=minbase", "--mode=root", `--include=${IMAGE_PACKAGES.join(",")}`, SUITE, root, MIRROR]);
    for (const [path, content] of Object.entries(IMAGE_FILES)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content, { mode: 0o644 });
    }
    for (const command of IMAGE_COMMANDS) must("chroot", [root, ...command]);
    mkdirSync(join(root, "var/lib/cloud/seed/nocloud"), { recursive: true });
    const boot = readdirSync(join(root, "boot"));
    const pick = (prefix: string) => {
      const found = boot.filter((f) => f.startsWith(prefix)).sort();
      if (found.length === 0) throw new Error(`the image has no /boot/${prefix}*`);
      return join(root, "boot", found[found.length - 1]);
    };
    const built = imageIn(work);
    copyFileSync(pick("vmlinuz-"), built.kernel);
    copyFileSync(pick("initrd.img-"), built.initrd);
    must("truncate", ["-s", DISK_SIZE, built.disk]);
    must("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", root, built.disk]);
    rmSync(root, { recursive: true, force: true });
    // Another run may have finished the same key meanwhile; its image is as good as this one.
    if (!existsSync(dir)) renameSync(work, dir);
    pruneOtherImages(dir);
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Keeps one image: entries of older keys go once a new one is in place (a build of another run is left alone). */
function pruneOtherImages(keep: string) {
  for (const entry of readdirSync(cacheRoot())) {
    const path = join(cacheRoot(), entry);
    if (path !== keep && /^[0-9a-f]{16}$/.test(entry)) rmSync(path, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const started = Date.now();
  const image = ensureImage(console.log);
  console.log(`${image.disk} ready (${Math.round((Date.now() - started) / 1000)} s)`);
}
