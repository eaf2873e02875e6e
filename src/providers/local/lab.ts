// Lab hosts: Debian containers (systemd-nspawn) with their own network namespace, on one bridge per cluster.
import type { SshTarget } from '../../transport/host.js';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { MesoError } from '../../util/errors.js';
import { alive, mountsUnder, removeTree, requireLab, run, sleep, type LabEvent } from './exec.js';
import {
  checkHostAddress,
  checkHostName,
  labNames,
  parseIpv4,
  parseSubnet,
  type LabNames,
  type Subnet,
} from './net.js';

export interface LabHostSpec {
  name: string;
  address: string;
}

export interface CreateHostsOptions {
  cluster: string;
  /** A subnet of 198.18.0.0/15; the cluster's bridge takes its first address. */
  subnet: string;
  hosts: readonly LabHostSpec[];
  /** The image's rootfs directory (`Image.rootfs`), used read-only as every host's overlay lowerdir. */
  image: string;
  /** The provider's directory for this cluster: SSH key pair, and one directory per host under `hosts/`. */
  stateDir: string;
  onEvent?: LabEvent;
  /** Per host, until sshd sends its banner; default 90 s. */
  bootTimeoutMs?: number;
}

/** What meso keeps in its state file about one lab host. Plain JSON data. */
export interface LabHost {
  name: string;
  cluster: string;
  address: string;
  /** pid of the host's systemd-nspawn supervisor (the only process meso ever signals by pid). */
  pid: number;
  hostDir: string;
  /** The overlay mount point the container boots from. */
  rootDir: string;
  /** The container's console output. */
  logFile: string;
  /** The host's SSH ed25519 public key, `ssh-ed25519 AAAA...` (no comment), to pin in known_hosts. */
  hostPublicKey: string;
  /** The cluster's SSH private key (mode 0600), accepted for root on every host of the cluster. */
  sshPrivateKey: string;
  netns: string;
  veth: string;
  bridge: string;
}

export interface DestroyHostsOptions {
  cluster: string;
  stateDir: string;
  /** Names of the hosts to destroy; default every host of the cluster found on this machine. */
  hosts?: readonly string[];
  onEvent?: LabEvent;
  /** How long a host may take to halt after SIGTERM before it gets SIGKILL; default 30 s. */
  stopTimeoutMs?: number;
}

export interface LabHostStatus {
  name: string;
  address: string | undefined;
  pid: number | undefined;
  /** running: the supervisor is alive; stopped: its directory exists but it is not; missing: nothing known. */
  state: 'running' | 'stopped' | 'missing';
  /** Whether sshd sent its banner within `sshTimeoutMs` (only checked when running). */
  sshReady: boolean;
}

const hostsDir = (stateDir: string): string => join(stateDir, 'hosts');
const keyPath = (stateDir: string): string => join(stateDir, 'ssh', 'id_ed25519');

// ---------------------------------------------------------------------------------------------------
// cgroups: with --keep-unit every supervisor would stay in our cgroup (`/` on hybrid cgroup v1), so
// each one is moved into `meso/<cluster id>/<host>` in the hierarchies systemd uses before it starts.

function cgroupRoots(): string[] {
  const roots: string[] = [];
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, target, type, options] = line.split(' ');
    if (target === undefined || options === undefined) continue;
    if (type === 'cgroup2') roots.push(target);
    if (type === 'cgroup' && options.split(',').includes('name=systemd')) roots.push(target);
  }
  return roots;
}

function cgroupDirs(rel: string): string[] {
  return cgroupRoots()
    .map((r) => join(r, rel))
    .filter((d) => existsSync(d));
}

/** Pids in a cgroup tree (the container's systemd makes sub-cgroups). */
async function cgroupPids(dir: string): Promise<number[]> {
  const out: number[] = [];
  try {
    for (const l of (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n')) {
      const n = Number.parseInt(l, 10);
      if (n > 0) out.push(n);
    }
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) out.push(...(await cgroupPids(join(dir, e.name))));
    }
  } catch {
    // removed meanwhile
  }
  return out;
}

