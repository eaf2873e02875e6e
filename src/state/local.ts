import { randomUUID } from 'node:crypto';
import { link, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MesoError } from '../util/errors.js';
import { isTempOf, mkdirs, writeFileAtomic } from '../util/fs.js';
import { scrubbedBackup, scrubSecrets, stateText } from './secrets.js';
import { holderGone, lockedError, newLockInfo } from './lock.js';
import type { ClusterState, LockInfo, StateBackend, StateLock } from './types.js';

/** `.meso/<name>.state.json` next to the spec, unless `state.path` says otherwise. */
export function defaultStatePath(specFile: string, cluster: string): string {
  return join(dirname(specFile), '.meso', `${cluster}.state.json`);
}

/** Links are not everywhere (some network and FUSE file systems): there the file is opened 'wx'. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Create `path` with `body` unless it exists; false when it does. The body is written to a temporary
 * file first and hard-linked into place, so no reader ever sees the file empty or half written.
 */
async function createExclusive(path: string, body: string): Promise<boolean> {
  const tmp = `${path}.${randomUUID()}.tmp`;
  await writeFile(tmp, body, { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.has(code)) throw e;
  } finally {
    await rm(tmp, { force: true });
  }
  try {
    const fh = await open(path, 'wx', 0o600);
    await fh.writeFile(body);
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** A guard file is named after the id it guards; ids are UUIDs, but a lock file can be edited. */
const guardKey = (id: string): string => id.replace(/[^A-Za-z0-9-]/g, '_').slice(0, 64);

/**
 * State in a local JSON file, written atomically. The lock is a file created exclusively beside it.
 * A lock whose holder is provably gone (this machine, this boot, its pid absent or reused) is taken
 * over; any other (a live holder, another machine, a lock of an older meso) needs force-unlock.
 */
export class LocalStateBackend implements StateBackend {
  readonly location: string;
  private readonly lockPath: string;

  constructor(private readonly path: string) {
    this.location = path;
    this.lockPath = path.replace(/\.state\.json$/, '') + '.lock';
  }

  async read(): Promise<ClusterState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new MesoError('StateUnreadable', `cannot read state ${this.path}: ${(e as Error).message}`);
    }
    return parseState(
      text,
      this.path,
      'restore it from a backup (meso keeps the previous one as .backup) or remove it to start afresh',
    );
  }

  async write(state: ClusterState): Promise<void> {
    const next = scrubSecrets(state);
    const previous = await readFile(this.path, 'utf8').catch(() => undefined);
    // The backup keeps no hash the new state drops (a state from before sensitive records).
    if (previous !== undefined)
      await writeFileAtomic(`${this.path}.backup`, scrubbedBackup(previous, next) ?? previous, 0o600);
    await writeFileAtomic(this.path, stateText(next), 0o600);
  }

  async lock(command: string): Promise<StateLock> {
    await mkdirs(dirname(this.lockPath));
    const info = newLockInfo(command);
    const body = `${JSON.stringify(info, null, 2)}\n`;
    let takenOver: LockInfo | undefined;
    if (!(await createExclusive(this.lockPath, body))) {
      const held = await this.readLock(this.lockPath);
      if (held === undefined || !holderGone(held) || !(await this.takeOver(held, body))) {
        const now = await this.readLock(this.lockPath);
        throw lockedError(this.location, `the lock file ${this.lockPath}`, now);
      }
      takenOver = held;
    }
    // A run killed while saving left its temporary copy of the state (or its backup) behind.
    await this.sweepTemp();
    const release = async (): Promise<void> => {
      const held = await this.readLock(this.lockPath);
      if (held?.id === info.id) await rm(this.lockPath, { force: true });
    };
    return { info, release, ...(takenOver === undefined ? {} : { takenOver }) };
  }

  /**
   * Replace the lock of a gone holder, racing other runs that found it gone too: only the run that
   * creates `<lock>.takeover-<id of the dead lock>` may replace it, and only while the lock still is
   * that one. A guard whose own owner died mid-takeover is passed the same way, by creating
   * `<lock>.takeover-<id of that owner>`: every guard name is created once, so one run wins each step.
   */
  private async takeOver(dead: LockInfo, body: string): Promise<boolean> {
    let key = dead.id;
    for (let depth = 0; depth < 8; depth++) {
      const guard = `${this.lockPath}.takeover-${guardKey(key)}`;
      if (await createExclusive(guard, body)) {
        try {
          // Lock ids are never reused: once it is not the dead one, someone else took it.
          if ((await this.readLock(this.lockPath))?.id !== dead.id) return false;
          await writeFileAtomic(this.lockPath, body, 0o600);
          await this.sweep(guard, false);
          return true;
        } finally {
          await rm(guard, { force: true });
        }
      }
      const owner = await this.readLock(guard);
      // Unreadable or alive: a takeover is under way; the lock stays as it is for this try.
      if (owner === undefined || !holderGone(owner)) return false;
      key = owner.id;
    }
    return false;
  }

  /**
   * Remove the guards of earlier takeovers whose runs died (all but `keep`); force-unlock also removes
   * the temporary files of runs killed while creating one. Safe once the lock is someone's own: a
   * guard only counts while the lock is still the one its takeover started from.
   */
  private async sweep(keep: string | undefined, tmpToo: boolean): Promise<void> {
    const base = `${basename(this.lockPath)}.`;
    const dir = dirname(this.lockPath);
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, n);
      const tmp = n.startsWith(base) && n.endsWith('.tmp');
      const guard = n.startsWith(`${base}takeover-`) && !tmp;
      if ((guard && path !== keep) || (tmp && tmpToo)) await rm(path, { force: true });
    }
  }

  /** Temporary files of this state and its backup (`writeFileAtomic`): ours to remove once we hold the lock. */
  private async sweepTemp(): Promise<void> {
    const dir = dirname(this.path);
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (isTempOf(this.path, n) || isTempOf(`${this.path}.backup`, n))
        await rm(join(dir, n), { force: true });
    }
  }

  async forceUnlock(): Promise<LockInfo | undefined> {
    const held = await this.readLock(this.lockPath);
    await rm(this.lockPath, { force: true });
    await this.sweep(undefined, true);
    return held;
  }

  private async readLock(path: string): Promise<LockInfo | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
    } catch {
      return undefined;
    }
  }
}

/** A state document, checked; `hint` says where its backup is. */
export function parseState(text: string, location: string, hint: string): ClusterState {
  try {
    const state = JSON.parse(text) as ClusterState;
    if (state.formatVersion !== '1') throw new Error(`unknown format_version ${String(state.formatVersion)}`);
    return state;
  } catch (e) {
    throw new MesoError('StateUnreadable', `state ${location} is not valid: ${(e as Error).message}`, {
      hint,
    });
  }
}

export function emptyState(cluster: string): ClusterState {
  return {
    formatVersion: '1',
    cluster,
    serial: 0,
    lineage: randomUUID(),
    updatedAt: new Date().toISOString(),
    hosts: {},
  };
}
