// Taking the state lock for a command that changes the cluster: waiting for it with --lock-timeout,
// and saying so when a dead holder's lock was taken over.
import { lockWaiting, takeoverNotice } from '../state/lock.js';
import type { StateBackend, StateLock } from '../state/types.js';
import { formatAge } from '../util/duration.js';
import type { Say } from './prepare.js';

export interface LockOptions {
  /** Recorded with the lock, e.g. `meso apply cluster.yaml`. */
  command: string;
  /** --lock-timeout: how long to wait for a held lock; 0 or absent fails at once. */
  lockTimeoutMs?: number;
  /** Between tries while waiting (1 s); tests make it short. */
  lockPollMs?: number;
}

export async function takeLock(
  backend: StateBackend,
  opts: LockOptions,
  say: Say,
  signal?: AbortSignal,
): Promise<StateLock> {
  const timeoutMs = opts.lockTimeoutMs ?? 0;
  const lock = await lockWaiting(backend, opts.command, {
    timeoutMs,
    ...(opts.lockPollMs === undefined ? {} : { pollMs: opts.lockPollMs }),
    ...(signal === undefined ? {} : { signal }),
    onWait: (held) => say('lock', `${held.message}; waiting up to ${formatAge(timeoutMs)} for it`),
  });
  if (lock.takenOver !== undefined) {
    const t = lock.takenOver;
    say('notice', takeoverNotice(t), { pid: t.pid, hostname: t.hostname, command: t.command });
  }
  return lock;
}
