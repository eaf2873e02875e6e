// What the membership sequencer needs to know of the world: each ZooKeeper member's server list and
// role, whether removed hosts still run ZooKeeper or a master, the masters' current --quorum.
import type { LiveState } from '../apply/schedule.js';
import { membershipPlan, zkServers } from '../plan/membership.js';
import type { MembershipInput } from '../plan/membership.js';
import type { ObservedHost } from '../plan/plan.js';
import type { ZkMember } from '../plan/sequence.js';
import type { Membership } from '../plan/types.js';
import { DEFAULT_WORK_DIR, MASTER_QUORUM_FILE, ZK_CONF } from '../render/paths.js';
import { leadingMaster, probe } from '../verify/gates.js';
import { gateOptions } from './prepare.js';
import type { Session } from './prepare.js';

/** A host gone from the spec: does it still run ZooKeeper or a master, with which list? */
interface RemovedHost {
  name: string;
  zookeeper: boolean;
  master: boolean;
  leader: boolean;
  list: Map<number, string> | undefined;
}

const REMOVED_SCRIPT = `for u in zookeeper.service mesos-master.service; do printf '%s\\t%s\\n' "$u" "$(systemctl is-active -- "$u" 2>/dev/null)"; done; echo ---; cat -- ${ZK_CONF} 2>/dev/null; true`;

async function observeRemoved(p: Session, name: string): Promise<RemovedHost> {
  const none: RemovedHost = { name, zookeeper: false, master: false, leader: false, list: undefined };
  try {
    const conn = await p.pool.get(name);
    const r = await conn.exec(REMOVED_SCRIPT);
    const [units = '', cfg = ''] = r.stdout.split('\n---\n');
    const active = (u: string): boolean => units.split('\n').includes(`${u}\tactive`);
    const zookeeper = active('zookeeper.service');
    const mode = zookeeper ? (await probe(gateOptions(p), name, { zk: true, http: [] })).zkMode : undefined;
    return {
      name,
      zookeeper,
      master: active('mesos-master.service'),
      leader: mode === 'leader',
      list: zookeeper ? zkServers(cfg) : undefined,
    };
  } catch {
    // A host that cannot be reached runs nothing the others can count on.
    return none;
  }
}

const pendingStep = (p: Session, host: string, service: string): boolean =>
  p.state.hosts[host]?.pending?.some((x) => x.service === service && x.membership === true) === true;

/**
 * The membership steps of this plan (undefined when the ensemble and the masters keep their
 * members and quorum), from the observation: contents of changed files were read for the diff, a
 * file that does not change has the desired content already.
 */
export async function membershipOf(
  p: Session,
  live: LiveState,
  observed: ReadonlyMap<string, ObservedHost>,
): Promise<Membership | undefined> {
  const removed = await Promise.all(
    p.toRemove
      .filter((n) => {
        const files = Object.keys(p.state.hosts[n]?.files ?? {});
        return files.includes(ZK_CONF) || files.some((f) => f.startsWith('/etc/mesos-master/'));
      })
      .map((n) => observeRemoved(p, n)),
  );
  const running = (h: string, s: 'zookeeper' | 'mesos-master'): boolean =>
    live.running.get(h)?.has(s) === true;
  const input: MembershipInput = {};
  const cfg = p.desired.hosts
    .find((h) => h.host.roles.includes('zookeeper'))
    ?.files.find((f) => f.path === ZK_CONF);
  if (cfg !== undefined) {
    const desired = zkServers(cfg.content);
    const names = new Map<string, string>();
    for (const h of p.topology.hosts) for (const a of [h.privateAddress, h.address]) names.set(a, h.name);
    for (const [n, h] of Object.entries(p.state.hosts))
      for (const a of [h.privateAddress, h.address]) if (!names.has(a)) names.set(a, n);
    const addressOf = (value: string): string => value.split(':')[0] ?? value;
    const members: ZkMember[] = p.topology.ensemble.map((h) => {
      const up = running(h.name, 'zookeeper');
      const now = observed.get(h.name)?.contents?.get(ZK_CONF);
      return {
        host: h.name,
        id: h.zkId ?? 0,
        value: desired.get(h.zkId ?? 0) ?? '',
        running: up,
        leader: live.zkMode.get(h.name) === 'leader',
        list: up ? (now === undefined ? desired : zkServers(now)) : undefined,
        ...(pendingStep(p, h.name, 'zookeeper') ? { pending: true } : {}),
      };
    });
    for (const r of removed) {
      if (!r.zookeeper || r.list === undefined) continue;
      const st = p.state.hosts[r.name]!;
      const entry = [...r.list].find(([, v]) => [st.privateAddress, st.address].includes(addressOf(v)));
      if (entry === undefined) continue;
      members.push({
        host: r.name,
        id: entry[0],
        value: entry[1],
        running: true,
        leader: r.leader,
        list: r.list,
      });
    }
    input.zookeeper = { desired, members, hostOf: (_id, value) => names.get(addressOf(value)) };
  }
  const masters = p.topology.masters.map((m) => m.name);
  const up = masters.filter((m) => running(m, 'mesos-master'));
  const removedMasters = removed.filter((r) => r.master).map((r) => r.name);
  if (up.length > 0 || removedMasters.length > 0) {
    // The quorum the running masters run with: their quorum file, unless a step wrote it and the
    // restart did not follow (then the others' tell).
    const quorums = up
      .filter((m) => !pendingStep(p, m, 'mesos-master'))
      .map((m) => {
        const now = observed.get(m)?.contents?.get(MASTER_QUORUM_FILE);
        return now !== undefined && /^\s*\d+\s*$/.test(now) ? Number(now.trim()) : p.topology.quorum;
      });
    const from = quorums.length === 0 ? p.topology.quorum : Math.min(...quorums);
    if (from !== p.topology.quorum || removedMasters.length > 0) {
      const leader = up.length === 0 ? undefined : await leadingMaster(gateOptions(p), up);
      input.masters = {
        running: up,
        absent: masters.filter((m) => !up.includes(m)),
        removed: removedMasters,
        leader,
        from,
        to: p.topology.quorum,
        workDir: String(p.spec.masters.flags['work_dir'] ?? DEFAULT_WORK_DIR),
      };
    }
  }
  return membershipPlan(input);
}
