// A throwaway OpenSSH server on loopback for the transport tests: own config, host keys, client keys and
// authorized_keys in a temp dir, a random free port and no pid file, so it never meets a system sshd.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

/**
 * Why the sshd tests cannot run here, or undefined. With CI=true nothing is skipped: a missing sshd or a
 * non-root runner must fail loudly there, so this returns undefined and startSshd throws.
 */
export function sshdSkipReason(): string | undefined {
  if (process.env['CI'] === 'true') return undefined;
  if (process.getuid?.() !== 0)
    return 'needs root to run sshd on loopback (set CI=true to make this an error)';
  if (!existsSync(SSHD)) return `${SSHD} is missing (apt-get install openssh-server)`;
  if (!hasCommand('ssh-keygen')) return 'ssh-keygen is missing (apt-get install openssh-client)';
  return undefined;
}

/** Why tests that only need ssh-keygen cannot run here, or undefined (never skipped with CI=true). */
export function sshKeygenSkipReason(): string | undefined {
  if (process.env['CI'] === 'true') return undefined;
  return hasCommand('ssh-keygen') ? undefined : 'ssh-keygen is missing (apt-get install openssh-client)';
}

export interface Sshd {
  port: number;
  dir: string;
  /** Authorized client key (private key file). */
  clientKeyPath: string;
  /** A valid key that is NOT authorized. */
  wrongClientKeyPath: string;
  /** Host public key lines (`type base64`, no comment). */
  hostKeys: { ed25519: string; ecdsa: string };
  hostKeyPubPaths: { ed25519: string; ecdsa: string };
  /** sshd's log so far (DEBUG1, written with -E to a file: with -e it would leak into sessions' stderr). */
  log(): string;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<Sshd> {
  if (process.getuid?.() !== 0) throw new Error('startSshd: must run as root (sshd needs it for logins)');
  if (!existsSync(SSHD)) throw new Error(`startSshd: ${SSHD} is missing; install openssh-server`);
  // Privilege separation directory; Debian creates it only when the service starts.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = mkdtempSync(join(tmpdir(), 'meso-sshd-'));
  // Readable by the throwaway users of the sudo test: sshd reads authorized_keys as the user.
  chmodSync(dir, 0o755);
  const keygen = (type: string, file: string, comment: string): void => {
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', join(dir, file)], {
      stdio: 'ignore',
    });
  };
  keygen('ed25519', 'host_ed25519', 'meso-test-host');
  keygen('ecdsa', 'host_ecdsa', 'meso-test-host');
  keygen('ed25519', 'client', 'meso-test-client');
  keygen('ed25519', 'wrong_client', 'meso-test-wrong-client');
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(join(dir, 'client.pub')), { mode: 0o644 });
  const pubLine = (file: string): string =>
    readFileSync(join(dir, file), 'utf8').split(' ').slice(0, 2).join(' ');

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `HostKey ${join(dir, 'host_ecdsa')}`,
        'PidFile none',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        `AuthorizedKeysFile ${authorized}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowTcpForwarding yes',
        'MaxStartups 100',
        'MaxSessions 50',
        'LogLevel DEBUG1',
        '',
      ].join('\n'),
    );
    try {
      const { child, log } = await spawnSshd(config, port, join(dir, `sshd.${port}.log`));
      return {
        port,
        dir,
        clientKeyPath: join(dir, 'client'),
        wrongClientKeyPath: join(dir, 'wrong_client'),
        hostKeys: { ed25519: pubLine('host_ed25519.pub'), ecdsa: pubLine('host_ecdsa.pub') },
        hostKeyPubPaths: { ed25519: join(dir, 'host_ed25519.pub'), ecdsa: join(dir, 'host_ecdsa.pub') },
        log,
        stop: async () => {
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      // Most likely another process took the port between freePort() and sshd's bind: try another.
      lastError = e instanceof Error ? e : new Error(String(e));
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('startSshd failed');
}

function spawnSshd(
  config: string,
  port: number,
  logFile: string,
): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    writeFileSync(logFile, '');
    const child = spawn(SSHD, ['-D', '-E', logFile, '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const log = (): string => readFileSync(logFile, 'utf8');
    let early = '';
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      f();
    };
    child.stderr?.on('data', (c: Buffer) => (early += c.toString('utf8')));
    const poll = setInterval(() => {
      if (log().includes(`Server listening on 127.0.0.1 port ${port}.`))
        settle(() => resolve({ child, log }));
    }, 20);
    const timer = setTimeout(() => {
      void stopChild(child);
      settle(() => reject(new Error(`sshd did not start listening within 10 s:\n${early}${log()}`)));
    }, 10_000);
    child.on('exit', (code, signal) => {
      settle(() => reject(new Error(`sshd exited (${code ?? signal}) before listening:\n${early}${log()}`)));
    });
    child.on('error', (e) => settle(() => reject(e)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Agent {
  socket: string;
  stop(): Promise<void>;
}

/** An ssh-agent of our own (foreground, -D) holding `keyPath`. */
export async function startAgent(dir: string, keyPath: string): Promise<Agent> {
  const socket = join(dir, `agent-${process.pid}-${Date.now()}.sock`);
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(socket)) {
    await stopChild(child);
    throw new Error('ssh-agent did not create its socket');
  }
  execFileSync('ssh-add', ['-q', keyPath], {
    env: { ...process.env, SSH_AUTH_SOCK: socket },
    stdio: 'ignore',
  });
  return {
    socket,
    stop: async () => {
      await stopChild(child);
      rmSync(socket, { force: true });
    },
  };
}

export interface TestUser {
  name: string;
  remove(): void;
}

/**
 * A throwaway login user (root only; the sudo test creates it only under CI=true). Its password field is
 * '*' rather than useradd's '!': with UsePAM no, sshd refuses even key logins to a '!'-locked account.
 */
export function createUser(prefix: string, opts: { sudoNoPasswd: boolean }): TestUser {
  const name = `${prefix}${process.pid % 100000}`;
  const home = mkdtempSync(join(tmpdir(), `meso-home-${name}-`));
  chmodSync(home, 0o755);
  execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-p', '*', name], { stdio: 'ignore' });
  const sudoers = join('/etc/sudoers.d', `meso-test-${name}`);
  if (opts.sudoNoPasswd) {
    writeFileSync(sudoers, `${name} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  }
  return {
    name,
    remove: () => {
      rmSync(sudoers, { force: true });
      try {
        execFileSync('userdel', [name], { stdio: 'ignore' });
      } catch {
        // Already gone; nothing else to undo.
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `ssh-keygen -lf <file>` fingerprints (SHA256:...), one per key in the file. */
export function keygenFingerprints(file: string): string[] {
  const out = execFileSync('ssh-keygen', ['-lf', file], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '');
}
