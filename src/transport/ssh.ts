// The SSH adapter behind HostConnection: node-ssh (ssh2) with OpenSSH-compatible host-key checking,
// key-file or agent auth, an optional bastion, bounded retries for transient network errors only,
// per-command timeouts, optional `sudo -n`, and round-trip counters.
// The pieces: ssh-session.ts (ssh2's types, a hop), ssh-verify.ts (host keys), ssh-connect.ts (connecting
// with retries), ssh-exec.ts (the connection and its commands).
import type { SshTarget } from './host.js';
import { connectHop, DEFAULT_RETRY } from './ssh-connect.js';
import type { RetryPolicy } from './ssh-connect.js';
import { SshHostConnection } from './ssh-exec.js';
import type { SshConnection } from './ssh-exec.js';
import { endClient } from './ssh-session.js';
import type { Hop, Session } from './ssh-session.js';
import { TransportStats } from './stats.js';

export { DEFAULT_RETRY } from './ssh-connect.js';
export type { RetryPolicy } from './ssh-connect.js';
export { remoteCommandLine } from './ssh-exec.js';
export type { SshConnection } from './ssh-exec.js';

export interface ConnectOptions {
  /** Where counters go; a fresh TransportStats when omitted (read it back from `connection.stats`). */
  stats?: TransportStats;
  /** Source of SSH_AUTH_SOCK (default process.env); tests pass their own agent. */
  env?: NodeJS.ProcessEnv;
  retry?: RetryPolicy;
  /** Timeout of a command that gives no timeoutMs (default 10 minutes; 0 for none). */
  defaultExecTimeoutMs?: number;
  /** After a timeout, how long a TERMed command gets before KILL (default 1 s). */
  killGraceMs?: number;
}

export async function connectSsh(target: SshTarget, options: ConnectOptions = {}): Promise<SshConnection> {
  const stats = options.stats ?? new TransportStats();
  const env = options.env ?? process.env;
  const retry = options.retry ?? DEFAULT_RETRY;
  const agent = target.useAgent ? env['SSH_AUTH_SOCK'] || undefined : undefined;

  let bastion: Session | undefined;
  if (target.bastion !== undefined) {
    const b = target.bastion;
    const hop: Hop = {
      label: `${target.name} (bastion ${b.host}:${b.port})`,
      host: b.host,
      port: b.port,
      user: b.user,
      privateKeyPath: b.privateKeyPath,
      agent,
      useAgent: target.useAgent,
      connectTimeoutMs: target.connectTimeoutMs,
      hostKey: b.hostKey,
      via: undefined,
    };
    bastion = await connectHop(hop, stats.counters(`bastion ${b.user}@${b.host}:${b.port}`), retry);
  }
  const hop: Hop = {
    label: target.name,
    host: target.host,
    port: target.port,
    user: target.user,
    privateKeyPath: target.privateKeyPath,
    agent,
    useAgent: target.useAgent,
    connectTimeoutMs: target.connectTimeoutMs,
    hostKey: target.hostKey,
    via: bastion,
  };
  const counters = stats.counters(target.name);
  let session: Session;
  try {
    session = await connectHop(hop, counters, retry);
  } catch (e) {
    if (bastion !== undefined) await endClient(bastion.client);
    throw e;
  }
  return new SshHostConnection(target, session, bastion, counters, {
    defaultTimeoutMs: options.defaultExecTimeoutMs ?? 600_000,
    killGraceMs: options.killGraceMs ?? 1000,
  });
}
