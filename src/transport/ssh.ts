// The SSH adapter behind HostConnection: node-ssh (ssh2) with OpenSSH-compatible host-key checking,
// key-file or agent auth, an optional bastion, bounded retries for transient network errors only,
// per-command timeouts, optional `sudo -n`, and round-trip counters.
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { Duplex, Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { MesoError } from '../util/errors.js';
import { shellQuote } from './host.js';
import type { ExecResult, HostConnection, HostKeyCheck, SshTarget } from './host.js';
import {
  fingerprintSha256,
  formatPublicKey,
  knownHostName,
  lookupHost,
  parseKnownHosts,
  parsePublicKeyLine,
  publicKeyFromBlob,
  sameKey,
} from './known-hosts.js';
import type { KnownHostEntry, PublicKey } from './known-hosts.js';
import { TransportStats } from './stats.js';
import type { HostCounters } from './stats.js';

export interface RetryPolicy {
  /** Total connection attempts, the first included. */
  attempts: number;
  /** Pause before retry n (1-based) is delaysMs[n-1]; the last value repeats. */
  delaysMs: readonly number[];
}

/** 4 attempts: one, then retries after 0.5 s, 1 s and 2 s. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, delaysMs: [500, 1000, 2000] };

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

/** What connectSsh returns: the port plus what the benchmark and the state want to know. */
export interface SshConnection extends HostConnection {
  /** Live counters of this host (the same object the TransportStats holds). */
  readonly stats: Readonly<HostCounters>;
  /** The host key the server presented and that passed the check, as `type base64`. */
  readonly hostKey: string;
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

// ---------------------------------------------------------------------------------------------------------
// The part of ssh2 we use. ssh2 ships no types (and @types/ssh2 is not a dependency), so node-ssh's typings
// degrade to `any`; these narrow interfaces keep the rest of this file type-checked.

interface Ssh2Channel extends Duplex {
  readonly stderr: Readable;
  readonly outgoing?: { id?: number; state?: string };
  signal(name: string): void;
  close(): void;
}

interface Ssh2Client {
  exec(command: string, cb: (err: Error | undefined, channel: Ssh2Channel) => void): void;
  forwardOut(
    srcIP: string,
    srcPort: number,
    dstIP: string,
    dstPort: number,
    cb: (err: Error | undefined, channel: Ssh2Channel) => void,
  ): void;
  end(): void;
  destroy?(): void;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'close', listener: () => void): this;
  readonly _sock?: { destroyed?: boolean };
  readonly _protocol?: { signal?(channelId: number, signalName: string): void };
}

interface Ssh2ConnectConfig {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  agent?: string;
  readyTimeout: number;
  keepaliveInterval: number;
  keepaliveCountMax: number;
  hostVerifier: (key: Buffer) => boolean;
  algorithms?: { serverHostKey: string[] };
  sock?: Duplex;
}

// ---------------------------------------------------------------------------------------------------------

interface Hop {
  /** How messages name this hop: the host's name, or "<name> (bastion host:port)". */
  label: string;
  host: string;
  port: number;
  user: string;
  privateKeyPath: string | undefined;
  agent: string | undefined;
  useAgent: boolean;
  connectTimeoutMs: number;
  hostKey: HostKeyCheck;
  via: Session | undefined;
}

interface Session {
  ssh: NodeSSH;
  client: Ssh2Client;
  presented: PublicKey;
  /** The last error ssh2 reported after login (a reset, a keepalive timeout), for messages. */
  lastError: Error | undefined;
}

/** An error worth another attempt (the network, not the host's identity or our credentials). */
class Transient extends Error {}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

async function connectHop(hop: Hop, counters: HostCounters, retry: RetryPolicy): Promise<Session> {
  const privateKey = await readPrivateKey(hop);
  if (privateKey === undefined && hop.agent === undefined) {
    throw new MesoError('SshAuthFailed', `${hop.label}: no SSH credentials for ${hop.user}@${hop.host}`, {
      hint: hop.useAgent
        ? 'use_agent is set but SSH_AUTH_SOCK is empty: start ssh-agent and ssh-add the key, or set a private key file'
        : 'set a private key file for this host or enable the ssh-agent',
    });
  }
  const verifier = await makeVerifier(hop);
  const where = `${hop.host}:${hop.port}${hop.via === undefined ? '' : ' through the bastion'}`;
  let last: unknown;
  const attempts = Math.max(1, retry.attempts);
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(retry.delaysMs[Math.min(i - 1, retry.delaysMs.length - 1)] ?? 0);
    counters.connectAttempts++;
    try {
      const session = await connectOnce(hop, privateKey, verifier);
      counters.connections++;
      if (verifier.acceptedNew && hop.hostKey.policy === 'accept-new') {
        // Reported only once the login worked, so a pin is never recorded for a host we could not use.
        try {
          hop.hostKey.onNewKey(formatPublicKey(session.presented));
        } catch (e) {
          await endClient(session.client);
          throw e;
        }
      }
      return session;
    } catch (e) {
      if (!(e instanceof Transient)) throw e;
      last = e.cause;
    }
  }
  throw new MesoError(
    'SshUnreachable',
    `${hop.label}: cannot connect to ${where} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${errorText(last)}`,
    {
      hint: `check that the host is up, that sshd listens on port ${hop.port} and that no firewall or security group blocks it from here`,
      cause: last,
    },
  );
}

