// SSH to the lab hosts: the cluster's key pair, waiting for sshd's banner, and the target meso connects to.
import type { SshTarget } from '../../transport/host.js';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { MesoError } from '../../util/errors.js';
import { alive, run, sleep } from './exec.js';
import { keyPath } from './lab-host.js';
import type { LabHost } from './lab-host.js';

export async function ensureClusterKey(stateDir: string, cluster: string): Promise<string> {
  const key = keyPath(stateDir);
  if (!existsSync(key) || !existsSync(`${key}.pub`)) {
    await mkdir(join(stateDir, 'ssh'), { recursive: true, mode: 0o700 });
    await rm(key, { force: true });
    await rm(`${key}.pub`, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `meso-${cluster}`, '-f', key]);
  }
  await chmod(key, 0o600);
  return key;
}

/** `ssh-ed25519 AAAA...` from a .pub file, without its comment. */
export function pubKeyOf(text: string, path: string): string {
  const [type, blob] = text.trim().split(/\s+/);
  if (type === undefined || blob === undefined)
    throw new MesoError('Internal', `${path} is not a public key`);
  return `${type} ${blob}`;
}

/** Resolves when sshd at address:22 sends its banner; rejects with LabBootFailed after timeoutMs. */
export async function waitForSsh(host: LabHost, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(host.pid)) {
      throw new MesoError(
        'LabBootFailed',
        `host ${host.name}: systemd-nspawn (pid ${host.pid}) exited during boot; console log: ${host.logFile}`,
        { hint: 'read the console log; destroyHosts removes the half-booted hosts' },
      );
    }
    if (await sshBannerOnce(host.address, 1000)) return;
    await sleep(250);
  }
  throw new MesoError(
    'LabBootFailed',
    `host ${host.name} (${host.address}): sshd did not answer within ${Math.round(timeoutMs / 1000)} s; console log: ${host.logFile}`,
    { hint: 'read the console log; destroyHosts removes the half-booted hosts' },
  );
}

/** Whether sshd at address:22 sends its banner within timeoutMs; retries refused or dropped attempts. */
export async function sshBanner(address: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    if (await sshBannerOnce(address, left)) return true;
    await sleep(Math.min(200, Math.max(0, deadline - Date.now())));
  }
}

function sshBannerOnce(address: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port: 22 });
    let buf = '';
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) done(buf.startsWith('SSH-'));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

/**
 * How meso reaches a lab host: root with the cluster's key, and only the host key pinned at creation
 * accepted (known_hosts is not consulted: the pin is the whole truth).
 */
export function labSshTarget(host: LabHost, connectTimeoutMs = 10_000): SshTarget {
  return {
    name: host.name,
    host: host.address,
    port: 22,
    user: 'root',
    privateKeyPath: host.sshPrivateKey,
    useAgent: false,
    connectTimeoutMs,
    hostKey: { policy: 'strict', knownHostsPath: '/dev/null', pinned: host.hostPublicKey },
  };
}
