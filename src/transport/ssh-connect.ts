// Connecting one hop: credentials, the host key check, bounded retries for transient network errors only,
// and errors that say what to fix.
import { readFile } from 'node:fs/promises';
import { NodeSSH } from 'node-ssh';
import { MesoError } from '../util/errors.js';
import { formatPublicKey, knownHostName } from './known-hosts.js';
import { endClient, errorText } from './ssh-session.js';
import type { Hop, Session, Ssh2Channel, Ssh2Client, Ssh2ConnectConfig } from './ssh-session.js';
import { makeVerifier } from './ssh-verify.js';
import type { Verifier } from './ssh-verify.js';
import type { HostCounters } from './stats.js';

export interface RetryPolicy {
  /** Total connection attempts, the first included. */
  attempts: number;
  /** Pause before retry n (1-based) is delaysMs[n-1]; the last value repeats. */
  delaysMs: readonly number[];
  /**
   * Wall-clock time (ms since the epoch) after which no attempt starts and none waits longer:
   * connecting a fleet in parallel is bounded by one timeout, not by hosts x attempts.
   */
  deadlineAt?: number;
}

/** 4 attempts: one, then retries after 0.5 s, 1 s and 2 s. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, delaysMs: [500, 1000, 2000] };

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

export async function connectHop(hop: Hop, counters: HostCounters, retry: RetryPolicy): Promise<Session> {
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
  let attempts = 0;
  const deadline = retry.deadlineAt;
  for (let i = 0; i < Math.max(1, retry.attempts); i++) {
    if (i > 0) {
      const pause = retry.delaysMs[Math.min(i - 1, retry.delaysMs.length - 1)] ?? 0;
      if (deadline !== undefined && Date.now() + pause >= deadline) break;
      await sleep(pause);
    }
    const left = deadline === undefined ? hop.connectTimeoutMs : deadline - Date.now();
    const connectTimeoutMs = Math.max(1, Math.min(hop.connectTimeoutMs, left));
    counters.connectAttempts++;
    attempts++;
    try {
      const session = await connectOnce({ ...hop, connectTimeoutMs }, privateKey, verifier);
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
    // A host whose link is gone is noticed in about 20 s (4 unanswered keepalives 5 s apart), not
    // after a command's own timeout; sshd answers keepalives itself, so a busy host still does.
    keepaliveInterval: 5_000,
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