async function connectOnce(hop: Hop, privateKey: string | undefined, verifier: Verifier): Promise<Session> {
  let sock: Ssh2Channel | undefined;
  if (hop.via !== undefined) {
    // A direct-tcpip channel from the bastion becomes the socket of the inner connection (like ssh -J).
    try {
      sock = await forwardOut(hop.via.client, hop.host, hop.port);
    } catch (e) {
      throw classifyConnectError(hop, e, verifier);
    }
  }
  verifier.reset();
  const config: Ssh2ConnectConfig = {
    host: hop.host,
    port: hop.port,
    username: hop.user,
    readyTimeout: hop.connectTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    hostVerifier: (key) => verifier.verify(key),
  };
  if (privateKey !== undefined) config.privateKey = privateKey;
  if (hop.agent !== undefined) config.agent = hop.agent;
  if (verifier.algorithms !== undefined) config.algorithms = { serverHostKey: verifier.algorithms };
  if (sock !== undefined) config.sock = sock;

  const ssh = new NodeSSH();
  try {
    await ssh.connect(config);
  } catch (e) {
    ssh.dispose();
    if (verifier.failure !== undefined) throw verifier.failure;
    throw classifyConnectError(hop, e, verifier);
  }
  const client = ssh.connection as unknown as Ssh2Client | null;
  if (client === null || verifier.presented === undefined) {
    ssh.dispose();
    throw new MesoError('Internal', `${hop.label}: SSH connected without a verified host key`, {
      hint: 'this is a bug in meso (src/transport/ssh.ts)',
    });
  }
  // node-ssh drops its 'error' listener once connected; an unhandled 'error' (a reset, a keepalive timeout)
  // would then crash the process, so keep one for the connection's lifetime. Exec notices via 'close'.
  const session: Session = { ssh, client, presented: verifier.presented, lastError: undefined };
  client.on('error', (e) => (session.lastError = e));
  return session;
}

