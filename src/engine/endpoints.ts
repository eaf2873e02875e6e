// `meso endpoints`: the URLs an operator and a framework need, from the state and one probe per
// master; and the same block at the end of `meso apply`, from what its verify already saw.
import type { Topology } from '../model/topology.js';
import type { ProviderBalancer } from '../providers/types.js';
import type { Spec } from '../spec/types.js';
import type { ClusterState } from '../state/types.js';
import { MesoError } from '../util/errors.js';
import { agentsListed, probe } from '../verify/gates.js';
import type { MesosLook, RegisteredAgent } from '../verify/gates.js';
import { addonHosts } from '../addons/render.js';
import { assembleEndpoints } from './assemble-endpoints.js';
import type { Endpoints, EndpointsInput, MasterLook } from './assemble-endpoints.js';
import { gateOptions, prepare, servicePorts } from './prepare.js';
import type { Say, Session } from './prepare.js';
import { reachForLook } from './reach.js';
import { stateBackend } from './session.js';

export type { Endpoints } from './assemble-endpoints.js';

/** What the masters said: each one's look, and the agents the leading one lists. */
export type MastersAsked = Pick<EndpointsInput, 'looks' | 'listed'>;

/** Nothing applied yet: no host and no cloud resource recorded (no state, or a destroyed one). */
const nothingApplied = (s: ClusterState | undefined): boolean =>
  s === undefined || (Object.keys(s.hosts).length === 0 && Object.keys(s.cloud ?? {}).length === 0);

export async function clusterEndpoints(spec: Spec, specFile: string, say: Say): Promise<Endpoints> {
  const backend = await stateBackend(spec, specFile);
  // Read once before the provider looks at anything: an unapplied cloud cluster costs no API call.
  if (nothingApplied(await backend.read())) {
    throw new MesoError('StateMissing', `cluster ${spec.name} has no state yet (${backend.location})`, {
      hint: `run meso apply ${specFile} first`,
    });
  }
  const p = await prepare(spec, specFile, backend, say, { lenient: true });
  try {
    const asked = await askMasters(p, new Map(p.toCreate.map((n) => [n, 'not created yet'])));
    return endpointsOf(p, p.topology, asked, p.discovery.balancers);
  } finally {
    await p.pool.closeAll();
  }
}

/**
 * One probe per master, all at once, each with one HTTP request: `/master/slaves`, which only the
 * leading master serves itself (with its agents); a standby answers with a redirect to the leader
 * (or 503 while none is elected). A master the network keeps us from, or that does not answer, is
 * a look with its reason, never an error.
 */
export async function askMasters(p: Session, skip: ReadonlyMap<string, string>): Promise<MastersAsked> {
  const g = gateOptions(p);
  const masters = p.topology.masters.filter((m) => !skip.has(m.name));
  const unreachable = await reachForLook(
    p,
    masters.map((m) => m.name),
  );
  const looks = new Map<string, MasterLook>();
  for (const [n, why] of skip) looks.set(n, { answered: false, elected: false, reason: why });
  for (const [n, why] of unreachable)
    looks.set(n, { answered: false, elected: false, reason: `no SSH connection: ${why}` });
  const lists = new Map<string, RegisteredAgent[]>();
  await Promise.all(
    masters
      .filter((m) => !unreachable.has(m.name))
      .map(async (m) => {
        try {
          const a = await probe(g, m.name, {
            zk: false,
            http: [{ name: 'slaves', address: m.privateAddress, port: g.masterPort, path: '/master/slaves' }],
          });
          const answer = a.http.get('slaves');
          const agents = agentsListed(answer);
          if (agents !== undefined) lists.set(m.name, agents);
          const answered = answer !== undefined && answer.status !== 0;
          looks.set(m.name, {
            answered,
            elected: agents !== undefined,
            ...(answered ? {} : { reason: `no answer on port ${g.masterPort}` }),
          });
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          looks.set(m.name, { answered: false, elected: false, reason: `the probe failed: ${why}` });
        }
      }),
  );
  // Two masters serving at once is a moment of a leader change: the first in spec order is named.
  const leader = p.topology.masters.map((m) => m.name).find((m) => lists.has(m));
  return { looks, listed: leader === undefined ? undefined : { leader, agents: lists.get(leader)! } };
}

/** What apply's verify saw (settleMesos' last look), as looks: no probe of its own. */
export function askedByVerify(
  p: Pick<Session, 'spec' | 'topology'>,
  withMesos: readonly string[],
  seen: MesosLook | undefined,
): MastersAsked {
  const { masterPort } = servicePorts(p.spec, p.topology);
  const looks = new Map<string, MasterLook>();
  for (const m of p.topology.masters) {
    const h = seen?.health.get(m.name);
    if (!withMesos.includes(m.name))
      looks.set(m.name, { answered: false, elected: false, reason: 'mesos-master is not installed' });
    else if (h === undefined) looks.set(m.name, { answered: false, elected: false, reason: 'not asked' });
    else
      looks.set(m.name, {
        answered: h.answered,
        elected: h.elected,
        ...(h.answered ? {} : { reason: `no answer on port ${masterPort}` }),
      });
  }
  return { looks, listed: seen?.listed };
}

/** Every master marked with the same reason, asked nothing (apply --cloud-only uses no SSH). */
export function askedNone(topology: Topology, reason: string): MastersAsked {
  return {
    looks: new Map(topology.masters.map((m) => [m.name, { answered: false, elected: false, reason }])),
    listed: undefined,
  };
}

/** The block, from the spec's ports and scheme, a topology and what the masters said. */
export function endpointsOf(
  p: Pick<Session, 'spec'>,
  topology: Topology,
  asked: MastersAsked,
  balancers: readonly ProviderBalancer[] | undefined,
): Endpoints {
  const ports = servicePorts(p.spec, topology);
  return assembleEndpoints({
    topology,
    scheme: p.spec.security.ssl?.enabled === true ? 'https' : 'http',
    masterPort: ports.masterPort,
    agentPorts: ports.agentPorts,
    marathonPort: p.spec.marathon.enabled ? ports.marathonPort : undefined,
    ...asked,
    balancers,
    addons: p.spec.addons.map((a) => ({
      name: a.name,
      hosts: addonHosts(p.spec, topology, a.on),
      ports: a.ports,
      health: a.health,
    })),
  });
}
