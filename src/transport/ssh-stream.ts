// A remote process with its streams open: what `meso ssh` and `meso logs` run. Unlike exec, nothing is
// buffered, no timeout applies, and a terminal can be requested (an interactive shell, like `ssh -t`).
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { MesoError } from '../util/errors.js';
import { errorText } from './ssh-session.js';
import type { Session, Ssh2Channel } from './ssh-session.js';

/** The terminal asked of the server: its type ($TERM) and size. */
export interface PtyRequest {
  term: string;
  rows: number;
  cols: number;
}

export interface StreamOptions {
  /** The full remote command line, already quoted; undefined: the user's login shell. */
  command?: string;
  /** Ask for a terminal (then stderr arrives merged into stdout, as with `ssh -t`). */
  pty?: PtyRequest;
  /** Run the command as root, as exec does (`sudo -n` when the SSH user is not root). */
  asRoot?: boolean;
}

/** How a remote process ended: its exit code, or 128 + n when signal n killed it. */
export interface RemoteExit {
  code: number;
  /** The signal's name (`SIGTERM`, `SIGKILL`, ...) when a signal ended it. */
  signal?: string;
}

export interface RemoteProcess {
  /** Bytes for the remote stdin; end() sends EOF. */
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Empty when a terminal was requested. */
  readonly stderr: Readable;
  /** A new terminal size (after SIGWINCH). */
  resize(rows: number, cols: number): void;
  /** Ask sshd to send the remote process a signal (`INT`, `TERM`, ...); sshd may ignore it. */
  signal(name: string): void;
  /** Hang up: close the channel, so the remote side sees its session end. */
  close(): void;
  /** Settles when the channel closes: the exit status, or SshConnectionLost without one. */
  readonly exit: Promise<RemoteExit>;
}

/** ssh2 client calls this file needs beyond those of ssh-session.ts. */
interface StreamClient {
  exec(
    command: string,
    opts: { pty?: PtyRequest | false },
    cb: (err: Error | undefined, channel: StreamChannel) => void,
  ): void;
  shell(
    window: { term: string; rows: number; cols: number } | false,
    cb: (err: Error | undefined, channel: StreamChannel) => void,
  ): void;
}

interface StreamChannel extends Ssh2Channel {
  setWindow(rows: number, cols: number, height: number, width: number): void;
}

export function openStream(name: string, session: Session, opts: StreamOptions): Promise<RemoteProcess> {
  const client = session.client as unknown as StreamClient;
  const lost = (cause?: unknown): MesoError =>
    new MesoError(
      'SshConnectionLost',
      `${name}: the SSH connection was lost${cause === undefined ? '' : ` (${errorText(cause)})`}`,
      { hint: 'check that the host is up and reachable, then run the command again', cause },
    );
  return new Promise((resolve, reject) => {
    const opened = (err: Error | undefined, channel: StreamChannel): void => {
      if (err !== undefined) return reject(lost(err));
      resolve(remoteProcess(channel, session, lost));
    };
    try {
      if (opts.command === undefined) client.shell(opts.pty ?? false, opened);
      else client.exec(opts.command, opts.pty === undefined ? {} : { pty: opts.pty }, opened);
    } catch (e) {
      reject(lost(e));
    }
  });
}

function remoteProcess(
  channel: StreamChannel,
  session: Session,
  lost: (cause?: unknown) => MesoError,
): RemoteProcess {
  const exit = new Promise<RemoteExit>((resolve, reject) => {
    let status: RemoteExit | undefined;
    channel.on('exit', (code: number | null, signal?: string) => {
      status =
        code !== null && code !== undefined
          ? { code }
          : { code: 128 + signalNumber(signal), ...(signal === undefined ? {} : { signal }) };
    });
    const onClientClose = (): void => reject(lost(session.lastError));
    session.client.once('close', onClientClose);
    channel.on('error', (e: Error) => reject(lost(e)));
    channel.on('close', () => {
      session.client.off('close', onClientClose);
      if (status === undefined) reject(lost(session.lastError));
      else resolve(status);
    });
  });
  // An unobserved rejection must not end the process: callers await `exit` when they care.
  exit.catch(() => undefined);
  return {
    stdin: channel,
    stdout: channel,
    stderr: channel.stderr,
    resize: (rows, cols) => channel.setWindow(rows, cols, 0, 0),
    signal: (name) => {
      // Channel.signal() is a no-op once our stdin has ended; the protocol call is not.
      const id = channel.outgoing?.id;
      const state = channel.outgoing?.state;
      if (typeof id === 'number' && (state === 'open' || state === 'eof'))
        session.client._protocol?.signal?.(id, name);
    },
    close: () => channel.close(),
    exit,
  };
}

function signalNumber(name: string | undefined): number {
  const n =
    name === undefined ? undefined : (osConstants.signals as Record<string, number | undefined>)[name];
  return n ?? 127;
}
