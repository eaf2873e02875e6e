// The fake signed apt repository, checked with this machine's own apt in a throwaway apt root (the
// system's sources, lists and keyrings are neither read nor written).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { aptRepoToolsMissing, buildAptRepo, serveDirectory } from './helpers/apt-repo.js';
import type { AptRepo, FakePackage } from './helpers/apt-repo.js';

function skipReason(): string | false {
  // With CI=true nothing is skipped: missing tools must fail loudly there.
  if (process.env['CI'] === 'true') return false;
  const missing = aptRepoToolsMissing().concat(['apt-get', 'apt-cache'].filter((t) => !hasAptTool(t)));
  if (missing.length === 0) return false;
  return `missing ${missing.join(', ')} (apt-get install apt-utils gpg gpg-agent)`;
}

function hasAptTool(name: string): boolean {
  return ['/usr/bin', '/bin'].some((d) => existsSync(join(d, name)));
}

const PACKAGES: FakePackage[] = [
  {
    name: 'libmeso-fake',
    version: '1.0-1',
    files: { '/usr/lib/meso-fake/libmeso-fake.txt': { content: 'lib\n' } },
  },
  {
    name: 'meso-fake',
    version: '1.11.0-1',
    depends: ['libmeso-fake (>= 1.0)'],
    files: { '/usr/bin/meso-fake': { content: '#!/bin/sh\necho 1.11.0\n', mode: 0o755 } },
  },
  {
    name: 'meso-fake',
    version: '1.11.1-1',
    depends: ['libmeso-fake (>= 1.0)'],
    description: 'fake meso\nA second version of the same package.',
    files: {
      '/usr/bin/meso-fake': { content: '#!/bin/sh\necho 1.11.1\n', mode: 0o755 },
      '/etc/meso-fake/meso-fake.conf': { content: 'x=1\n' },
    },
  },
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Async on purpose: apt fetches from a server in this very process, so a spawnSync would deadlock.
function run(cmd: string, args: string[], cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A throwaway apt root with only `sourcesLine` in it. Dir= moves state, cache and etc under root; the
 * source/trusted parts are switched off, and lists/partial and archives/partial must exist beforehand.
 * The root is 0755 so apt's _apt download sandbox can reach it (else: "Download is performed unsandboxed").
 */
async function aptRoot(sourcesLine: string) {
  const root = await mkdtemp(join(tmpdir(), 'meso-apt-root-'));
  await chmod(root, 0o755);
  for (const d of ['var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'etc/apt/preferences.d'])
    await mkdir(join(root, d), { recursive: true, mode: 0o755 });
  await writeFile(join(root, 'status'), '');
  await writeFile(join(root, 'sources.list'), `${sourcesLine}\n`);
  const opts = [
    `Dir=${root}`,
    `Dir::State::status=${join(root, 'status')}`,
    `Dir::Etc::SourceList=${join(root, 'sources.list')}`,
    'Dir::Etc::SourceParts=-',
    'Dir::Etc::Trusted=-',
    'Dir::Etc::TrustedParts=-',
  ].flatMap((o) => ['-o', o]);
  return {
    root,
    apt: (tool: 'apt-get' | 'apt-cache', ...args: string[]) => run(tool, [...opts, ...args], root),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

function sourcesLine(repo: AptRepo, url: string): string {
  return `deb [signed-by=${repo.publicKeyPath}] ${url} ${repo.suite} ${repo.components.join(' ')}`;
}

function problems(r: Run): string[] {
  return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /^(W|E|Err):/.test(l));
}

void describe('fake signed apt repository', { skip: skipReason(), timeout: 60_000 }, () => {
  let repo: AptRepo;
  let server: { url: string; close: () => Promise<void> };
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    repo = await buildAptRepo(PACKAGES);
    cleanups.push(() => rm(repo.dir, { recursive: true, force: true }));
    server = await serveDirectory(repo.dir, '127.0.0.1');
    cleanups.push(() => server.close());
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  void test('layout: pool/main .debs, Packages with relative Filename:, signed Release', async () => {
    assert.ok(existsSync(join(repo.dir, 'pool/main/m/meso-fake/meso-fake_1.11.0-1_all.deb')));
    assert.ok(existsSync(join(repo.dir, 'pool/main/m/meso-fake/meso-fake_1.11.1-1_all.deb')));
    assert.ok(existsSync(join(repo.dir, 'pool/main/libm/libmeso-fake/libmeso-fake_1.0-1_all.deb')));
    const index = await readFile(join(repo.dir, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
    const filenames = index.split('\n').filter((l) => l.startsWith('Filename: '));
    assert.equal(filenames.length, 3);
    for (const f of filenames) assert.match(f, /^Filename: pool\/main\/[^/]+\/[^/]+\/[^/]+_all\.deb$/);
    const inRelease = await readFile(join(repo.dir, 'dists/stable/InRelease'), 'utf8');
    assert.match(inRelease, /^-----BEGIN PGP SIGNED MESSAGE-----\n/);
    for (const field of ['Suite: stable', 'Codename: stable', 'Components: main', 'Architectures: amd64 all'])
      assert.ok(inRelease.includes(`\n${field}\n`), field);
    assert.match(inRelease, /\nDate: /);
    assert.ok(existsSync(join(repo.dir, 'dists/stable/Release.gpg')));
    const key = await readFile(repo.publicKeyPath, 'utf8');
    assert.match(key, /^-----BEGIN PGP PUBLIC KEY BLOCK-----\n/);
    assert.match(repo.publicKeyPath, /\.asc$/);
  });

  void test('apt-get update accepts it with Signed-By, and apt sees both versions', async () => {
    const apt = await aptRoot(sourcesLine(repo, server.url));
    cleanups.push(apt.remove);
    const update = await apt.apt('apt-get', 'update');
    assert.equal(update.code, 0, update.stdout + update.stderr);
    assert.deepEqual(problems(update), [], update.stdout + update.stderr);

    const madison = await apt.apt('apt-cache', 'madison', 'meso-fake');
    assert.equal(madison.code, 0, madison.stderr);
    const versions = madison.stdout
      .split('\n')
      .filter((l) => l.includes('|'))
      .map((l) => l.split('|')[1]?.trim());
    assert.deepEqual(versions.sort(), ['1.11.0-1', '1.11.1-1']);
    assert.ok(madison.stdout.includes(`${server.url.replace(/\/$/, '')} stable/main amd64 Packages`));

    // What a host does next: resolve Depends, pick the newest (or a pinned) version, download the .debs.
    const sim = await apt.apt('apt-get', '-s', 'install', 'meso-fake');
    assert.equal(sim.code, 0, sim.stdout + sim.stderr);
    assert.match(sim.stdout, /^Inst libmeso-fake \(1\.0-1 meso-test:stable \[all\]\)/m);
    assert.match(sim.stdout, /^Inst meso-fake \(1\.11\.1-1 meso-test:stable \[all\]\)/m);
    const pinned = await apt.apt('apt-get', '-y', '--download-only', 'install', 'meso-fake=1.11.0-1');
    assert.equal(pinned.code, 0, pinned.stdout + pinned.stderr);
    assert.deepEqual(problems(pinned), [], pinned.stdout + pinned.stderr);
    const archives = join(apt.root, 'var/cache/apt/archives');
    const deb = join(archives, 'meso-fake_1.11.0-1_all.deb');
    assert.ok(existsSync(join(archives, 'libmeso-fake_1.0-1_all.deb')));
    const contents = await run('dpkg-deb', ['--contents', deb]);
    assert.equal(contents.code, 0, contents.stderr);
    assert.match(contents.stdout, /^-rwxr-xr-x root\/root .* \.\/usr\/bin\/meso-fake$/m);
    const info = await run('dpkg-deb', ['--field', deb, 'Depends', 'Architecture']);
    assert.equal(info.stdout, 'Depends: libmeso-fake (>= 1.0)\nArchitecture: all\n');
  });

  void test('a Packages file changed after signing fails apt-get update with a hash mismatch', async () => {
    const bad = await tamperedCopy(async (dir) => {
      const binary = join(dir, 'dists/stable/main/binary-amd64');
      const index = await readFile(join(binary, 'Packages'), 'utf8');
      const changed = index.replace('Version: 1.11.1-1', 'Version: 1.11.9-1');
      assert.notEqual(changed, index);
      await writeFile(join(binary, 'Packages'), changed);
      await writeFile(join(binary, 'Packages.gz'), gzipSync(changed));
    });
    const apt = await aptRoot(sourcesLine(repo, bad.url));
    cleanups.push(apt.remove);
    const update = await apt.apt('apt-get', 'update');
    assert.notEqual(update.code, 0, update.stdout + update.stderr);
    assert.match(update.stdout + update.stderr, /Hash Sum mismatch|File has unexpected size/);
    const madison = await apt.apt('apt-cache', 'madison', 'meso-fake');
    assert.equal(madison.stdout.trim(), '', 'no index of the tampered repo may be used');
  });

  void test('an InRelease changed after signing fails apt-get update on the signature', async () => {
    const bad = await tamperedCopy(async (dir) => {
      const path = join(dir, 'dists/stable/InRelease');
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replace('\nLabel: meso-test\n', '\nLabel: meso-tesT\n'));
    });
    const apt = await aptRoot(sourcesLine(repo, bad.url));
    cleanups.push(apt.remove);
    const update = await apt.apt('apt-get', 'update');
    assert.notEqual(update.code, 0, update.stdout + update.stderr);
    assert.match(update.stdout + update.stderr, /BADSIG|not signed/);
  });

  void test('serveDirectory serves files only: 404 for directories, missing files and escapes', async () => {
    const get = async (path: string, method = 'GET') => {
      const r = await fetch(new URL(path, server.url), { method });
      return { status: r.status, body: await r.text(), length: r.headers.get('content-length') };
    };
    const release = await get('dists/stable/Release');
    assert.equal(release.status, 200);
    assert.equal(release.body, await readFile(join(repo.dir, 'dists/stable/Release'), 'utf8'));
    const head = await get('dists/stable/Release', 'HEAD');
    assert.deepEqual(
      [head.status, head.body, head.length],
      [200, '', String(Buffer.byteLength(release.body))],
    );
    for (const path of [
      '',
      'dists/',
      'dists/stable',
      'nope',
      '%2e%2e/%2e%2e/etc/passwd',
      '..%2f..%2fetc%2fpasswd',
    ])
      assert.equal((await get(path)).status, 404, path);
    assert.equal((await get('dists/stable/Release', 'POST')).status, 405);
  });

  /** A copy of the repo, changed by `change` after signing, served on its own port. */
  async function tamperedCopy(change: (dir: string) => Promise<void>): Promise<{ url: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'meso-apt-bad-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await cp(repo.dir, dir, { recursive: true });
    await chmod(dir, 0o755);
    await change(dir);
    const s = await serveDirectory(dir, '127.0.0.1');
    cleanups.push(() => s.close());
    return { url: s.url };
  }
});
