import type { AddonAfter, AddonHealth, AddonSpec } from '../addons/types.js';
import type { Role, Topology, TopologyHost } from '../model/topology.js';

/** The core services meso runs, in start order. */
export type CoreService = 'zookeeper' | 'mesos-master' | 'marathon' | 'mesos-agent';
/** A core service, or an add-on's (its name, which is also its unit: `<name>.service`). */
export type ServiceName = string;
export const SERVICE_ORDER: readonly CoreService[] = ['zookeeper', 'mesos-master', 'marathon', 'mesos-agent'];
export const isCoreService = (s: string): s is CoreService =>
  (SERVICE_ORDER as readonly string[]).includes(s);
export const SERVICE_OF_ROLE: Readonly<Record<Role, CoreService>> = {
  zookeeper: 'zookeeper',
  master: 'mesos-master',
  marathon: 'marathon',
  agent: 'mesos-agent',
};

/** How to build a sensitive file from secret references once they are resolved at apply time. */
export type SecretSource =
  | { kind: 'mesos-credentials'; credentials: { principal: string; secret: string }[] }
  | { kind: 'mesos-credential'; principal: string; secret: string }
  | { kind: 'raw'; secret: string };

/**
 * One file meso wants on a host. For a sensitive file `content` is a placeholder that names the
 * references only; the real content is built from `secret` at apply time and never stored.
 */
export interface DesiredFile {
  path: string;
  content: string;
  owner: string;
  group: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  sensitive: boolean;
  secret?: SecretSource;
  /**
   * For a sensitive file, the sha256 of its real content once its secrets were resolved (a plan
   * against the hosts does that, so a changed secret is a changed file); never the content itself.
   * In memory only: plan output shows `(sensitive)`, and the state records no hash of such a file.
   */
  secretSha256?: string;
  /** The services that must restart when this file changes. */
  feeds: ServiceName[];
}

export interface DesiredDirectory {
  path: string;
  owner: string;
  group: string;
  mode: number;
  /** Data directories are kept by `meso destroy` unless asked to purge them. */
  data: boolean;
}

export interface DesiredService {
  name: ServiceName;
  /** The systemd unit, e.g. `mesos-master.service`. */
  unit: string;
  /** An add-on's service: where its wave goes, how it restarts and how it is checked. */
  addon?: AddonService;
}

/** What planning and apply need of an add-on's service (src/addons). */
export interface AddonService {
  /** Its place in `addons:`: add-ons with the same `after` go in this order. */
  order: number;
  after: AddonAfter;
  maxUnavailable: string | number;
  reload: boolean;
  health?: AddonHealth;
  quorum?: AddonSpec['quorum'];
}

/**
 * Software meso installs on a host: a package (apt, yum, or `os`: the host's own package manager,
 * for an archive's runtime libraries), an unpacked archive, or a container image.
 */
export type DesiredSoftware =
  | {
      kind: 'package';
      manager: 'apt' | 'yum' | 'os';
      name: string;
      /** zookeeper, mesos, marathon: it provides that service's program; extra: anything else. */
      component: 'zookeeper' | 'mesos' | 'marathon' | 'extra';
      /** Pinned (and held) version; undefined: whatever the repository has, not held. */
      version: string | undefined;
      feeds: ServiceName[];
    }
  | { kind: 'archive'; prefix: string; sha256: string; source: string; feeds: ServiceName[] }
  | { kind: 'image'; ref: string; feeds: ServiceName[] };

/** Files on the machine running meso that the spec names, read before rendering (render stays pure). */
export interface Assets {
  /** Text content by the path as written in the spec (repository key, certificates). */
  text: ReadonlyMap<string, string>;
  /** install.archive: its sha256 (of the file when readable, else install.sha256). */
  archive?: { path: string; sha256: string };
  /** Add-ons' archives by add-on name: the path resolved from the spec's folder, and its sha256. */
  addonArchives?: ReadonlyMap<string, { path: string; sha256: string }>;
}

export const NO_ASSETS: Assets = { text: new Map() };

export interface HostDesiredState {
  host: TopologyHost;
  /** Sorted by path. */
  files: DesiredFile[];
  /** Sorted by path. */
  directories: DesiredDirectory[];
  /** In start order. */
  services: DesiredService[];
  /** Repositories first, then packages, archives and images, in a stable order. */
  software: DesiredSoftware[];
  /** Agents: the work directory, and whether the agent accepts added resources and attributes. */
  agent?: {
    workDir: string;
    additive: boolean;
    drain?: { gracePeriodSeconds: number; timeoutSeconds: number };
  };
}

/**
 * Units that never run where this host's roles do not call for them, as the cookbook does it: a
 * master that is not an agent stops the agent, an agent stops the master and ZooKeeper. The Mesos
 * packages' own agent unit (mesos-slave.service) is never meso's and is stopped everywhere.
 */
export function foreignUnits(roles: readonly string[]): string[] {
  const out: string[] = [];
  if (!roles.includes('zookeeper')) out.push('zookeeper.service');
  if (!roles.includes('master')) out.push('mesos-master.service');
  if (!roles.includes('agent')) out.push('mesos-agent.service');
  out.push('mesos-slave.service');
  return out;
}

export interface DesiredState {
  topology: Topology;
  /** In topology order. */
  hosts: HostDesiredState[];
}

/** The unit and wrapper templates, by their path under templates/ (e.g. `systemd/zookeeper.service`). */
export type Templates = Readonly<Record<string, string>>;
