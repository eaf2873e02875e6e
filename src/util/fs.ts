import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { MesoError } from './errors.js';

/** A path as people write it: `~/` is the home directory. */
export const expandHome = (p: string): string => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);

/** meso's cache directory: `$MESO_CACHE_DIR`, else `$XDG_CACHE_HOME/meso`, else `~/.cache/meso`. */
export const mesoCacheDir = (): string =>
  process.env['MESO_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'meso');

function unwritable(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === undefined) return e;
  return new MesoError('OutputUnwritable', `cannot write ${path}: ${code}`, {
    hint: 'choose a path you can write to',
    cause: e,
  });
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir can loop forever on some special file
 * systems (under /proc it keeps retrying), and every failure here must end with an error.
 */
export async function mkdirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      await mkdir(d);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') break;
      if (code !== 'ENOENT' || dirname(d) === d) throw e;
      missing.push(d);
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * The temporary files `writeFileAtomic(path)` makes: `.<name>.<12 hex>.meso-tmp` beside `path`. A
 * process killed between the write and the rename leaves one; whoever owns `path` (the state's lock
 * holder) may remove them.
 */
export const isTempOf = (path: string, file: string): boolean =>
  file.startsWith(`.${basename(path)}.`) &&
  /^\.[0-9a-f]{12}\.meso-tmp$/.test(file.slice(basename(path).length + 1));

/** Write a file so that readers see the old or the new content, never half of it. */
export async function writeFileAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  try {
    await mkdirs(dirname(path));
  } catch (e) {
    throw unwritable(path, e);
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.meso-tmp`);
  try {
    await writeFile(tmp, content, { mode });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw unwritable(path, e);
  }
}
