// The connection: commands with timeouts enforced on the host, optional `sudo -n`, signals, and close.
import { constants as osConstants } from 'node:os';
import { MesoError } from '../util/errors.js';
import { shellQuote } from './host.js';
import type { ExecResult, HostConnection, SshTarget } from './host.js';
import { formatPublicKey } from './known-hosts.js';
import { endClient, errorText } from './ssh-session.js';
import type { Session, Ssh2Channel } from './ssh-session.js';
import type { HostCounters } from './stats.js';
import { openStream } from './ssh-stream.js';
import type { RemoteProcess, StreamOptions } from './ssh-stream.js';

/** What connectSsh returns: the port plus what the benchmark and the state want to know. */
export interface SshConnection extends HostConnection {
  /** Live counters of this host (the same object the TransportStats holds). */
  readonly stats: Readonly<HostCounters>;
  /** The host key the server presented and that passed the check, as `type base64`. */
  readonly hostKey: string;
  /** A remote process with open streams and no timeout (`meso ssh`, `meso logs`). */
  stream(opts: StreamOptions): Promise<RemoteProcess>;
}

// --- the connection -------------------------------------------------------------------------------------

export class SshHostConnection implements SshConnection {
  readonly name: string;
  readonly hostKey: string;
  private closed = false;
  private peerClosed = false;
  private readonly inFlight = new Set<(cause: Error) => void>();
  private readonly sudo: boolean;

  constructor(
    target: SshTarget,
    private readonly session: Session,
    private readonly bastion: Session | undefined,
    readonly stats: HostCounters,
    private readonly opts: { defaultTimeoutMs: number; killGraceMs: number },
  ) {
    this.name = target.name;
    this.hostKey = formatPublicKey(session.presented);
    this.sudo = target.sudo === true && target.user !== 'root';
    session.client.on('close', () => {
      this.peerClosed = true;
      // ssh2 does not always close open channels when the socket dies; fail the commands still running.
      const cause = session.lastError ?? new Error('connection closed');
      for (const fail of this.inFlight) fail(cause);
      // The inner connection rides on the bastion's channel: nothing is left to keep the bastion for.
      if (this.bastion !== undefined) void endClient(this.bastion.client);
    });
  }

