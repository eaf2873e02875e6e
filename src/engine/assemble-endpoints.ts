// `meso endpoints` and apply's closing block, assembled: a pure function of the topology, the ports,
// what each master said and what the leading master lists. No I/O here; the engine
// (endpoints.ts) asks the hosts, apply hands in what its verify saw.
import type { AddonHealth, AddonPort } from '../addons/types.js';
import type { Topology, TopologyHost } from '../model/topology.js';
import type { ProviderBalancer } from '../providers/types.js';
import { notActive } from '../verify/gates.js';
import type { RegisteredAgent } from '../verify/gates.js';

/**
 * The shape `meso endpoints --json` prints (and apply's `endpoints` event carries). Masters and
 * agents in spec order; `leader` is the URL of the master marked `leader: true`, or null.
 */
export interface Endpoints {
  masters: {
    host: string;
    /** The address an operator reaches the host at (SSH's: the public one on aws); null if unknown. */
    address: string | null;
    url: string | null;
    leader: boolean;
    /** Its HTTP API answered. */
    reachable: boolean;
    /** Why it is not reachable (or was not asked); null when it answered. */
    reason: string | null;
  }[];
  leader: string | null;
  /** The string meso writes to /etc/mesos/zk. */
  zookeeper: string;
  /** Marathon on every master, when marathon.enabled; [] otherwise. */
  marathon: string[];
  /** The provider's load balancers that exist ([] for providers without any). */
  balancers: { name: string; dns: string; scheme: string; ports: number[] }[];
  agents: {
    host: string;
    address: string | null;
    url: string | null;
    /** Listed as active by the leading master. */
    registered: boolean;
  }[];
  /**
   * Each add-on on each of its hosts, in spec then topology order: its ports, and a URL (http at
   * its http health check's port, else `tcp://` or `udp://` at its first port; null without ports).
   */
  addons?: { name: string; host: string; address: string | null; ports: string[]; url: string | null }[];
}

/**
 * What one master said, or why it was not heard: `elected` from its `master/elected` metric (apply's
 * verify) or from serving `/master/slaves` itself, which only the leading master does.
 */
export interface MasterLook {
  answered: boolean;
  elected: boolean;
  /** Why it did not answer or was not asked. */
  reason?: string;
}

export interface EndpointsInput {
  topology: Topology;
  /** `http` or `https` (security.ssl). */
  scheme: 'http' | 'https';
  masterPort: number;
  /** Each agent's port (its group's `port` flag); 5051 when absent. */
  agentPorts: ReadonlyMap<string, number>;
  /** Marathon's HTTP port, or undefined when Marathon is not enabled. */
  marathonPort: number | undefined;
  /** By master name; a master missing here was not asked. */
  looks: ReadonlyMap<string, MasterLook>;
  /** The agents the master named `leader` lists (its /master/slaves), when one answered. */
  listed: { leader: string; agents: readonly RegisteredAgent[] } | undefined;
  balancers: readonly ProviderBalancer[] | undefined;
  /** The add-ons, each with the hosts it runs on. */
  addons?: readonly {
    name: string;
    hosts: readonly TopologyHost[];
    ports: readonly AddonPort[];
    health: AddonHealth | undefined;
  }[];
}

/** `http://10.0.0.1:5050`, an IPv6 address in brackets. */
export function urlOf(scheme: string, address: string, port: number): string {
  return `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

const addressOf = (h: TopologyHost): string | null => (h.addressKnown ? h.address : null);

/**
 * The leading master: the one that listed the agents (it answered /master/slaves itself, which a
 * standby redirects) if it says it is elected, else the first master that says it is elected.
 */
export function leaderOf(
  masters: readonly string[],
  looks: EndpointsInput['looks'],
  listed: EndpointsInput['listed'],
): string | undefined {
  const elected = masters.filter((m) => looks.get(m)?.elected === true);
  if (listed !== undefined && elected.includes(listed.leader)) return listed.leader;
  return elected[0];
}

export function assembleEndpoints(i: EndpointsInput): Endpoints {
  const t = i.topology;
  const marathonPort = i.marathonPort;
  const leader = leaderOf(
    t.masters.map((m) => m.name),
    i.looks,
    i.listed,
  );
  const masters = t.masters.map((m) => {
    const address = addressOf(m);
    const look = i.looks.get(m.name);
    const reachable = look?.answered === true;
    return {
      host: m.name,
      address,
      url: address === null ? null : urlOf(i.scheme, address, i.masterPort),
      leader: m.name === leader,
      reachable,
      reason: reachable ? null : (look?.reason ?? 'not asked'),
    };
  });
  // Only the leader's list counts: a stale list from a deposed master is no registration.
  const listed = leader !== undefined && i.listed?.leader === leader ? i.listed : undefined;
  const inactive = new Set(
    notActive(
      { topology: t },
      listed,
      t.agents.map((a) => a.name),
    ),
  );
  return {
    masters,
    leader: masters.find((m) => m.leader)?.url ?? null,
    zookeeper: t.mesosZk,
    marathon:
      marathonPort === undefined
        ? []
        : t.masters.flatMap((m) => {
            const a = addressOf(m);
            return a === null ? [] : [urlOf('http', a, marathonPort)];
          }),
    balancers: (i.balancers ?? []).map((b) => ({
      name: b.name,
      dns: b.dns,
      scheme: b.scheme,
      ports: [...b.ports],
    })),
    agents: t.agents.map((a) => {
      const address = addressOf(a);
      return {
        host: a.name,
        address,
        url: address === null ? null : urlOf(i.scheme, address, i.agentPorts.get(a.name) ?? 5051),
        registered: listed !== undefined && !inactive.has(a.name),
      };
    }),
    // Present only when the spec has add-ons: the shape without them stays as it was.
    ...(i.addons === undefined || i.addons.length === 0
      ? {}
      : {
          addons: (i.addons ?? []).flatMap((a) =>
            a.hosts.map((h) => {
              const address = addressOf(h);
              const first = a.ports[0];
              const url =
                address === null
                  ? null
                  : a.health?.kind === 'http'
                    ? urlOf('http', address, a.health.port)
                    : first === undefined
                      ? null
                      : urlOf(first.protocol, address, first.port);
              return {
                name: a.name,
                host: h.name,
                address,
                ports: a.ports.map((p) => `${p.port}/${p.protocol}`),
                url,
              };
            }),
          ),
        }),
  };
}
