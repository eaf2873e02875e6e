import type { Role, Topology, TopologyHost } from '../model/topology.js';

/** The services meso runs, in start order. */
export type ServiceName = 'zookeeper' | 'mesos-master' | 'marathon' | 'mesos-agent';
export const SERVICE_ORDER: readonly ServiceName[] = ['zookeeper', 'mesos-master', 'marathon', 'mesos-agent'];
export const SERVICE_OF_ROLE: Readonly<Record<Role, ServiceName>> = {
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
}

export interface HostDesiredState {
  host: TopologyHost;
  /** Sorted by path. */
  files: DesiredFile[];
  /** Sorted by path. */
  directories: DesiredDirectory[];
  /** In start order. */
  services: DesiredService[];
}

export interface DesiredState {
  topology: Topology;
  /** In topology order. */
  hosts: HostDesiredState[];
}

/** The unit and wrapper templates, by their path under templates/ (e.g. `systemd/zookeeper.service`). */
export type Templates = Readonly<Record<string, string>>;