  async exec(
    command: string,
    opts: { stdin?: string | Buffer; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    if (this.closed || this.peerClosed) {
      throw new MesoError('SshConnectionLost', `${this.name}: the SSH connection is closed`, {
        hint: 'this is a bug in meso if close() was called; otherwise the host dropped the connection: retry',
      });
    }
    this.stats.execs++;
    const started = Date.now();
    try {
      return await this.run(command, opts);
    } finally {
      this.stats.execMillis += Date.now() - started;
    }
  }

  async stream(opts: StreamOptions): Promise<RemoteProcess> {
    if (this.closed || this.peerClosed) {
      throw new MesoError('SshConnectionLost', `${this.name}: the SSH connection is closed`, {
        hint: 'the host dropped the connection: run the command again',
      });
    }
    this.stats.execs++;
    const command =
      opts.command === undefined || opts.asRoot !== true
        ? opts.command
        : remoteCommandLine(opts.command, { sudo: this.sudo, timeoutMs: 0, killGraceMs: 0 });
    return openStream(this.name, this.session, {
      ...(command === undefined ? {} : { command }),
      ...(opts.pty === undefined ? {} : { pty: opts.pty }),
    });
  }

  private async run(
    command: string,
    opts: { stdin?: string | Buffer; timeoutMs?: number },
  ): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? this.opts.defaultTimeoutMs;
    const line = remoteCommandLine(command, {
      sudo: this.sudo,
      timeoutMs,
      killGraceMs: this.opts.killGraceMs,
    });
    const started = Date.now();
    const channel = await this.openChannel(command, line);
    return await new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      let signal: string | undefined;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        if (timer !== undefined) clearTimeout(timer);
        this.inFlight.delete(onLost);
        f();
      };
      channel.on('data', (c: Buffer) => out.push(c));
      channel.stderr.on('data', (c: Buffer) => err.push(c));
      channel.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s;
      });
      const onLost = (e: Error): void => finish(() => reject(this.lost(command, e)));
      this.inFlight.add(onLost);
      channel.on('error', onLost);
      channel.on('close', () =>
        finish(() => {
          // Decode once at the end: chunk by chunk would split multi-byte characters.
          const stdout = Buffer.concat(out).toString('utf8');
          const stderr = Buffer.concat(err).toString('utf8');
          if (code === null && signal === undefined) return reject(this.lost(command));
          const exit = code ?? 128 + signalNumber(signal);
          // The host-side `timeout` fired a hair before our timer: still a timeout, not a result.
          if (timeoutMs > 0 && (exit === 124 || exit === 137) && Date.now() - started >= timeoutMs - 50) {
            return reject(this.timedOut(command, timeoutMs));
          }
          if (
            this.sudo &&
            exit === 1 &&
            /^sudo: .*(password is required|not in the sudoers|not allowed|may not run)/m.test(stderr)
          ) {
            return reject(
              new MesoError(
                'SshSudoFailed',
                `${this.name}: sudo -n refused to run a command: ${firstLine(stderr)}`,
                {
                  hint: 'give the SSH user passwordless sudo (a NOPASSWD rule in /etc/sudoers.d) or connect as root',
                },
              ),
            );
          }
          resolve({ code: exit, stdout, stderr });
        }),
      );
      if (timeoutMs > 0) {
        timer = setTimeout(
          () =>
            finish(() => {
              this.kill(channel);
              reject(this.timedOut(command, timeoutMs));
            }),
          timeoutMs,
        );
      }
      channel.end(opts.stdin);
    });
  }

  private openChannel(command: string, line: string): Promise<Ssh2Channel> {
    return new Promise((resolve, reject) => {
      try {
        this.session.client.exec(line, (e, channel) =>
          e ? reject(this.lost(command, e)) : resolve(channel),
        );
      } catch (e) {
        reject(this.lost(command, e));
      }
    });
  }

  /** TERM (which sudo relays), then KILL after a grace period, then close the channel. */
  private kill(channel: Ssh2Channel): void {
    this.signal(channel, 'TERM');
    let closed = false;
    channel.once('close', () => (closed = true));
    const t = setTimeout(() => {
      if (closed) return;
      this.signal(channel, 'KILL');
      channel.close();
    }, this.opts.killGraceMs);
    t.unref();
  }

  private signal(channel: Ssh2Channel, name: string): void {
    // ssh2's Channel.signal() is a silent no-op once stdin has ended (it checks `writable`), and exec always
    // ends stdin; the protocol-level call sends the request while the channel is still open or half-closed.
    const id = channel.outgoing?.id;
    const state = channel.outgoing?.state;
    const proto = this.session.client._protocol;
    if (
      typeof id === 'number' &&
      (state === 'open' || state === 'eof') &&
      typeof proto?.signal === 'function'
    ) {
      proto.signal(id, name);
    } else {
      channel.signal(name);
    }
  }

  private timedOut(command: string, timeoutMs: number): MesoError {
    return new MesoError(
      'SshCommandTimeout',
      `${this.name}: command timed out after ${timeoutMs} ms: ${summary(command)}`,
      {
        hint: 'the command was killed; check the host (load, a hung service) or raise the step timeout',
      },
    );
  }

  private lost(command: string, cause?: unknown): MesoError {
    return new MesoError(
      'SshConnectionLost',
      `${this.name}: the SSH connection was lost while running: ${summary(command)}${cause === undefined ? '' : ` (${errorText(cause)})`}`,
      { hint: 'check that the host is up and reachable; the step can be retried', cause },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await endClient(this.session.client);
    if (this.bastion !== undefined) await endClient(this.bastion.client);
  }
}

/**
 * The line sshd runs. The command stays one fixed string, passed as the single quoted argument of `sh -c`
 * (values travel on stdin, which sudo and timeout pass through). With a timeout, coreutils `timeout` on the
 * host kills the command's whole process group: sshd refuses SSH signal requests for root sessions
 * ("session signalling requires privilege separation"), so a client-side signal alone would leave it running.
 */
export function remoteCommandLine(
  command: string,
  opts: { sudo: boolean; timeoutMs: number; killGraceMs: number },
): string {
  const words: string[] = [];
  if (opts.sudo) words.push('sudo', '-n', '--');
  if (opts.timeoutMs > 0) words.push('timeout', '-k', seconds(opts.killGraceMs), seconds(opts.timeoutMs));
  if (words.length === 0) return command;
  return [...words, 'sh', '-c', shellQuote(command)].join(' ');
}

function seconds(ms: number): string {
  return `${Math.max(0.001, ms / 1000)}s`;
}

// --- small helpers --------------------------------------------------------------------------------------

function signalNumber(name: string | undefined): number {
  const n =
    name === undefined ? undefined : (osConstants.signals as Record<string, number | undefined>)[name];
  return n ?? 127;
}

function summary(command: string): string {
  const first = firstLine(command);
  return first.length > 80 ? `${first.slice(0, 77)}...` : first;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
