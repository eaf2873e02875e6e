// Creating lab hosts: an overlay root, a network namespace on the bridge, and a booted systemd-nspawn.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MesoError } from '../../util/errors.js';
import { BOOT_WRAPPER, cgroupRoots } from './cgroups.js';
import { requireLab, run } from './exec.js';
import { hostsDir } from './lab-host.js';
import type { CreateHostsOptions, LabHost, LabHostSpec } from './lab-host.js';
import { ensureClusterKey, pubKeyOf, waitForSsh } from './lab-ssh.js';
import { checkHostAddress, checkHostName, labNames, parseSubnet, type LabNames } from './net.js';
import { checkSubnetFree, ensureBridge, netnsList } from './netns.js';

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

function etcHosts(all: readonly LabHostSpec[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\t\tlocalhost ip6-localhost ip6-loopback'];
  for (const h of [...all].sort((a, b) => a.name.localeCompare(b.name)))
    lines.push(`${h.address}\t${h.name}`);
  return lines.join('\n') + '\n';
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
  // Debian's sshd runs pam_motd (update-motd's scripts) at every session, each command included:
  // ~50 ms of CPU per command on a 2-core machine, for a message nobody reads on a lab host.
  const pamSshd = join(rootDir, 'etc', 'pam.d', 'sshd');
  const pam = await readFile(pamSshd, 'utf8').catch(() => undefined);
  if (pam !== undefined)
    await writeFile(
      pamSshd,
      pam.replace(/^session\s+optional\s+pam_motd\.so.*$/gm, '# $& (off on lab hosts)'),
    );

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
