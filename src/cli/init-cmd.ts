import { randomBytes } from 'node:crypto';
import { link, open, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../spec/diagnostics.js';
import { INIT_DEFAULTS, initSpec } from '../spec/init.js';
import { MesoError } from '../util/errors.js';
import type { Io } from './io.js';

export interface InitCmdOptions {
  provider?: string;
  masters?: string;
  agents?: string;
  name?: string;
  out?: string;
}

// dist/src/cli/ -> the package's schema/, which the file's yaml-language-server line points at.
const SCHEMA = fileURLToPath(new URL('../../../schema/cluster.schema.json', import.meta.url));

function count(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,6}$/.test(value))
    throw new MesoError('UsageError', `${flag} '${value}' is not a number of hosts`, {
      hint: `give a whole number, e.g. ${flag} 3`,
    });
  return Number(value);
}

function unwritable(out: string, e: unknown): MesoError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EEXIST')
    return new MesoError('OutputExists', `${out} already exists; meso init never overwrites a file`, {
      hint: 'choose another path with --out, or move the file away first',
    });
  const why = code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : code;
  return new MesoError('OutputUnwritable', `cannot write ${out}: ${String(why)}`, {
    hint: 'choose a path in a directory you can write to with --out',
    cause: e,
  });
}

/**
 * Write `text` as `path` only if nothing is there, and never half of it: the text goes to a temporary
 * file beside it, which is then hard-linked to `path` (link fails if `path` exists, with no window
 * between a check and the write). Where hard links are not supported, an exclusive create.
 */
async function writeNew(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.meso-tmp`);
  try {
    const h = await open(tmp, 'wx', 0o644);
    try {
      await h.writeFile(text);
      await h.sync();
    } finally {
      await h.close();
    }
    try {
      await link(tmp, path);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    }
    const h2 = await open(path, 'wx', 0o644);
    try {
      await h2.writeFile(text);
    } finally {
      await h2.close();
    }
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** `meso init`: a commented cluster.yaml that `meso validate` accepts, never over an existing file. */
export async function initCommand(opts: InitCmdOptions, io: Io): Promise<number> {
  const out = opts.out ?? INIT_DEFAULTS.out;
  const provider = opts.provider ?? INIT_DEFAULTS.provider;
  const result = initSpec({
    provider,
    masters: count('--masters', opts.masters, INIT_DEFAULTS.masters),
    agents: count('--agents', opts.agents, INIT_DEFAULTS.agents),
    ...(opts.name === undefined ? {} : { name: opts.name }),
    schemaRef: relative(dirname(resolve(out)), SCHEMA),
    file: out,
  });
  try {
    await writeNew(out, result.text);
  } catch (e) {
    throw unwritable(out, e);
  }
  for (const w of result.warnings) io.err(`${formatDiagnostic(w)}\n`);
  const lines = (ls: readonly string[]): string => ls.map((l) => `  ${l}\n`).join('');
  io.out(
    `wrote ${out} (provider ${provider}). Next steps:\n${lines(result.next)}` +
      `Before apply:\n${lines(result.before)}`,
  );
  return 0;
}
