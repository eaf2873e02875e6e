// What meso knows about a lab host: the options, the record kept in its directory, and where to find them.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cgroupDirs } from './cgroups.js';
import type { LabEvent } from './exec.js';
import type { LabNames } from './net.js';
import { netnsList } from './netns.js';

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

export const hostsDir = (stateDir: string): string => join(stateDir, 'hosts');
export const keyPath = (stateDir: string): string => join(stateDir, 'ssh', 'id_ed25519');

export async function readRecord(hostDir: string): Promise<LabHost | undefined> {
  try {
    return JSON.parse(await readFile(join(hostDir, 'host.json'), 'utf8')) as LabHost;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is still this host's supervisor (not a recycled pid). */
export function isSupervisor(pid: number, rootDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('systemd-nspawn')) && argv.includes(rootDir);
  } catch {
    return false;
  }
}

/** Names of this cluster's hosts found on this machine: host directories and network namespaces. */
export async function foundHosts(stateDir: string, names: LabNames): Promise<string[]> {
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
