// Who holds a state lock, whether that holder is provably gone, and waiting for a lock: shared by
// every backend.
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAge } from '../util/duration.js';
import { isMesoError, MesoError } from '../util/errors.js';
import type { LockInfo, StateBackend, StateLock } from './types.js';

const readOr = (read: () => string): string | undefined => {
  try {
    return read();
  } catch {
    return undefined;
  }
};

/** This boot of this machine (Linux); elsewhere undefined, and then no lock is ever taken over. */
const BOOT_ID = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()) || undefined;

/** The pid namespace: two containers with one hostname and one kernel do not see each other's pids. */
const pidNamespace = (): string | undefined => readOr(() => readlinkSync('/proc/self/ns/pid'));

/**
 * Field 22 of `/proc/<pid>/stat`, when the process started (clock ticks since boot): with the boot id
 * it tells a pid's first owner from a later process that reuses the number.
 */
export function processStartTime(pid: number): string | undefined {
  const stat = readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  // Field 2 (the command name, in parentheses) may hold spaces and ')': fields 3.. follow the last ')'.
  const close = stat?.lastIndexOf(')') ?? -1;
  if (stat === undefined || close < 0) return undefined;
  return stat
    .slice(close + 1)
    .trim()
    .split(/\s+/)[22 - 3];
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
  const startTime = processStartTime(process.pid);
  const pidNs = pidNamespace();
  return {
    id: randomUUID(),
    pid: process.pid,
    hostname: hostname(),
    user: userInfo().username,
    command,
    startedAt: new Date().toISOString(),
    ...(BOOT_ID === undefined ? {} : { bootId: BOOT_ID }),
    ...(startTime === undefined ? {} : { startTime }),
    ...(pidNs === undefined ? {} : { pidNamespace: pidNs }),
  };
}

/**
 * The holder is provably gone: it ran on this machine in this boot and pid namespace, and its pid is
 * absent or now belongs to a process that started at another time. A lock without those records (an
 * older meso wrote it) or from elsewhere is never called gone.
 */
export function holderGone(l: LockInfo): boolean {
  if (l.hostname !== hostname() || BOOT_ID === undefined || l.bootId !== BOOT_ID) return false;
  if (l.startTime === undefined || l.pidNamespace === undefined || l.pidNamespace !== pidNamespace())
    return false;
  const now = processStartTime(l.pid);
  return now === undefined ? !alive(l.pid) : now !== l.startTime;
}

export function describeLock(l: LockInfo): string {
  return `pid ${l.pid} of ${l.user}@${l.hostname} (\`${l.command}\`, since ${l.startedAt})`;
}

/** The one line a run says when it took over a dead holder's lock. */
export function takeoverNotice(l: LockInfo): string {
  return `took over the state lock of pid ${l.pid} (${l.user}@${l.hostname}, \`${l.command}\`, since ${l.startedAt}), which is no longer running`;
}

/** Only a holder on this machine can be known to be gone; elsewhere a lock is stale by its heartbeat alone. */
export function isStale(l: LockInfo): boolean {
  return l.hostname === hostname() && (!alive(l.pid) || holderGone(l));
}

/** How a backend with a heartbeat (S3) judges its age: older than `timeoutSeconds` is stale. */
export interface Heartbeat {
  timeoutSeconds: number;
  now?: number;
}

/** The refusal when the lock is taken; `lockName` says where the lock is (`the lock file X`). */
export function lockedError(
  location: string,
  lockName: string,
  held: LockInfo | undefined,
  heartbeat?: Heartbeat,
): MesoError {
  if (held === undefined) {
    return new MesoError('StateLocked', `state ${location} is locked (${lockName} is unreadable)`, {
      hint: 'wait for that run to finish; if it died, run `meso force-unlock FILE`',
    });
  }
  const gone = isStale(held);
  const renewed = held.renewedAt === undefined ? NaN : Date.parse(held.renewedAt);
  let age = '';
  let expired = false;
  if (heartbeat !== undefined && !Number.isNaN(renewed)) {
    const ms = (heartbeat.now ?? Date.now()) - renewed;
    expired = ms > heartbeat.timeoutSeconds * 1000;
    age = `; its heartbeat is ${formatAge(ms)} old`;
    if (expired) age += `, older than state.lockTimeoutSeconds (${heartbeat.timeoutSeconds} s): a stale lock`;
  }
  const message =
    `state ${location} is locked by ${describeLock(held)}` +
    (gone ? ', which is no longer running (a stale lock)' : '') +
    age;
  return new MesoError('StateLocked', message, {
    hint:
      gone || expired
        ? 'make sure no meso run is still working on this cluster, then run `meso force-unlock FILE`'
        : 'wait for that run to finish (`--lock-timeout 15m` waits for it); if it died, run `meso force-unlock FILE`',
  });
}

export interface LockWait {
  /** How long to keep trying while the lock is held; 0 fails at once. */
  timeoutMs: number;
  /** Between tries; 1 s unless a test says otherwise. */
  pollMs?: number;
  /** Stop waiting (Ctrl-C): the refusal is thrown as it stands. */
  signal?: AbortSignal;
  /** Called once, with the refusal, when the first try finds the lock held and there is time to wait. */
  onWait?: (held: MesoError) => void;
}

/** Take the lock, trying again while it is held until `timeoutMs` has passed (Terraform's `-lock-timeout`). */
export async function lockWaiting(backend: StateBackend, command: string, w: LockWait): Promise<StateLock> {
  const deadline = Date.now() + w.timeoutMs;
  for (let tries = 0; ; tries++) {
    try {
      return await backend.lock(command);
    } catch (e) {
      const left = deadline - Date.now();
      if (!isMesoError(e, 'StateLocked') || left <= 0 || w.signal?.aborted === true) throw e;
      if (tries === 0) w.onWait?.(e);
      try {
        await sleep(Math.min(w.pollMs ?? 1000, left), undefined, w.signal ? { signal: w.signal } : {});
      } catch {
        throw e;
      }
    }
  }
}
