import type { Spec } from '../spec/types.js';
import { ensembleEntries, hostEntries, memberId } from './hosts.js';

export type Role = 'zookeeper' | 'master' | 'marathon' | 'agent';
const ROLE_ORDER: readonly Role[] = ['zookeeper', 'master', 'marathon', 'agent'];

/** Shown wherever an address is not known until a provider creates the host. */
export const UNKNOWN_ADDRESS = '(known after apply)';

/** One machine and everything it runs. A host in several lists of the spec is one TopologyHost. */
export interface TopologyHost {
  name: string;
  /** Address for SSH; UNKNOWN_ADDRESS until the provider knows it. */
  address: string;
  /** Address for cluster traffic (zoo.cfg, /etc/mesos/zk, --ip, --hostname). */
  privateAddress: string;
  addressKnown: boolean;
  sshPort: number;
  /** Sorted in start order: zookeeper, master, marathon, agent. */
  roles: Role[];
  /** ZooKeeper id, for ensemble members. */
  zkId: number | undefined;
  /** Agent group name, for agents. */
  agentGroup: string | undefined;
}

export interface Topology {
  name: string;
  /** Mesos --cluster. */
  cluster: string;
  provider: Spec['provider'];
  /** Every host once, in spec order (masters, dedicated ZooKeeper hosts, agents). */
  hosts: TopologyHost[];
  /** ZooKeeper members in spec order. */
  ensemble: TopologyHost[];
  masters: TopologyHost[];
  agents: TopologyHost[];
  /** Agent groups in spec order, with how many of their hosts may be down at once. */
  agentGroups: {
    name: string;
    maxUnavailable: string | number;
    maxUnreachable: string | number;
    hosts: string[];
  }[];
  quorum: number;
  /** `a:2181,b:2181,c:2181`, members in spec order. */
  zkHosts: string;
  /** `zk://a:2181,b:2181,c:2181/mesos` as in /etc/mesos/zk. */
  mesosZk: string;
  /** `zk://.../marathon` for Marathon's own state. */
  marathonZk: string;
}

export interface KnownAddress {
  address: string;
  privateAddress?: string;
}

/**
 * Who runs what, where. `known` supplies addresses for hosts the spec gives by `count:` (from the
 * provider or the state); without it they are UNKNOWN_ADDRESS, which is what an offline plan shows.
 */
export function deriveTopology(spec: Spec, known: ReadonlyMap<string, KnownAddress> = new Map()): Topology {
  const byName = new Map<string, TopologyHost>();
  for (const e of hostEntries(spec)) {
    let h = byName.get(e.host.name);
    if (h === undefined) {
      const k = known.get(e.host.name);
      const address = e.host.address ?? k?.address;
      const privateAddress = e.host.privateAddress ?? k?.privateAddress ?? address;
      h = {
        name: e.host.name,
        address: address ?? UNKNOWN_ADDRESS,
        privateAddress: privateAddress ?? UNKNOWN_ADDRESS,
        addressKnown: address !== undefined,
        sshPort: e.host.sshPort ?? spec.ssh.port,
        roles: [],
        zkId: undefined,
        agentGroup: undefined,
      };
      byName.set(h.name, h);
    }
    if (e.role === 'master') h.roles.push('master');
    if (e.role === 'master' && spec.marathon.enabled) h.roles.push('marathon');
    if (e.role === 'agent') {
      h.roles.push('agent');
      h.agentGroup = e.group?.group;
    }
  }
  const ensemble = ensembleEntries(spec).map((e, i) => {
    const h = byName.get(e.host.name)!;
    h.roles.push('zookeeper');
    h.zkId = memberId(spec, { ...e.host, privateAddress: h.privateAddress }, i);
    return h;
  });
  const hosts = [...byName.values()];
  for (const h of hosts) h.roles = ROLE_ORDER.filter((r) => h.roles.includes(r));
  const masters = hosts.filter((h) => h.roles.includes('master'));
  const zkHosts = ensemble.map((h) => `${h.privateAddress}:${spec.zookeeper.clientPort}`).join(',');
  return {
    name: spec.name,
    cluster: spec.masters.cluster,
    provider: spec.provider,
    hosts,
    ensemble,
    masters,
    agents: hosts.filter((h) => h.roles.includes('agent')),
    agentGroups: spec.agents.map((g) => ({
      name: g.group,
      maxUnavailable: g.maxUnavailable,
      maxUnreachable: g.maxUnreachable,
      hosts: g.hosts.map((h) => h.name),
    })),
    quorum: spec.masters.quorum === 'auto' ? Math.floor(masters.length / 2) + 1 : spec.masters.quorum,
    zkHosts,
    mesosZk: `zk://${zkHosts}/mesos`,
    marathonZk: `zk://${zkHosts}/marathon`,
  };
}
