// A small signed Debian apt repository of fake packages, built with the Debian tools and served over HTTP,
// so lab hosts that cannot reach a public archive can `apt-get update` and `apt-get install` from it.
import { chmod, mkdir, mkdtemp, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { which } from '../../src/providers/local/exec.js';
import { run, withThrowawayKey } from './gpg.js';

export interface FakePackage {
  /** A Debian package name: lower case letters, digits, `+`, `-` and `.`, at least two characters. */
  name: string;
  /** A Debian version, e.g. '1.11.0-1' (an epoch `1:` is allowed and left out of the file name). */
  version: string;
  /** Files to put in the package: absolute path on the target -> content; mode defaults to 0o644. */
  files: Record<string, { content: string; mode?: number }>;
  /** Depends: field entries (other fake packages, with or without a version constraint). */
  depends?: string[];
  description?: string;
  /** A maintainer script run after unpacking (`#!/bin/sh` and `set -e` are added). */
  postinst?: string;
}

export interface AptRepo {
  /** The repo root on disk (contains dists/ and pool/); serve it as is. */
  dir: string;
  /**
   * ASCII-armored public key that signed InRelease and Release.gpg. It lies in `dir` (so hosts can fetch it
   * too) and ends in `.asc`: apt reads an armored `Signed-By:` file only under that extension.
   */
  publicKeyPath: string;
  suite: string;
  components: string[];
}

const SUITE = 'stable';
const COMPONENT = 'main';
const KEY_FILE = 'meso-test-archive-keyring.asc';

/** Tools buildAptRepo needs that are not on PATH (empty when all are there). */
export function aptRepoToolsMissing(): string[] {
  // apt-ftparchive writes both Packages and Release, so dpkg-scanpackages is not needed; gpg-agent holds
  // the secret key while gpg signs (gpg >= 2.1 cannot sign without it).
  return ['dpkg-deb', 'apt-ftparchive', 'gpg', 'gpg-agent', 'gpgconf'].filter((t) => which(t) === undefined);
}

/**
 * Build the repo in a new temp dir (the caller removes `dir` when done): one `Architecture: all` .deb per
 * package under pool/main/, dists/stable/main/binary-amd64/Packages(.gz), and Release signed as InRelease
 * and Release.gpg by a fresh throwaway key. Several versions of one package may sit side by side.
 */
export async function buildAptRepo(packages: FakePackage[]): Promise<AptRepo> {
  const missing = aptRepoToolsMissing();
  if (missing.length > 0) throw new Error(`buildAptRepo: missing tools: ${missing.join(', ')}`);
  checkPackages(packages);
  // 0755 throughout: apt's download methods run as _apt and must reach the key, and the server is public.
  const dir = await mkdtemp(join(tmpdir(), 'meso-apt-repo-'));
  await chmod(dir, 0o755);
  const work = await mkdtemp(join(tmpdir(), 'meso-apt-build-'));
  try {
    for (const [i, pkg] of packages.entries()) await buildDeb(pkg, join(work, `pkg-${i}`), dir);

    const dist = join(dir, 'dists', SUITE);
    const binary = join(dist, COMPONENT, 'binary-amd64');
    await mkdirs(binary);
    // Run from the root so that Filename: is pool/main/...; apt-ftparchive lists every version it finds.
    const index = await run('apt-ftparchive', ['packages', `pool/${COMPONENT}`], { cwd: dir });
    await writeFile(join(binary, 'Packages'), index, { mode: 0o644 });
    await writeFile(join(binary, 'Packages.gz'), gzipSync(index, { level: 9 }), { mode: 0o644 });

    const release = await run(
      'apt-ftparchive',
      [
        ...releaseField('Origin', 'meso-test'),
        ...releaseField('Label', 'meso-test'),
        ...releaseField('Suite', SUITE),
        ...releaseField('Codename', SUITE),
        ...releaseField('Components', COMPONENT),
        ...releaseField('Architectures', 'amd64 all'),
        ...releaseField('Description', 'fake packages for meso tests'),
        'release',
        '.',
      ],
      { cwd: dist },
    );
    await writeFile(join(dist, 'Release'), release, { mode: 0o644 });

    const publicKeyPath = join(dir, KEY_FILE);
    await signRelease(join(dist, 'Release'), publicKeyPath);
    return { dir, publicKeyPath, suite: SUITE, components: [COMPONENT] };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Serve `dir` over HTTP on host:port (port 0: any free one): GET and HEAD of regular files, 404 for
 * anything else (no directory listing, nothing outside `dir`). The URL ends in `/`.
 */
export async function serveDirectory(
  dir: string,
  host: string,
  port = 0,
): Promise<{ url: string; close: () => Promise<void> }> {
  const root = await realpath(dir);
  const server = createServer((req, res) => {
    const notFound = (code = 404): void => {
      res.writeHead(code, { 'content-type': 'text/plain', 'content-length': '0' }).end();
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(405);
    void resolveFile(root, req.url ?? '/').then(
      (found) => {
        if (found === undefined) return notFound();
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(found.size),
          'last-modified': found.mtime.toUTCString(),
        });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(found.path)
          .on('error', () => res.destroy())
          .pipe(res);
      },
      () => notFound(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // apt keeps connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

// ---- building ----

const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/;

function checkPackages(packages: FakePackage[]): void {
  const seen = new Set<string>();
  for (const p of packages) {
    if (!NAME.test(p.name)) throw new Error(`buildAptRepo: bad package name ${JSON.stringify(p.name)}`);
    if (!VERSION.test(p.version))
      throw new Error(`buildAptRepo: ${p.name}: bad version ${JSON.stringify(p.version)}`);
    const key = `${p.name}=${p.version}`;
    // Pool file names leave the epoch out, so 1:2.0-1 and 2.0-1 would land in the same .deb.
    const file = `${p.name}_${p.version.replace(/^[0-9]+:/, '')}`;
    if (seen.has(file))
      throw new Error(`buildAptRepo: ${key}: another package has the file name ${file}_all.deb`);
    seen.add(file);
    for (const path of Object.keys(p.files)) {
      const parts = path.split('/');
      if (!path.startsWith('/') || path.endsWith('/') || parts.some((s) => s === '..' || s === '.'))
        throw new Error(`buildAptRepo: ${key}: file path must be absolute and plain: ${path}`);
      if (parts[1] === 'DEBIAN') throw new Error(`buildAptRepo: ${key}: ${path} is dpkg's control area`);
    }
    for (const d of p.depends ?? [])
      if (/[\n,]/.test(d)) throw new Error(`buildAptRepo: ${key}: one Depends entry per item: ${d}`);
  }
}

async function buildDeb(pkg: FakePackage, tree: string, repoDir: string): Promise<void> {
  await mkdirs(join(tree, 'DEBIAN'));
  for (const [path, file] of Object.entries(pkg.files)) {
    const target = join(tree, ...path.split('/').filter((s) => s !== ''));
    await mkdirs(dirname(target));
    await writeFile(target, file.content);
    await chmod(target, file.mode ?? 0o644); // explicit, so the umask does not decide
  }
  await writeFile(join(tree, 'DEBIAN', 'control'), control(pkg));
  await chmod(join(tree, 'DEBIAN', 'control'), 0o644);
  if (pkg.postinst !== undefined) {
    await writeFile(join(tree, 'DEBIAN', 'postinst'), `#!/bin/sh\nset -e\n${pkg.postinst}\n`);
    await chmod(join(tree, 'DEBIAN', 'postinst'), 0o755);
  }

  const upstream = pkg.version.replace(/^[0-9]+:/, '');
  const prefix = pkg.name.startsWith('lib') && pkg.name.length > 3 ? pkg.name.slice(0, 4) : pkg.name[0];
  const poolDir = join(repoDir, 'pool', COMPONENT, prefix ?? '_', pkg.name);
  await mkdirs(poolDir);
  const deb = join(poolDir, `${pkg.name}_${upstream}_all.deb`);
  // --root-owner-group: files are root:root on the target even though we build as whoever runs the tests.
  await run('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  await chmod(deb, 0o644);
}

function control(pkg: FakePackage): string {
  const [summary, ...rest] = (pkg.description ?? `fake ${pkg.name} package for meso tests`).split('\n');
  const lines = [
    `Package: ${pkg.name}`,
    `Version: ${pkg.version}`,
    'Architecture: all',
    'Maintainer: meso tests <meso-tests@example.invalid>',
    'Section: misc',
    'Priority: optional',
  ];
  if (pkg.depends !== undefined && pkg.depends.length > 0) lines.push(`Depends: ${pkg.depends.join(', ')}`);
  lines.push(`Description: ${summary ?? ''}`);
  // Extended description lines start with a space; an empty one is written " .".
  for (const l of rest) lines.push(l.trim() === '' ? ' .' : ` ${l}`);
  return `${lines.join('\n')}\n`;
}

function releaseField(field: string, value: string): string[] {
  return ['-o', `APT::FTPArchive::Release::${field}=${value}`];
}

/** Sign Release as InRelease (clearsigned) and Release.gpg (detached) with a new key; export it armored. */
async function signRelease(release: string, publicKeyPath: string): Promise<void> {
  await withThrowawayKey('meso test archive <meso-tests@example.invalid>', 'ed25519', async (k) => {
    // SHA512: newer apt (sqv) rejects SHA1 signatures and gpg's default digest depends on its config.
    const sign = ['--local-user', k.fingerprint, '--digest-algo', 'SHA512', '--yes'];
    await k.gpg([...sign, '--clearsign', '--output', join(dirname(release), 'InRelease'), release]);
    await k.gpg([...sign, '--armor', '--detach-sign', '--output', `${release}.gpg`, release]);
    await writeFile(publicKeyPath, await k.armored());
    await chmod(publicKeyPath, 0o644);
    for (const f of [join(dirname(release), 'InRelease'), `${release}.gpg`]) await chmod(f, 0o644);
  });
}

// ---- small utilities ----

async function mkdirs(path: string): Promise<void> {
  // mkdir's mode is masked by the umask; dpkg-deb wants 0755 directories (0700 is refused).
  const created = await mkdir(path, { recursive: true, mode: 0o755 });
  if (created === undefined) return;
  for (let d = path; d.length >= created.length; d = dirname(d)) await chmod(d, 0o755);
}

/** The regular file under root that an HTTP request path names, or undefined. */
async function resolveFile(
  root: string,
  url: string,
): Promise<{ path: string; size: number; mtime: Date } | undefined> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url, 'http://x').pathname);
  } catch {
    return undefined;
  }
  if (pathname.includes('\0')) return undefined;
  const rel = posix.normalize(pathname).replace(/^\/+/, '');
  if (rel === '' || rel.split('/').includes('..')) return undefined;
  // realpath: a symlink must not lead outside root either.
  const path = await realpath(join(root, rel)).catch(() => undefined);
  if (path === undefined) return undefined;
  const inside = relative(root, path);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..') return undefined;
  const s = await stat(path).catch(() => undefined);
  if (s === undefined || !s.isFile()) return undefined;
  return { path, size: s.size, mtime: s.mtime };
}
