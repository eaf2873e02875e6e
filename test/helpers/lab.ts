import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabHost } from '../../src/providers/local/lab.js';
import { which } from '../../src/providers/local/exec.js';
import { labNames } from '../../src/providers/local/net.js';
import { ROOT } from './cli.js';

export const LAB_TOOLS = ['mmdebstrap', 'systemd-nspawn', 'ssh', 'ssh-keygen', 'ip', 'mount', 'umount'];

/**
 * Why the lab cannot run here, or undefined when it can. Under CI=true the lab tests never skip:
 * they run and fail loudly, since a CI machine without the lab is a broken CI machine.
 */
export function labSkip(): string | false {
  if (process.env['CI'] === 'true') return false;
  if (process.platform !== 'linux') return `lab hosts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'lab hosts need root';
  const missing = LAB_TOOLS.filter((t) => which(t) === undefined);
  if (missing.length > 0) {
    return `missing ${missing.join(', ')} (apt-get install -y mmdebstrap systemd-container openssh-client iproute2)`;
  }
  return false;
}

/** The real Mesos build the lab suites install (`install.method: archive`), outside the repo. */
export const MESOS_TARBALL = join(ROOT, '..', 'shared', 'mesos', 'mesos-1.12.0-bookworm-amd64.tar.gz');

/**
 * Why a suite on the real Mesos build cannot run here, or false. Under CI the build must be there:
 * its absence fails the suite (its `before` checks) rather than skipping it.
 */
export function mesosSkip(): string | false {
  const lab = labSkip();
  if (lab !== false) return lab;
  if (existsSync(MESOS_TARBALL)) return false;
  return process.env['CI'] === 'true'
    ? false
    : `no Mesos build at ${MESOS_TARBALL} (see ../shared/mesos/README.md)`;
}

/** Single-quotes one word for the remote shell that ssh hands its command to. */
export const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface SshResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The system ssh client's arguments for root on a lab host, trusting only `knownHosts`. */
function sshArgs(
  host: Pick<LabHost, 'address' | 'sshPrivateKey'>,
  knownHosts: string,
  command: string,
): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    host.sshPrivateKey,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    `root@${host.address}`,
    command,
  ];
}

/** Runs `words` (quoted) on `host` as root with the system ssh client, trusting only `knownHosts`. */
export function ssh(
  host: LabHost,
  knownHosts: string,
  words: readonly string[],
  timeoutMs = 120_000,
): SshResult {
  const r = spawnSync('ssh', sshArgs(host, knownHosts, words.map(shq).join(' ')), {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a shell script on `host` as root, asynchronously: for tests that serve something to the
 * hosts from their own process meanwhile (spawnSync would block that server).
 */
export function sshScript(
  host: Pick<LabHost, 'address' | 'sshPrivateKey'>,
  knownHosts: string,
  script: string,
  timeoutMs = 120_000,
  /** Standard input for the script (a secret goes here, never on a command line). */
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'ssh',
      sshArgs(host, knownHosts, script),
      { encoding: 'utf8', timeout: timeoutMs },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        }),
    );
    child.stdin?.end(input ?? '');
  });
}

export type LabRecord = Pick<LabHost, 'address' | 'hostPublicKey' | 'sshPrivateKey'>;

/** A local host's record, as meso keeps it in the state file at `statePath`. */
export function labRecordIn(statePath: string, host: string): LabRecord {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
    hosts: Record<string, { provider: LabRecord }>;
  };
  return state.hosts[host]!.provider;
}

/** A shell script as root on a local host of the cluster whose state is at `statePath`, trusting only its pinned key. */
export function onLabHost(
  statePath: string,
  host: string,
  script: string,
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = labRecordIn(statePath, host);
  const known = join(dirname(statePath), `known_hosts.${host}`);
  writeFileSync(known, `${r.address} ${r.hostPublicKey}\n`);
  return sshScript(r, known, script, opts.timeoutMs, opts.input);
}

/** Everything of `hosts` (cluster `cluster`) still present on the machine, as readable strings. */
export function leftovers(cluster: string, stateDir: string, hosts: readonly LabHost[]): string[] {
  const names = labNames(cluster);
  const out: string[] = [];
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const l of ns.split('\n')) if (l.startsWith(names.netnsPrefix)) out.push(`netns ${l}`);
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  const linkNames = links.split('\n').map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '');
  for (const want of [names.bridge, ...hosts.flatMap((h) => [h.veth, names.vethPeer(h.name)])]) {
    if (linkNames.includes(want)) out.push(`link ${want}`);
  }
  for (const l of readFileSync('/proc/mounts', 'utf8').split('\n'))
    if (l.includes(stateDir)) out.push(`mount ${l}`);
  for (const h of hosts) {
    if (existsSync(h.hostDir)) out.push(`dir ${h.hostDir}`);
    try {
      process.kill(h.pid, 0);
      out.push(`process ${h.pid} (${h.name})`);
    } catch {
      // gone, as it should be
    }
  }
  for (const root of ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']) {
    if (existsSync(`${root}/${names.clusterCgroup}`)) out.push(`cgroup ${root}/${names.clusterCgroup}`);
  }
  return out;
}

/**
 * The first /24 of `candidates` (third octets of 198.18.X.0/24) that no interface on this machine
 * uses: a lab left behind by a killed run elsewhere on the machine must not fail this suite.
 */
export function freeSubnet(candidates: readonly number[]): string {
  const r = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
  const used = new Set([...(r.stdout ?? '').matchAll(/inet 198\.18\.(\d+)\./g)].map((m) => Number(m[1])));
  const x = candidates.find((c) => !used.has(c)) ?? candidates[0]!;
  return `198.18.${x}.0/24`;
}
