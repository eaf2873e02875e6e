// Destroying lab hosts from what is found on the machine, so a second call or one after a crash succeeds.
import { existsSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MesoError } from '../../util/errors.js';
import { cgroupDirs, cgroupPids, rmCgroupTree } from './cgroups.js';
import { alive, mountsUnder, removeTree, requireLab, run, sleep } from './exec.js';
import { foundHosts, hostsDir, isSupervisor, readRecord } from './lab-host.js';
import type { DestroyHostsOptions } from './lab-host.js';
import { checkHostName, labNames, type LabNames } from './net.js';
import { linkExists, netnsList } from './netns.js';

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