function classifyConnectError(hop: Hop, e: unknown, verifier: Verifier): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  const level = (err as { level?: unknown }).level;
  const reason = (err as { reason?: unknown }).reason;
  const target = `${hop.user}@${hop.host}:${hop.port}`;
  if (level === 'client-authentication' || /Too many authentication failures/i.test(err.message)) {
    const tried = [hop.privateKeyPath && `key file ${hop.privateKeyPath}`, hop.agent && 'ssh-agent']
      .filter(Boolean)
      .join(' and ');
    return new MesoError(
      'SshAuthFailed',
      `${hop.label}: authentication failed for ${target} (tried ${tried})`,
      {
        hint: `check that the matching public key is in ~${hop.user}/.ssh/authorized_keys on the host (ssh-keygen -y -f <key> prints it) or that the agent holds it (ssh-add -l)`,
        cause: err,
      },
    );
  }
  if (/privateKey|private key/i.test(err.message)) {
    return new MesoError(
      'SshKeyUnreadable',
      `${hop.label}: cannot use the private key ${hop.privateKeyPath}: ${err.message}`,
      {
        hint: 'use an unencrypted OpenSSH/PEM key file, or load a passphrase-protected key into ssh-agent and enable use_agent',
        cause: err,
      },
    );
  }
  if (/no matching host key format/i.test(err.message)) {
    // We only offered the key types we know for this host; a server without any of them has changed keys.
    return new MesoError(
      'SshHostKeyMismatch',
      `${hop.label}: ${knownHostName(hop.host, hop.port)} offered none of the known host key types (${(verifier.algorithms ?? []).join(', ')}); expected ${verifier.expectedText()}`,
      { hint: verifier.mismatchHint(), cause: err },
    );
  }
  if (
    (typeof code === 'string' && TRANSIENT_CODES.has(code)) ||
    level === 'client-timeout' ||
    /Connection lost before handshake|No response from server/i.test(err.message) ||
    reason === 2 /* SSH_OPEN_CONNECT_FAILED from the bastion */
  ) {
    return new Transient(err.message, { cause: err });
  }
  return new MesoError('SshUnreachable', `${hop.label}: cannot connect to ${target}: ${err.message}`, {
    hint: 'check the host name, port and that an OpenSSH server answers there',
    cause: err,
  });
}

function forwardOut(client: Ssh2Client, host: string, port: number): Promise<Ssh2Channel> {
  return new Promise((resolve, reject) => {
    try {
      client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel)));
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

async function readPrivateKey(hop: Hop): Promise<string | undefined> {
  if (hop.privateKeyPath === undefined) return undefined;
  try {
    // Read here rather than by node-ssh, so a missing file is a clear error; the content is never logged.
    return await readFile(hop.privateKeyPath, 'utf8');
  } catch (e) {
    throw new MesoError(
      'SshKeyUnreadable',
      `${hop.label}: cannot read private key ${hop.privateKeyPath}: ${errorText(e)}`,
      {
        hint: 'check the private key path in the cluster spec and that this user can read the file',
      },
    );
  }
}

// --- host key verification ------------------------------------------------------------------------------

/** ssh2 host-key algorithm names per key type, so the server presents a key of a type we know. */
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};

interface Verifier {
  verify(blob: Buffer): boolean;
  /** Restricts the negotiated host key algorithms to the types known for this host (like OpenSSH does). */
  algorithms: string[] | undefined;
  failure: MesoError | undefined;
  presented: PublicKey | undefined;
  /** The presented key was unknown and accepted under accept-new. */
  acceptedNew: boolean;
  /** Forget the previous attempt's failure. */
  reset(): void;
  expectedText(): string;
  mismatchHint(): string;
}

