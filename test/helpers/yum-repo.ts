// A small yum repository of fake, signed RPMs, built with rpmbuild, rpmsign and createrepo_c and served
// with serveDirectory (./apt-repo.js), so lab hosts without a route out can `dnf install` from it.
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { which } from '../../src/providers/local/exec.js';
import { run, withThrowawayKey } from './gpg.js';

/**
 * No scriptlets: a shell scriptlet makes the RPM require /bin/sh, which nothing in the rpm database
 * of a Debian host provides, so dnf would refuse to install it.
 */
export interface FakeRpm {
  /** An RPM name: letters, digits, `+`, `-`, `.` and `_`. */
  name: string;
  /** `<version>-<release>`, e.g. '1.11.0-1' (split at the last dash; no epoch). */
  version: string;
  /** Files to put in the package: absolute path on the target -> content; mode defaults to 0o644. */
  files: Record<string, { content: string; mode?: number }>;
  summary?: string;
}

export interface YumRepo {
  /** The repo root on disk (the RPMs and repodata/); serve it as is: it is the baseurl. */
  dir: string;
  /** The ASCII-armored public key that signed every RPM (in `dir`, so hosts could fetch it too). */
  publicKeyPath: string;
  /** The RPM files built, relative to `dir`. */
  rpms: string[];
}

const KEY_FILE = 'RPM-GPG-KEY-meso-test';

/** Tools buildYumRepo needs that are not on PATH (empty when all are there). */
export function yumRepoToolsMissing(): string[] {
  return ['rpmbuild', 'rpmsign', 'createrepo_c', 'gpg', 'gpg-agent', 'gpgconf'].filter(
    (t) => which(t) === undefined,
  );
}

/**
 * Build the repo in a new temp dir (the caller removes `dir` when done): one noarch RPM per package,
 * signed by a fresh throwaway key, and repodata/ from createrepo_c. Several versions of one package may
 * sit side by side.
 */
export async function buildYumRepo(packages: FakeRpm[]): Promise<YumRepo> {
  const missing = yumRepoToolsMissing();
  if (missing.length > 0) throw new Error(`buildYumRepo: missing tools: ${missing.join(', ')}`);
  checkPackages(packages);
  const dir = await mkdtemp(join(tmpdir(), 'meso-yum-repo-'));
  await chmod(dir, 0o755);
  const work = await mkdtemp(join(tmpdir(), 'meso-rpm-build-'));
  try {
    const rpms: string[] = [];
    for (const [i, pkg] of packages.entries()) rpms.push(await buildRpm(pkg, join(work, `pkg-${i}`), dir));
    // RSA: every rpm version verifies it (EdDSA needs a newer rpm than some hosts have).
    const publicKeyPath = join(dir, KEY_FILE);
    await withThrowawayKey('meso test rpms <meso-tests@example.invalid>', 'rsa3072', async (k) => {
      await run(
        'rpmsign',
        [
          // Debian's rpm names /usr/bin/gpg2, which Debian does not ship: the gpg on PATH signs.
          '--define',
          `__gpg ${which('gpg') ?? 'gpg'}`,
          '--define',
          `_gpg_name ${k.fingerprint}`,
          '--define',
          `_gpg_path ${k.home}`,
          '--define',
          '_gpg_digest_algo sha256',
          '--addsign',
          ...rpms.map((r) => join(dir, r)),
        ],
        { env: k.env },
      );
      await writeFile(publicKeyPath, await k.armored());
      await chmod(publicKeyPath, 0o644);
    });

    await run('createrepo_c', ['--quiet', '--no-database', dir]);
    await chmodTree(dir);
    return { dir, publicKeyPath, rpms };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// ---- building ----

const NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
const VERSION = /^[0-9][A-Za-z0-9.+~_]*-[0-9][A-Za-z0-9.+~_]*$/;

function checkPackages(packages: FakeRpm[]): void {
  const seen = new Set<string>();
  for (const p of packages) {
    if (!NAME.test(p.name)) throw new Error(`buildYumRepo: bad package name ${JSON.stringify(p.name)}`);
    if (!VERSION.test(p.version))
      throw new Error(`buildYumRepo: ${p.name}: version must be <version>-<release>: ${p.version}`);
    const key = `${p.name}-${p.version}`;
    if (seen.has(key)) throw new Error(`buildYumRepo: ${key} is there twice`);
    seen.add(key);
    for (const path of Object.keys(p.files)) {
      const parts = path.split('/');
      if (!path.startsWith('/') || path.endsWith('/') || parts.some((s) => s === '..' || s === '.'))
        throw new Error(`buildYumRepo: ${key}: file path must be absolute and plain: ${path}`);
      // The spec's %files names them; rpm's glob and macro characters would change what is meant.
      if (/[\s%*?[\]{}"\\]/.test(path)) throw new Error(`buildYumRepo: ${key}: unusual file path ${path}`);
    }
    if (Object.keys(p.files).length === 0) throw new Error(`buildYumRepo: ${key}: no files`);
  }
}

/** One noarch RPM from files given as strings; returns its path relative to `repoDir`. */
async function buildRpm(pkg: FakeRpm, top: string, repoDir: string): Promise<string> {
  const dash = pkg.version.lastIndexOf('-');
  const version = pkg.version.slice(0, dash);
  const release = pkg.version.slice(dash + 1);
  const tree = join(top, 'tree');
  for (const [path, file] of Object.entries(pkg.files)) {
    const target = join(tree, ...path.split('/').filter((s) => s !== ''));
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, file.content);
  }
  const files = Object.entries(pkg.files).map(
    ([path, file]) => `%attr(${(file.mode ?? 0o644).toString(8).padStart(4, '0')},root,root) ${path}`,
  );
  const specText = [
    `Name: ${pkg.name}`,
    `Version: ${version}`,
    `Release: ${release}`,
    `Summary: ${pkg.summary ?? `fake ${pkg.name} package for meso tests`}`,
    'License: Apache-2.0',
    'BuildArch: noarch',
    'AutoReqProv: no',
    // Nothing to strip, compile or mangle: the files are to arrive as given.
    '%global debug_package %{nil}',
    '%global __os_install_post %{nil}',
    '%global _build_id_links none',
    '',
    '%description',
    `A fake ${pkg.name} package for meso tests.`,
    '',
    '%install',
    'mkdir -p %{buildroot}',
    `cp -R ${tree}/. %{buildroot}/`,
    '',
    '%files',
    ...files,
    '',
  ].join('\n');
  const spec = join(top, `${pkg.name}.spec`);
  await writeFile(spec, specText);
  const rpmDir = join(top, 'RPMS');
  await run('rpmbuild', [
    '--quiet',
    '--define',
    `_topdir ${top}`,
    '--define',
    `_rpmdir ${rpmDir}`,
    '--define',
    `_builddir ${join(top, 'BUILD')}`,
    '--define',
    '_rpmfilename %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
    '--nodeps',
    '-bb',
    spec,
  ]);
  const built = await readdir(rpmDir);
  const name = `${pkg.name}-${version}-${release}.noarch.rpm`;
  if (!built.includes(name)) throw new Error(`buildYumRepo: rpmbuild made ${built.join(', ')}, not ${name}`);
  await run('cp', [join(rpmDir, name), join(repoDir, name)]);
  return name;
}

/** World-readable throughout: the server is public, and so is the repo. */
async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await chmodTree(join(dir, e.name));
    else await chmod(join(dir, e.name), 0o644);
  }
}