async function rmCgroupTree(dir: string): Promise<void> {
  try {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await rmCgroupTree(join(dir, e.name));
    }
    await rmdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

// The boot wrapper: moves itself into the given cgroups, then execs its arguments. A fixed script;
// every value reaches it as a positional parameter.
const BOOT_WRAPPER =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 97; shift; n=$((n-1)); done; exec "$@"';

// ---------------------------------------------------------------------------------------------------

async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name], { allowFail: true })).code === 0;
}

async function netnsList(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

async function raiseInotifyLimits(): Promise<void> {
  // Every host's systemd takes inotify instances from root's shared quota (LAB.md: ~20 hosts exhaust 128).
  const want: [string, number][] = [
    ['/proc/sys/fs/inotify/max_user_instances', 8192],
    ['/proc/sys/fs/inotify/max_user_watches', 524288],
  ];
  for (const [path, min] of want) {
    const cur = Number.parseInt(await readFile(path, 'utf8'), 10);
    if (!(cur >= min)) await writeFile(path, `${min}\n`);
  }
}

/**
 * Refuses a subnet that overlaps an address on any interface but this cluster's bridge: another
 * cluster's bridge (or a real network) would then share the route and take the traffic.
 */
async function checkSubnetFree(names: LabNames, subnet: Subnet, cidr: string): Promise<void> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  for (const line of stdout.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (m === null || m[1] === names.bridge) continue;
    const addr = parseIpv4(m[2] ?? '');
    const prefix = Number(m[3]);
    if (addr === undefined) continue;
    const size = 2 ** (32 - prefix);
    const net = addr - (addr % size);
    const mine = 2 ** (32 - subnet.prefix);
    if (net < subnet.network + mine && subnet.network < net + size) {
      throw new MesoError(
        'LabAddressInvalid',
        `subnet ${cidr} overlaps ${m[2]}/${prefix} on interface ${m[1]}`,
        {
          hint: 'choose another subnet of 198.18.0.0/15 for this cluster (each cluster needs its own)',
        },
      );
    }
  }
}

async function ensureBridge(names: LabNames, gateway: string, prefix: number): Promise<void> {
  if (!(await linkExists(names.bridge))) {
    await run('ip', ['link', 'add', names.bridge, 'type', 'bridge']);
  }
  await run('ip', ['addr', 'replace', `${gateway}/${prefix}`, 'dev', names.bridge]);
  await run('ip', ['link', 'set', names.bridge, 'up']);
}

