// One host of the cluster, for `meso ssh` and `meso logs`: found by name in the spec and the state,
// reached through the session's connection pool, so host-key checks, keys, agent and bastion are
// exactly those of plan and apply. Also the pump between a remote process and local streams.
import type { Readable, Writable } from 'node:stream';
import type { DesiredService } from '../render/types.js';
import type { Spec } from '../spec/types.js';
import type { HostConnection } from '../transport/host.js';
import type { SshConnection } from '../transport/ssh.js';
import type { RemoteExit, RemoteProcess } from '../transport/ssh-stream.js';
import { MesoError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';
import { prepare } from './prepare.js';
import type { Say } from './prepare.js';
import { stateBackend } from './session.js';

export interface HostSession {
  host: string;
  /** The services meso runs on this host (from its roles), in start order. */
  services: readonly DesiredService[];
  connection: SshConnection;
  close(): Promise<void>;
}

/** Why a host cannot be reached by name, or undefined when it can (pure: tested without hosts). */
export function hostProblem(
  host: string,
  cluster: string,
  names: readonly string[],
  created: (name: string) => boolean,
  file: string,
): MesoError | undefined {
  if (!names.includes(host)) {
    const dym = didYouMean(host, names);
    return new MesoError(
      'UsageError',
      `unknown host '${host}' in cluster ${cluster}; its hosts are: ${names.join(', ')}`,
      { hint: `${dym === undefined ? '' : `${dym} `}name one of the hosts of ${file}` },
    );
  }
  if (!created(host)) {
    return new MesoError(
      'UsageError',
      `host ${host} is not in the state of cluster ${cluster}: it was not created or configured yet`,
      { hint: `run \`meso apply ${file}\` first` },
    );
  }
  return undefined;
}

const isSsh = (c: HostConnection): c is SshConnection =>
  typeof (c as { stream?: unknown }).stream === 'function';

/** Connect to `host`; an unknown host, or one not created yet, is a UsageError naming the hosts. */
export async function openHost(spec: Spec, specFile: string, host: string, say: Say): Promise<HostSession> {
  const backend = await stateBackend(spec, specFile);
  const p = await prepare(spec, specFile, backend, say, { lenient: true });
  try {
    const problem = hostProblem(
      host,
      spec.name,
      p.topology.hosts.map((h) => h.name),
      (n) => !p.toCreate.includes(n) && p.state.hosts[n] !== undefined,
      specFile,
    );
    if (problem !== undefined) throw problem;
    const connection = await p.pool.get(host);
    if (!isSsh(connection)) {
      throw new MesoError('Internal', `${host}: the connection cannot stream`, {
        hint: 'this is a bug in meso (src/engine/remote.ts)',
      });
    }
    return {
      host,
      services: p.desired.hosts.find((h) => h.host.name === host)?.services ?? [],
      connection,
      close: () => p.pool.closeAll(),
    };
  } catch (e) {
    await p.pool.closeAll();
    throw e;
  }
}

/** After an EOF on --follow's stdin, how long the host-side watcher gets before we hang up. */
const EOF_GRACE_MS = 2000;
/** After hanging up, how long we wait for the remote status before leaving without it. */
const HANGUP_WAIT_MS = 1000;

/** The local side of a remote process. */
export interface LocalStreams {
  /** Piped to the remote stdin (its end is the remote's EOF); undefined: the remote gets EOF at once. */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** Subscribe to the signals that end a session (SIGINT, SIGTERM, SIGHUP); returns the unsubscribe. */
export type Interrupts = (on: (signal: NodeJS.Signals) => void) => () => void;

export type Ending =
  | { kind: 'exit'; exit: RemoteExit }
  | { kind: 'interrupted'; signal: NodeJS.Signals }
  /** The reader of our stdout went away (`meso logs ... | head`). */
  | { kind: 'output-closed' };

/**
 * Copy the remote output to `io` byte for byte (with back-pressure) until the remote process ends.
 * On a signal: `eof` ends the remote stdin (a watcher on the host stops the command), then hangs
 * up after a grace period; `hangup` closes the channel at once.
 */
export async function pump(
  proc: RemoteProcess,
  io: LocalStreams,
  opts: { interrupts?: Interrupts; onInterrupt: 'eof' | 'hangup'; keepStdinOpen?: boolean },
): Promise<Ending> {
  let ending: Ending | undefined;
  proc.stdout.pipe(io.stdout, { end: false });
  proc.stderr.pipe(io.stderr, { end: false });
  if (io.stdin !== undefined) io.stdin.pipe(proc.stdin);
  else if (opts.keepStdinOpen !== true) proc.stdin.end();
  // Write errors on the remote stdin (the channel closed under it) are the exit's business.
  proc.stdin.on('error', () => undefined);

  // sshd closes a hung-up channel only once its command ends, which may be never: after hanging up
  // we wait a moment for the status, then leave (closing the connection ends the session).
  let gaveUp: (() => void) | undefined;
  const leave = new Promise<undefined>((resolve) => (gaveUp = () => resolve(undefined)));
  const timers: NodeJS.Timeout[] = [];
  const hangup = (signal?: NodeJS.Signals): void => {
    // Where sshd honours it, the command gets the signal; it sees a hang-up in any case.
    if (signal !== undefined) proc.signal(signal.slice(3));
    proc.close();
    timers.push(setTimeout(() => gaveUp?.(), HANGUP_WAIT_MS));
  };
  const onOutputError = (): void => {
    ending ??= { kind: 'output-closed' };
    // The remote output still arriving is dropped: a paused channel would never report its close.
    proc.stdout.unpipe(io.stdout);
    proc.stderr.unpipe(io.stderr);
    proc.stdout.resume();
    proc.stderr.resume();
    hangup();
  };
  io.stdout.on('error', onOutputError);
  io.stderr.on('error', onOutputError);
  const unsubscribe = opts.interrupts?.((signal) => {
    if (ending !== undefined) return;
    ending = { kind: 'interrupted', signal };
    if (opts.onInterrupt === 'hangup') return hangup(signal);
    proc.stdin.end();
    timers.push(setTimeout(() => hangup(), EOF_GRACE_MS));
  });
  try {
    const exit = await Promise.race([
      proc.exit.catch((e: unknown) => {
        // A channel we closed ourselves has no exit status: that is the ending we chose, not a loss.
        if (ending !== undefined) return undefined;
        throw e;
      }),
      leave,
    ]);
    ending ??= { kind: 'exit', exit: exit! };
  } finally {
    for (const t of timers) clearTimeout(t);
    unsubscribe?.();
    if (io.stdin !== undefined) io.stdin.unpipe(proc.stdin);
    proc.stdout.unpipe(io.stdout);
    proc.stderr.unpipe(io.stderr);
  }
  if (ending.kind !== 'output-closed') await flushed(io.stdout);
  io.stdout.off('error', onOutputError);
  io.stderr.off('error', onOutputError);
  return ending;
}

/** Resolves once everything written so far to `w` was handed to the system. */
function flushed(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (w.destroyed || w.writableEnded) return resolve();
    w.write('', () => resolve());
  });
}
