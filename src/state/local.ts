import { randomUUID } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { MesoError } from '../util/errors.js';
import { mkdirs, writeFileAtomic } from '../util/fs.js';
import { scrubbedBackup, scrubSecrets, stateText } from './secrets.js';
import type { ClusterState, LockInfo, StateBackend, StateLock } from './types.js';

/** `.meso/<name>.state.json` next to the spec, unless `state.path` says otherwise. */
export function defaultStatePath(specFile: string, cluster: string): string {
  return join(dirname(specFile), '.meso', `${cluster}.state.json`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock for this process; every backend writes the same record. */
export function newLockInfo(command: string): LockInfo {
  return {
    id: randomUUID(),
    pid: process.pid,
    hostname: hostname(),
    user: userInfo().username,
    command,
    startedAt: new Date().toISOString(),
  };
}

export function describeLock(l: LockInfo): string {
  return `pid ${l.pid} of ${l.user}@${l.hostname} (\`${l.command}\`, since ${l.startedAt})`;
}

/** Only a holder on this machine can be known to be gone; elsewhere a lock is never called stale. */
export function isStale(l: LockInfo): boolean {
  return l.hostname === hostname() && !alive(l.pid);
}

/** The refusal when the lock is taken; `lockName` says where the lock is (`the lock file X`). */
export function lockedError(location: string, lockName: string, held: LockInfo | undefined): MesoError {
  const stale = held !== undefined && isStale(held);
  return new MesoError(
    'StateLocked',
    held === undefined
      ? `state ${location} is locked (${lockName} is unreadable)`
      : stale
        ? `state ${location} is locked by ${describeLock(held)}, which is no longer running (a stale lock)`
        : `state ${location} is locked by ${describeLock(held)}`,
    {
      hint: stale
        ? 'make sure no meso run is still working on this cluster, then run `meso force-unlock FILE`'
        : 'wait for that run to finish; if it died, run `meso force-unlock FILE`',
    },
  );
}

/**
 * State in a local JSON file, written atomically. The lock is a file created exclusively beside it;
 * a lock whose process is gone (same machine) is reported as stale, never silently broken.
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
    try {
      const fh = await open(this.lockPath, 'wx', 0o600);
      await fh.writeFile(`${JSON.stringify(info, null, 2)}\n`);
      await fh.close();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      throw lockedError(this.location, `the lock file ${this.lockPath}`, await this.readLock());
    }
    const release = async (): Promise<void> => {
      const held = await this.readLock();
      if (held?.id === info.id) await rm(this.lockPath, { force: true });
    };
    return { info, release };
  }

  async forceUnlock(): Promise<LockInfo | undefined> {
    const held = await this.readLock();
    await rm(this.lockPath, { force: true });
    return held;
  }

  private async readLock(): Promise<LockInfo | undefined> {
    try {
      return JSON.parse(await readFile(this.lockPath, 'utf8')) as LockInfo;
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
