// The cached Debian rootfs the local provider's hosts boot from (read-only lowerdir of their overlays).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spec } from '../../spec/types.js';
import { MesoError } from '../../util/errors.js';
import { alive, removeTree, requireLab, run, sleep, type LabEvent } from './exec.js';

/** Bump when the way an image is built changes, so old cached images are not reused. */
export const IMAGE_RECIPE_VERSION = 2;

export const DEFAULT_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'openssh-server',
  'iproute2',
  'python3',
  'sudo',
  'ca-certificates',
  'procps',
  'curl',
  'zookeeper',
  // Mesos' CRAM-MD5 authentication (security.authentication) loads its SASL mechanism from here.
  'libsasl2-modules',
];

/**
 * The packages baked into the image of a local cluster's hosts, sorted, each once: DEFAULT_PACKAGES,
 * `local.packages`, and the OS packages of `install.packages` that only the image can provide (lab
 * hosts have no route to an archive): all of them for `none`, and for `archive` unless a
 * `repository` serves them (they may not be in Debian at all). apt/yum packages come from their
 * repository at install time. Add-ons' packages (`addons[].package`, a preset's) are baked too,
 * unless install.repository serves packages. Versions are not baked: the image has the suite's.
 */
export function imagePackages(
  spec: Pick<Spec, 'install' | 'local'> & Partial<Pick<Spec, 'addons'>>,
): string[] {
  const ins = spec.install;
  const fromInstall =
    ins.method === 'none' || (ins.method === 'archive' && ins.repository === undefined)
      ? ins.packages.map((p) => p.name)
      : [];
  const fromAddons =
    ins.repository === undefined
      ? (spec.addons ?? []).flatMap((a) => (a.install.kind === 'package' ? [a.install.name] : []))
      : [];
  return [...new Set([...DEFAULT_PACKAGES, ...spec.local.packages, ...fromInstall, ...fromAddons])].sort();
}

export const DEFAULT_IMAGE_CACHE = '/var/cache/meso/images';
const SUITE = 'bookworm';
const SOURCES_FILES = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];

export interface EnsureImageOptions {
  /** Packages baked in; default DEFAULT_PACKAGES. Order does not matter (the cache key sorts them). */
  packages?: readonly string[];
  /** Default: env MESO_IMAGE_CACHE, else /var/cache/meso/images. */
  cacheDir?: string;
  /** The host's apt sources file given to mmdebstrap; default the first of SOURCES_FILES that exists. */
  sourcesFile?: string;
  onEvent?: LabEvent;
  /** How long to wait for another process building the same image; default 20 minutes. */
  lockTimeoutMs?: number;
}

/** A built image. `rootfs` is never modified after the build; hosts mount it read-only as lowerdir. */
export interface Image {
  key: string;
  /** `<cacheDir>/<key>`: holds `rootfs/` and `image.json`. */
  dir: string;
  rootfs: string;
  packages: string[];
  /** True when this call built it, false when it came from the cache. */
  built: boolean;
  /** Build time in ms (from image.json when cached). */
  buildMs: number;
}

/** sha256 of the recipe version, suite and sorted package list (hex, 64 chars). */
export function imageKey(packages: readonly string[]): string {
  const sorted = [...new Set(packages)].sort();
  return createHash('sha256')
    .update(
      JSON.stringify({ recipe: IMAGE_RECIPE_VERSION, suite: SUITE, variant: 'minbase', packages: sorted }),
    )
    .digest('hex');
}

/** The mmdebstrap hooks; fixed strings (mmdebstrap runs them with `$1` = the new rootfs), no values pasted in. */
const HOOKS = [
  // Every host gets its own SSH host keys before its first boot; none may be shared through the image.
  '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*_key "$1"/etc/ssh/ssh_host_*_key.pub',
  '--customize-hook=chroot "$1" systemctl enable ssh.service',
  // Lab hosts have no route to an archive; periodic apt runs would only fail or send traffic out.
  '--customize-hook=chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer',
  // Each boot gets a fresh machine id from nspawn.
  '--customize-hook=rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id && touch "$1"/etc/machine-id',
];

async function acquireLock(path: string, timeoutMs: number, onEvent: LabEvent): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      // 'wx' is O_CREAT|O_EXCL; node opens with O_CLOEXEC, so no child inherits it.
      const fd = openSync(path, 'wx', 0o644);
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: number;
    try {
      owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {
      continue; // released between our open and read
    }
    if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
      // Stale lock from a crashed build: take it over.
      try {
        unlinkSync(path);
      } catch {
        // someone else took it over first
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new MesoError(
        'LabImageFailed',
        `another meso process (pid ${owner}) is still building the image`,
        {
          hint: `wait for it to finish, or remove ${path} if that process is not meso`,
        },
      );
    }
    if (!told) onEvent(`waiting for pid ${owner}, which is building the same image`);
    told = true;
    await sleep(1000);
  }
}

