// Membership changes of the ZooKeeper ensemble and the masters, from what runs now (observed) to
// what the spec wants: the input the sequencer needs, and the plan's `membership` it returns.
import { masterSequence, zkSequence } from './sequence.js';
import type { ZkList, ZkMember } from './sequence.js';
import type { Membership } from './types.js';

/** `server.N=value` lines of a zoo.cfg, by N. */
export function zkServers(zooCfg: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of zooCfg.split('\n')) {
    const m = /^\s*server\.(\d+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m !== null) out.set(Number(m[1]), m[2]!);
  }
  return out;
}

/** A zoo.cfg with its `server.N` lines replaced by `servers` (where the first one was). */
export function withServers(zooCfg: string, servers: ReadonlyMap<number, string>): string {
  const lines = zooCfg.split('\n');
  const isServer = (l: string): boolean => /^\s*server\.\d+\s*=/.test(l);
  const at = lines.findIndex(isServer);
  const kept = lines.filter((l) => !isServer(l));
  const list = [...servers].sort(([a], [b]) => a - b).map(([id, v]) => `server.${id}=${v}`);
  kept.splice(at < 0 ? kept.length : at, 0, ...list);
  return kept.join('\n');
}

export const serversRecord = (l: ZkList): Record<string, string> =>
  Object.fromEntries([...l].sort(([a], [b]) => a - b).map(([id, v]) => [String(id), v]));

export interface MembershipInput {
  zookeeper?: {
    desired: ZkList;
    /** The spec's members and removed hosts that may still run ZooKeeper. */
    members: ZkMember[];
    hostOf: (id: number, value: string) => string | undefined;
  };
  masters?: {
    running: string[];
    absent: string[];
    removed: string[];
    leader: string | undefined;
    from: number;
    to: number;
    workDir: string;
  };
}

/** The plan's membership steps, or undefined when neither the ensemble nor the masters change. */
export function membershipPlan(i: MembershipInput): Membership | undefined {
  const zk =
    i.zookeeper === undefined
      ? undefined
      : zkSequence(i.zookeeper.members, i.zookeeper.desired, i.zookeeper.hostOf);
  const m = i.masters === undefined ? undefined : masterSequence(i.masters);
  if (zk === undefined && m === undefined) return undefined;
  return {
    ...(zk === undefined
      ? {}
      : {
          zookeeper: {
            method: zk.method,
            from: zk.from,
            to: zk.to,
            steps: zk.steps.map((s) => ({
              host: s.host,
              action: s.action,
              ...(s.list === undefined ? {} : { servers: serversRecord(s.list) }),
              round: s.round,
              why: s.why,
              outage: s.outage,
              serving: s.serving,
              ...(s.handover === true ? { handover: true } : {}),
            })),
          },
        }),
    ...(m === undefined
      ? {}
      : {
          masters: {
            from: m.from,
            to: m.to,
            registryReset: m.registryReset,
            steps: m.steps.map((s) => ({
              ...s,
              ...(s.action === 'stop' ? { workDir: i.masters!.workDir } : {}),
            })),
          },
        }),
  };
}