async function makeVerifier(hop: Hop): Promise<Verifier> {
  const check = hop.hostKey;
  const name = knownHostName(hop.host, hop.port);
  const known = await readKnownHosts(hop.label, check.knownHostsPath);
  const { keys, revoked } = lookupHost(known, name);
  let pin: PublicKey | undefined;
  if (check.pinned !== undefined) {
    pin = parsePublicKeyLine(check.pinned);
    if (pin === undefined) {
      throw new MesoError(
        'SshKnownHostsUnreadable',
        `${hop.label}: the pinned host key is not an OpenSSH public key line`,
        {
          hint: 'the pin in meso state must look like "ssh-ed25519 AAAA..."; restore it from `ssh-keyscan` output verified out of band',
        },
      );
    }
  }
  // The pin, when there is one, is the only key that counts; otherwise every known_hosts entry for the host.
  const expected: { key: PublicKey; from: string }[] =
    pin !== undefined
      ? [{ key: pin, from: "pinned in meso's state" }]
      : keys.map((e) => ({ key: e.key, from: `${check.knownHostsPath}:${e.line}` }));
  const types = [...new Set(expected.map((x) => x.key.type))];
  const algorithms = types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []);
  const quotedName = shellQuote(name);
  const quotedPath = shellQuote(check.knownHostsPath);

  const v: Verifier = {
    algorithms: algorithms.length > 0 ? algorithms : undefined,
    failure: undefined,
    presented: undefined,
    acceptedNew: false,
    reset: () => {
      v.failure = undefined;
    },
    expectedText: () =>
      expected.map((x) => `${x.key.type} ${fingerprintSha256(x.key)} (${x.from})`).join(', '),
    mismatchHint: () =>
      pin !== undefined
        ? `The host's key differs from the one pinned in meso's state. If the host was rebuilt, verify the new fingerprint out of band (provider console, ssh-keygen -lf on the host) and update the pin; otherwise treat it as a possible man-in-the-middle.`
        : `If the host was rebuilt, verify the new fingerprint out of band (provider console, ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the host), then remove the old entry with \`ssh-keygen -R ${quotedName} -f ${quotedPath}\` and add the new one; otherwise treat it as a possible man-in-the-middle.`,
    verify(blob) {
      const presented = publicKeyFromBlob(blob);
      if (presented === undefined) {
        v.failure = new MesoError(
          'SshHostKeyMismatch',
          `${hop.label}: ${name} presented an unreadable host key`,
          {
            hint: v.mismatchHint(),
          },
        );
        return false;
      }
      const shown = `${presented.type} ${fingerprintSha256(presented)}`;
      const bad = revoked.find((e: KnownHostEntry) => sameKey(e.key, presented));
      if (bad !== undefined) {
        v.failure = new MesoError(
          'SshHostKeyRevoked',
          `${hop.label}: ${name} presented host key ${shown}, which is marked @revoked in ${check.knownHostsPath}:${bad.line}`,
          {
            hint: 'a revoked key is never accepted: give the host a new host key and record it (known_hosts or the pin)',
          },
        );
        return false;
      }
      if (expected.length > 0) {
        if (expected.some((x) => sameKey(x.key, presented))) {
          v.presented = presented;
          return true;
        }
        v.failure = new MesoError(
          'SshHostKeyMismatch',
          `${hop.label}: host key for ${name} does not match: expected ${v.expectedText()}, presented ${shown}`,
          { hint: v.mismatchHint() },
        );
        return false;
      }
      if (check.policy === 'strict') {
        v.failure = new MesoError(
          'SshHostKeyUnknown',
          `${hop.label}: ${name} is not in ${check.knownHostsPath} (presented ${shown}) and the host key policy is strict`,
          {
            hint: `verify the fingerprint out of band, then add the key: \`ssh-keyscan -p ${hop.port} ${shellQuote(hop.host)} >> ${quotedPath}\` (check it with \`ssh-keygen -lf ${quotedPath}\`), or pin it in meso's state`,
          },
        );
        return false;
      }
      // accept-new: trust on first use, and hold later attempts and re-keys to that key.
      expected.push({ key: presented, from: 'accepted as new during this connection' });
      v.presented = presented;
      v.acceptedNew = true;
      return true;
    },
  };
  return v;
}

async function readKnownHosts(label: string, path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return [];
    throw new MesoError(
      'SshKnownHostsUnreadable',
      `${label}: cannot read known_hosts ${path}: ${errorText(e)}`,
      {
        hint: 'check the known_hosts path and its permissions',
      },
    );
  }
}

// --- the connection -------------------------------------------------------------------------------------

class SshHostConnection implements SshConnection {
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

function endClient(client: Ssh2Client): Promise<void> {
  return new Promise((resolve) => {
    if (client._sock?.destroyed === true) return resolve();
    const t = setTimeout(() => {
      client.destroy?.();
      resolve();
    }, 2000);
    t.unref();
    client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    client.end();
  });
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

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
