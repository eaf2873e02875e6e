import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Assets } from '../render/types.js';
import type { Spec } from '../spec/types.js';
import { MesoError } from '../util/errors.js';
import { expandHome, mesoCacheDir, writeFileAtomic } from '../util/fs.js';

/** A path as written in cluster.yaml: `~/` is the home directory, relative paths are from the spec's directory. */
function specPath(specFile: string, p: string): string {
  if (p.startsWith('~/')) return expandHome(p);
  return isAbsolute(p) ? p : resolve(dirname(specFile), p);
}

/**
 * Only regular files are read: a device or a pipe named in the spec (`install.archive: /dev/zero`)
 * would be read forever. The error reads like a failed open, `cannot read PATH: not a regular file`.
 */
function notRegular(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${path} is not a regular file`), { code: 'not a regular file' });
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Where meso keeps the hashes of large files it read (an archive: ~1 s to hash 80 MB). */
export function hashCachePath(): string {
  return join(mesoCacheDir(), 'sha256.json');
}

/**
 * A file's sha256, from a cache keyed as git keys its index: device, inode, size, and modification and
 * change times in nanoseconds; any write to the file changes its ctime, so a stale entry is never
 * used. The cache is an optimisation: one that cannot be read or written is ignored.
 */
export async function fileSha256(path: string, cacheFile = hashCachePath()): Promise<string> {
  const st = await stat(path, { bigint: true });
  if (!st.isFile()) throw notRegular(path);
  const key = [resolve(path), st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].join(':');
  let cache: Record<string, string>;
  try {
    cache = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, string>;
  } catch {
    cache = {};
  }
  const known = cache[key];
  if (typeof known === 'string' && /^[0-9a-f]{64}$/.test(known)) return known;
  const sha256 = await hashFile(path);
  try {
    // One entry per path: the newest.
    const prefix = `${resolve(path)}:`;
    const kept = Object.entries(cache).filter(([k]) => !k.startsWith(prefix));
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeFileAtomic(cacheFile, `${JSON.stringify(Object.fromEntries([...kept, [key, sha256]]))}\n`);
  } catch {
    // no cache this time
  }
  return sha256;
}

async function text(specFile: string, p: string, field: string, lenient: boolean): Promise<string> {
  const path = specPath(specFile, p);
  let content: string;
  try {
    if (!(await stat(path)).isFile()) throw notRegular(path);
    content = await readFile(path, 'utf8');
  } catch (e) {
    if (lenient) return `(${path} could not be read)\n`;
    throw new MesoError(
      'AssetUnavailable',
      `${field}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        hint: `put the file there, or change ${field} (relative paths are from the spec's directory)`,
      },
    );
  }
  if (field === 'install.repository.key' && !content.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    throw new MesoError('AssetUnavailable', `${field}: ${path} is not an ASCII-armored OpenPGP public key`, {
      hint: `export it armored: gpg --armor --export KEYID > ${p}`,
    });
  }
  return content;
}

/**
 * Read the files on this machine that the spec names (the repository key, certificates to upload)
 * and hash the archive, so that rendering stays pure. Secrets are not read here: they are resolved
 * only when a plan is made against the hosts, and at apply time.
 */
export async function readAssets(
  spec: Spec,
  specFile: string,
  opts: { lenient?: boolean } = {},
): Promise<Assets> {
  // lenient: for commands that change no file (destroy, status), a missing file is no error.
  const lenient = opts.lenient === true;
  const texts = new Map<string, string>();
  const key = spec.install.repository?.key;
  if (key !== undefined && ['apt', 'yum', 'archive'].includes(spec.install.method))
    texts.set(key, await text(specFile, key, 'install.repository.key', lenient));
  const up = spec.security.ssl?.upload;
  if (up?.cert !== undefined)
    texts.set(up.cert, await text(specFile, up.cert, 'security.ssl.upload.cert', lenient));
  if (up?.ca !== undefined) texts.set(up.ca, await text(specFile, up.ca, 'security.ssl.upload.ca', lenient));
  const addonArchives = await addonArchiveAssets(spec, specFile, lenient);
  const more = addonArchives.size === 0 ? {} : { addonArchives };
  const archive = spec.install.method === 'archive' ? spec.install.archive : undefined;
  if (archive === undefined) return { text: texts, ...more };
  const path = specPath(specFile, archive);
  let sha256: string;
  try {
    sha256 = await fileSha256(path);
  } catch (e) {
    if (spec.install.sha256 !== undefined)
      return { text: texts, archive: { path, sha256: spec.install.sha256 }, ...more };
    throw new MesoError(
      'AssetUnavailable',
      `install.archive: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      { hint: 'build or download the Mesos tarball there, or give install.sha256 to plan without it' },
    );
  }
  if (spec.install.sha256 !== undefined && spec.install.sha256 !== sha256) {
    throw new MesoError(
      'AssetUnavailable',
      `install.archive: ${path} has sha256 ${sha256}, not the ${spec.install.sha256} install.sha256 expects`,
      { hint: 'use the right tarball, or update install.sha256' },
    );
  }
  return { text: texts, archive: { path, sha256 }, ...more };
}

/**
 * Add-ons' tarballs: the path from the spec's folder, checked against the sha256 the spec pins
 * when the file is there (a plan may run where it is not: the pinned sha256 then stands).
 */
async function addonArchiveAssets(
  spec: Spec,
  specFile: string,
  lenient: boolean,
): Promise<Map<string, { path: string; sha256: string }>> {
  const out = new Map<string, { path: string; sha256: string }>();
  for (const [i, a] of spec.addons.entries()) {
    if (a.install.kind !== 'archive') continue;
    const path = specPath(specFile, a.install.path);
    let sha256: string;
    try {
      sha256 = await fileSha256(path);
    } catch {
      out.set(a.name, { path, sha256: a.install.sha256 });
      continue;
    }
    if (!lenient && sha256 !== a.install.sha256)
      throw new MesoError(
        'AssetUnavailable',
        `addons[${i}].archive: ${path} has sha256 ${sha256}, not the ${a.install.sha256} addons[${i}].sha256 pins`,
        { hint: 'use the right tarball, or update the sha256' },
      );
    out.set(a.name, { path, sha256 });
  }
  return out;
}