function readImage(dir: string, key: string, packages: string[]): Image | undefined {
  const rootfs = join(dir, 'rootfs');
  if (!existsSync(join(dir, 'image.json')) || !existsSync(join(rootfs, 'sbin', 'init'))) return undefined;
  let buildMs = 0;
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8')) as { buildMs?: unknown };
    if (typeof meta.buildMs === 'number') buildMs = meta.buildMs;
  } catch {
    return undefined;
  }
  return { key, dir, rootfs, packages, built: false, buildMs };
}

/**
 * Returns the cached image for `packages`, building it first when missing. The build goes into a
 * temporary directory renamed into place, under a lock file, so a reader never sees half an image.
 */
export async function ensureImage(opts: EnsureImageOptions = {}): Promise<Image> {
  const onEvent = opts.onEvent ?? (() => {});
  const packages = [...new Set(opts.packages ?? DEFAULT_PACKAGES)].sort();
  const cacheDir = opts.cacheDir ?? process.env['MESO_IMAGE_CACHE'] ?? DEFAULT_IMAGE_CACHE;
  const key = imageKey(packages);
  const dir = join(cacheDir, key);

  const cached = readImage(dir, key, packages);
  if (cached !== undefined) return cached;

  requireLab(['mmdebstrap']);
  const sourcesFile = opts.sourcesFile ?? SOURCES_FILES.find((f) => existsSync(f));
  if (sourcesFile === undefined || !existsSync(sourcesFile)) {
    throw new MesoError(
      'LabImageFailed',
      `no apt sources file found (looked at ${SOURCES_FILES.join(', ')})`,
      {
        hint: 'the image is built from the same Debian archive this machine uses; configure apt first',
      },
    );
  }
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  const release = await acquireLock(`${dir}.lock`, opts.lockTimeoutMs ?? 20 * 60_000, onEvent);
  try {
    const again = readImage(dir, key, packages);
    if (again !== undefined) return again; // another process built it while we waited

    // Leftovers of crashed builds of this key (we hold the lock, so none is in progress).
    for (const name of await readdir(cacheDir)) {
      if (name.startsWith(`.tmp-${key.slice(0, 16)}-`)) await removeTree(join(cacheDir, name));
    }
    if (existsSync(dir)) await removeTree(dir); // incomplete: no image.json or no init

    const tmp = join(cacheDir, `.tmp-${key.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    mkdirSync(tmp, { mode: 0o755 });
    const rootfs = join(tmp, 'rootfs');
    onEvent(
      `building Debian ${SUITE} image ${key.slice(0, 12)} (${packages.length} packages) with mmdebstrap`,
    );
    const t0 = Date.now();
    try {
      await run(
        'mmdebstrap',
        [
          '--mode=root',
          '--variant=minbase',
          `--include=${packages.join(',')}`,
          ...HOOKS,
          SUITE,
          rootfs,
          sourcesFile,
        ],
        { timeoutMs: 30 * 60_000 },
      );
      if (!existsSync(join(rootfs, 'sbin', 'init'))) {
        throw new MesoError('LabImageFailed', `mmdebstrap finished but ${rootfs} has no /sbin/init`);
      }
      const buildMs = Date.now() - t0;
      await writeFile(
        join(tmp, 'image.json'),
        JSON.stringify({ key, recipe: IMAGE_RECIPE_VERSION, suite: SUITE, packages, buildMs }, null, 2) +
          '\n',
      );
      await rename(tmp, dir);
      onEvent(`built image ${key.slice(0, 12)} in ${(buildMs / 1000).toFixed(1)} s`);
      return { key, dir, rootfs: join(dir, 'rootfs'), packages, built: true, buildMs };
    } catch (e) {
      await removeTree(tmp);
      if (e instanceof MesoError && e.code === 'LabImageFailed') throw e;
      throw new MesoError('LabImageFailed', `building the image failed: ${(e as Error).message}`, {
        cause: e,
        hint: 'check that this machine reaches its Debian archive (apt-get update)',
      });
    }
  } finally {
    release();
  }
}

/** Disk usage of an image directory in bytes (du, since the tree is large). */
export async function imageSize(image: Image): Promise<number> {
  await stat(image.dir);
  const { stdout } = await run('du', ['-sb', image.dir]);
  return Number.parseInt(stdout, 10);
}
