import type { SpecPath } from '../spec/diagnostics.js';
import type { AgentGroupSpec, HostGroupSpec, HostSpec, Spec } from '../spec/types.js';

export type HostListRole = 'master' | 'zookeeper' | 'agent';

/** One host as it appears in one list of the spec, with where it is written. */
export interface HostEntry {
  host: HostSpec;
  role: HostListRole;
  group: AgentGroupSpec | undefined;
  /** Path of the host item, or of `count` for hosts derived from a count. */
  path: SpecPath;
}

function entries(
  list: HostGroupSpec,
  role: HostListRole,
  base: SpecPath,
  group?: AgentGroupSpec,
): HostEntry[] {
  return list.hosts.map((host, i) => ({
    host,
    role,
    group,
    path: list.count === undefined ? [...base, 'hosts', i] : [...base, 'count'],
  }));
}

/** Every host entry in the order the spec lists them: masters, dedicated ZooKeeper hosts, agents. */
export function hostEntries(spec: Spec): HostEntry[] {
  return [
    ...entries(spec.masters, 'master', ['masters']),
    ...entries(spec.zookeeper.dedicated, 'zookeeper', ['zookeeper']),
    ...spec.agents.flatMap((g, i) => entries(g, 'agent', ['agents', i], g)),
  ];
}

/** The hosts that run ZooKeeper: the masters by default, else the dedicated list. */
export function ensembleEntries(spec: Spec): HostEntry[] {
  return spec.zookeeper.onMasters
    ? entries(spec.masters, 'master', ['masters'])
    : entries(spec.zookeeper.dedicated, 'zookeeper', ['zookeeper']);
}

/**
 * The ZooKeeper id of the member at `index`: its own `myid`, else 1..N in order, or the last octet of
 * its private IPv4 address. `undefined` when the address is not known yet or is not IPv4.
 */
export function memberId(spec: Spec, host: HostSpec, index: number): number | undefined {
  if (host.myid !== undefined) return host.myid;
  if (spec.zookeeper.myid === 'sequential') return index + 1;
  const m = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.(\d{1,3})$/.exec(host.privateAddress ?? '');
  return m === null ? undefined : Number(m[1]);
}
