// Which unreachable hosts a run may skip: agents only, within their group's maxUnreachable.
import type { Topology } from '../model/topology.js';
import { batchSize } from './plan.js';

/** A host the run could not reach and skips: it is not planned, applied or recorded this time. */
export interface UnreachableHost {
  host: string;
  address: string;
  /** Why, as the connection failed: `cannot connect to 198.18.0.99:22 after 4 attempts: ...`. */
  reason: string;
}

/** How many agents of a group may be skipped: an integer as written, a percentage at least 1. */
export function unreachableBudget(maxUnreachable: string | number, count: number): number {
  // A percentage is read as maxUnavailable's is; only an integer may be 0 here.
  if (typeof maxUnreachable === 'number') return Math.max(0, maxUnreachable);
  return batchSize(maxUnreachable, count);
}

export type Verdict =
  | { ok: true; skip: UnreachableHost[] }
  /** `host` set: that host alone stops the run (a master or ZooKeeper member); else a group's budget. */
  | { ok: false; host?: string; message: string; hint: string };

/**
 * Whether a run can go on without the hosts it could not reach (`failed`: host -> reason). Masters
 * and ZooKeeper members never: the quorum rules need every one of them. Agents within their group's
 * budget are skipped. The verdict is the same whatever order the connections failed in.
 */
export function unreachableVerdict(topology: Topology, failed: ReadonlyMap<string, string>): Verdict {
  const hosts = [...failed.keys()].sort();
  const vital = hosts.find((h) => topology.hosts.find((t) => t.name === h)?.roles.some((r) => r !== 'agent'));
  if (vital !== undefined) {
    const roles = topology.hosts.find((t) => t.name === vital)!.roles.filter((r) => r !== 'agent');
    return {
      ok: false,
      host: vital,
      message: `${vital} (${roles.join(', ')}) is unreachable: ${failed.get(vital)}`,
      hint: 'a master or ZooKeeper member is never skipped (the quorum rules need it): bring it back, or replace it in the spec',
    };
  }
  const over: string[] = [];
  for (const g of topology.agentGroups) {
    const down = g.hosts.filter((h) => failed.has(h)).sort();
    const budget = unreachableBudget(g.maxUnreachable, g.hosts.length);
    if (down.length > budget) {
      over.push(
        `${down.length} of ${g.hosts.length} agents of group ${g.name} are unreachable (${down.join(', ')}), more than its maxUnreachable allows (${budget})`,
      );
    }
  }
  if (over.length > 0) {
    return {
      ok: false,
      message: `${over.join('; ')}: ${hosts.map((h) => `${h}: ${failed.get(h)}`).join('; ')}`,
      hint: 'bring the agents back, remove them from the spec, or raise agents[].maxUnreachable for this run',
    };
  }
  const address = (h: string): string => topology.hosts.find((t) => t.name === h)?.address ?? '';
  return { ok: true, skip: hosts.map((h) => ({ host: h, address: address(h), reason: failed.get(h)! })) };
}