async function ensureClusterKey(stateDir: string, cluster: string): Promise<string> {
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
function pubKeyOf(text: string, path: string): string {
  const [type, blob] = text.trim().split(/\s+/);
  if (type === undefined || blob === undefined)
    throw new MesoError('Internal', `${path} is not a public key`);
  return `${type} ${blob}`;
}

/** Resolves when sshd at address:22 sends its banner; rejects with LabBootFailed after timeoutMs. */
async function waitForSsh(host: LabHost, timeoutMs: number): Promise<void> {
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
async function sshBanner(address: string, timeoutMs: number): Promise<boolean> {
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

function etcHosts(all: readonly LabHostSpec[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\t\tlocalhost ip6-localhost ip6-loopback'];
  for (const h of [...all].sort((a, b) => a.name.localeCompare(b.name)))
    lines.push(`${h.address}\t${h.name}`);
  return lines.join('\n') + '\n';
}

async function readRecord(hostDir: string): Promise<LabHost | undefined> {
  try {
    return JSON.parse(await readFile(join(hostDir, 'host.json'), 'utf8')) as LabHost;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still this host's supervisor (not a recycled pid). */
function isSupervisor(pid: number, rootDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('systemd-nspawn')) && argv.includes(rootDir);
  } catch {
    return false;
  }
}

async function prepareHost(
  opts: CreateHostsOptions,
  names: LabNames,
  spec: LabHostSpec,
  prefix: number,
  gateway: string,
  clusterPub: string,
  sshPrivateKey: string,
): Promise<LabHost> {
  const hostDir = join(hostsDir(opts.stateDir), spec.name);
  const rootDir = join(hostDir, 'root');
  const upper = join(hostDir, 'upper');
  const work = join(hostDir, 'work');
  const logFile = join(hostDir, 'console.log');
  const netns = names.netns(spec.name);
  const veth = names.veth(spec.name);
  const peer = names.vethPeer(spec.name);

  await mkdir(rootDir, { recursive: true, mode: 0o755 });
  await mkdir(upper, { mode: 0o755 });
  await mkdir(work, { mode: 0o755 });
  await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${opts.image},upperdir=${upper},workdir=${work}`,
    rootDir,
  ]);

  // Root's login key and the host's own identity, written before the first boot.
  await mkdir(join(rootDir, 'root', '.ssh'), { recursive: true, mode: 0o700 });
  await chmod(join(rootDir, 'root', '.ssh'), 0o700);
  await writeFile(join(rootDir, 'root', '.ssh', 'authorized_keys'), clusterPub + '\n', { mode: 0o600 });
  await run('ssh-keygen', ['-A', '-f', rootDir]);
  const pubFile = join(rootDir, 'etc', 'ssh', 'ssh_host_ed25519_key.pub');
  const hostPublicKey = pubKeyOf(await readFile(pubFile, 'utf8'), pubFile);
  await writeFile(join(rootDir, 'etc', 'hostname'), spec.name + '\n');
  await writeFile(join(rootDir, 'etc', 'hosts'), etcHosts(opts.hosts));

  // Network: veth pair, one end on the bridge, the other renamed eth0 inside the host's namespace.
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
  await run('ip', ['link', 'set', peer, 'netns', netns]);
  await run('ip', ['link', 'set', veth, 'master', names.bridge, 'up']);
  const inNs = (args: string[]): Promise<unknown> => run('ip', ['netns', 'exec', netns, 'ip', ...args]);
  await inNs(['link', 'set', peer, 'name', 'eth0']);
  await inNs(['addr', 'add', `${spec.address}/${prefix}`, 'dev', 'eth0']);
  await inNs(['link', 'set', 'lo', 'up']);
  await inNs(['link', 'set', 'eth0', 'up']);
  await inNs(['route', 'add', 'default', 'via', gateway]);

  const cgroups: string[] = [];
  for (const r of cgroupRoots()) {
    const d = join(r, names.cgroup(spec.name));
    await mkdir(d, { recursive: true });
    cgroups.push(d);
  }

  const log = openSync(logFile, 'a', 0o600);
  let pid: number | undefined;
  try {
    const child = spawn(
      'sh',
      [
        '-c',
        BOOT_WRAPPER,
        'meso-boot',
        String(cgroups.length),
        ...cgroups,
        'systemd-nspawn',
        '-D',
        rootDir,
        '-b',
        '--register=no',
        '--keep-unit',
        '--console=passive',
        `--network-namespace-path=/run/netns/${netns}`,
        '-M',
        spec.name,
      ],
      // detached: a new session (setsid), so it outlives us and gets no terminal signals.
      { detached: true, stdio: ['ignore', log, log] },
    );
    child.on('error', () => {}); // a failed spawn shows up as a dead pid below
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  if (pid === undefined) {
    throw new MesoError('LabBootFailed', `host ${spec.name}: could not start systemd-nspawn`, {
      hint: 'apt-get install -y systemd-container',
    });
  }
  const host: LabHost = {
    name: spec.name,
    cluster: opts.cluster,
    address: spec.address,
    pid,
    hostDir,
    rootDir,
    logFile,
    hostPublicKey,
    sshPrivateKey,
    netns,
    veth,
    bridge: names.bridge,
  };
  await writeFile(join(hostDir, 'host.json'), JSON.stringify(host, null, 2) + '\n');
  return host;
}

/**
 * Creates and boots lab hosts, resolving when each one's sshd answers. On failure the hosts created so
 * far stay (their logs explain why); `destroyHosts` removes them.
 */
export async function createHosts(opts: CreateHostsOptions): Promise<LabHost[]> {
  const onEvent = opts.onEvent ?? (() => {});
  requireLab(['ip', 'systemd-nspawn', 'ssh-keygen', 'mount', 'umount']);
  const subnet = parseSubnet(opts.subnet);
  const seen = new Set<string>();
  for (const h of opts.hosts) {
    checkHostName(h.name);
    checkHostAddress(subnet, h.name, h.address);
    for (const k of [h.name, h.address]) {
      if (seen.has(k)) throw new MesoError('LabAddressInvalid', `${k} is used by more than one host`);
      seen.add(k);
    }
  }
  for (const p of [opts.image, opts.stateDir]) {
    // overlayfs options are comma- and colon-separated; such paths cannot be passed safely.
    if (/[,:\\\s]/.test(p))
      throw new MesoError('LabAddressInvalid', `path ${p} contains , : \\ or whitespace`);
  }
  if (!existsSync(join(opts.image, 'sbin', 'init'))) {
    throw new MesoError('LabImageFailed', `${opts.image} is not a built image rootfs (no /sbin/init)`, {
      hint: 'pass Image.rootfs from ensureImage()',
    });
  }
  const names = labNames(opts.cluster);
  const existing = new Set(await netnsList());
  for (const h of opts.hosts) {
    if (existsSync(join(hostsDir(opts.stateDir), h.name)) || existing.has(names.netns(h.name))) {
      throw new MesoError('LabHostConflict', `host ${h.name} of cluster ${opts.cluster} already exists`, {
        hint: 'destroy it first (destroyHosts), or choose another name',
      });
    }
  }

  await checkSubnetFree(names, subnet, opts.subnet);
  await raiseInotifyLimits();
  await ensureBridge(names, subnet.gateway, subnet.prefix);
  const key = await ensureClusterKey(opts.stateDir, opts.cluster);
  const clusterPub = (await readFile(`${key}.pub`, 'utf8')).trim();
  await mkdir(hostsDir(opts.stateDir), { recursive: true, mode: 0o700 });

  const hosts: LabHost[] = [];
  for (const spec of opts.hosts) {
    onEvent(`${spec.name}: booting at ${spec.address}`);
    hosts.push(await prepareHost(opts, names, spec, subnet.prefix, subnet.gateway, clusterPub, key));
  }
  const timeout = opts.bootTimeoutMs ?? 90_000;
  await Promise.all(
    hosts.map(async (h) => {
      await waitForSsh(h, timeout);
      onEvent(`${h.name}: sshd answers`);
    }),
  );
  return hosts;
}

/** Names of this cluster's hosts found on this machine: host directories and network namespaces. */
async function foundHosts(stateDir: string, names: LabNames): Promise<string[]> {
  const found = new Set<string>();
  try {
    for (const n of await readdir(hostsDir(stateDir))) found.add(n);
  } catch {
    // no hosts directory
  }
  for (const ns of await netnsList()) {
    if (ns.startsWith(names.netnsPrefix)) found.add(ns.slice(names.netnsPrefix.length));
  }
  for (const d of cgroupDirs(names.clusterCgroup)) {
    for (const e of await readdir(d, { withFileTypes: true })) if (e.isDirectory()) found.add(e.name);
  }
  return [...found].sort();
}

async function killAndWait(pids: number[], signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pids.every((p) => !alive(p))) return true;
    await sleep(100);
  }
  return pids.every((p) => !alive(p));
}

async function destroyHost(name: string, opts: DestroyHostsOptions, names: LabNames): Promise<void> {
  const hostDir = join(hostsDir(opts.stateDir), name);
  const rootDir = join(hostDir, 'root');
  const rec = await readRecord(hostDir);
  const stopTimeout = opts.stopTimeoutMs ?? 30_000;

  // 1. The supervisor, by its recorded pid (only if that pid is still our systemd-nspawn).
  if (rec !== undefined && isSupervisor(rec.pid, rootDir)) {
    if (!(await killAndWait([rec.pid], 'SIGTERM', stopTimeout))) {
      opts.onEvent?.(`${name}: did not halt within ${Math.round(stopTimeout / 1000)} s, killing it`);
      await killAndWait([rec.pid], 'SIGKILL', 10_000);
    }
  }
  // 2. Whatever is left in the host's own cgroups is the host's by construction.
  const cgs = cgroupDirs(names.cgroup(name));
  for (let i = 0; i < 3; i++) {
    const left = [...new Set((await Promise.all(cgs.map(cgroupPids))).flat())];
    if (left.length === 0) break;
    await killAndWait(left, 'SIGKILL', 10_000);
  }
  for (const d of cgs) await rmCgroupTree(d);

  // 3. Mounts, network, files.
  for (const m of mountsUnder(hostDir)) await run('umount', [m]);
  if ((await netnsList()).includes(names.netns(name)))
    await run('ip', ['netns', 'delete', names.netns(name)]);
  // Deleting the namespace also deletes the veth pair, asynchronously: a link may vanish under us.
  for (const l of [names.veth(name), names.vethPeer(name)]) {
    const r = await run('ip', ['link', 'delete', l], { allowFail: true });
    if (r.code !== 0 && (await linkExists(l)))
      throw new MesoError('LabCommandFailed', `ip link delete ${l}: ${r.stderr.trim()}`);
  }
  if (existsSync(hostDir)) await removeTree(hostDir);
  opts.onEvent?.(`${name}: destroyed`);
}

/**
 * Stops and removes lab hosts and, once the cluster has none left, its bridge and SSH key. Idempotent:
 * it works from what it finds on the machine, so a second call or a call after a crash succeeds.
 */
export async function destroyHosts(opts: DestroyHostsOptions): Promise<void> {
  requireLab(['ip', 'umount']);
  const names = labNames(opts.cluster);
  const targets = opts.hosts ?? (await foundHosts(opts.stateDir, names));
  for (const n of targets) checkHostName(n);
  await Promise.all(targets.map((n) => destroyHost(n, opts, names)));

  if ((await foundHosts(opts.stateDir, names)).length === 0) {
    if (await linkExists(names.bridge)) await run('ip', ['link', 'delete', names.bridge]);
    for (const d of cgroupDirs(names.clusterCgroup)) await rmCgroupTree(d);
    for (const d of cgroupDirs('meso')) await rmdir(d).catch(() => {}); // shared with other clusters
    await rm(join(opts.stateDir, 'ssh'), { recursive: true, force: true });
    await rm(hostsDir(opts.stateDir), { recursive: true, force: true });
  }
}

/** The state of the named hosts (default: all found), sorted by name. */
export async function hostStatus(opts: {
  cluster: string;
  stateDir: string;
  hosts?: readonly string[];
  /** How long to wait for each sshd's banner; default 5 s (a busy machine can take seconds). */
  sshTimeoutMs?: number;
}): Promise<LabHostStatus[]> {
  const names = labNames(opts.cluster);
  const targets = [...(opts.hosts ?? (await foundHosts(opts.stateDir, names)))].sort();
  return Promise.all(
    targets.map(async (name): Promise<LabHostStatus> => {
      const hostDir = join(hostsDir(opts.stateDir), name);
      const rec = await readRecord(hostDir);
      if (rec === undefined) {
        return {
          name,
          address: undefined,
          pid: undefined,
          state: existsSync(hostDir) ? 'stopped' : 'missing',
          sshReady: false,
        };
      }
      const running = isSupervisor(rec.pid, rec.rootDir);
      return {
        name,
        address: rec.address,
        pid: rec.pid,
        state: running ? 'running' : 'stopped',
        sshReady: running && (await sshBanner(rec.address, opts.sshTimeoutMs ?? 5000)),
      };
    }),
  );
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
