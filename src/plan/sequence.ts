// The order of a membership change, as a pure function of what runs now and what is wanted.
//
// ZooKeeper (static rolling method, one member per round): every round moves the ensemble from one
// server list to another that differs by one member. Two lists that differ by one member cannot
// both have a majority among disjoint sets of members (n/2+1 + (n+1)/2+1 > n+1), so no round can
// elect two leaders. Within a round: a new member starts with the new list, the others restart
// with it one at a time (followers first, the leader last); a leaving member that leads hands the
// leadership over first (restarted with its own list), and is stopped once the others run without it.
//
// Masters (the Mesos operational guide, "Changing the master quorum"): to grow, restart the
// running masters with the new --quorum (standbys first, the leader last), then start the new ones;
// to shrink, stop the removed masters first, then restart the others with the new quorum. At no
// moment do more masters run than twice the lowest quorum minus one. From one master (quorum 1) to
// more, the replicated log must be started anew: the registry is reset.
import { MesoError } from '../util/errors.js';
import type { MasterMembershipStep } from './types.js';

/** A server list: `server.N` value by N. */
export type ZkList = ReadonlyMap<number, string>;

export interface ZkMember {
  host: string;
  /** Its `server.N` id and line (`address:peer:election`). */
  id: number;
  value: string;
  running: boolean;
  /** ZooKeeper says it leads. */
  leader: boolean;
  /** The list in its zoo.cfg now (the one it runs with, unless `pending`). */
  list: ZkList | undefined;
  /** Its zoo.cfg was written by an interrupted step whose restart never happened. */
  pending?: boolean;
}

export interface ZkStep {
  host: string;
  action: 'start' | 'restart' | 'stop';
  /** Written into its zoo.cfg first (start, restart). */
  list?: ZkList;
  /** 1-based; 0 finishes a round an earlier apply left half done. */
  round: number;
  why: string;
  /** Without a majority while this step runs (ensembles of 1 or 2 members: unavoidable). */
  outage: boolean;
  /** After the step, wait until these members serve with one leader; empty: do not wait yet. */
  serving: string[];
  /** Hand-over: also wait until another member leads. */
  handover?: boolean;
}

export interface ZkSequence {
  method: 'static';
  from: number;
  to: number;
  steps: ZkStep[];
}

const maj = (l: ZkList): number => Math.floor(l.size / 2) + 1;
const key = (l: ZkList): string =>
  [...l]
    .sort(([a], [b]) => a - b)
    .map(([i, v]) => `${i}=${v}`)
    .join(',');
export const sameList = (a: ZkList, b: ZkList): boolean => key(a) === key(b);
/** How many servers are added, removed or changed between two lists. */
export function listDistance(a: ZkList, b: ZkList): number {
  let d = 0;
  for (const [i, v] of a) if (b.get(i) !== v) d++;
  for (const i of b.keys()) if (!a.has(i)) d++;
  return d;
}
export const listText = (l: ZkList): string => [...l.keys()].sort((a, b) => a - b).join(',');

/** One server of the ensemble (an id at an address) and what the sequencer assumes of it. */
interface Entity {
  host: string;
  id: number;
  value: string;
  running: boolean;
  list: ZkList | undefined;
}

/** The world the sequencer simulates: who runs with which list, who leads and who follows. */
interface World {
  members: Map<string, Entity>;
  leader: string | undefined;
  /** Entity keys that follow the leader (and the leader). */
  following: Set<string>;
}

const entityKey = (id: number, value: string): string => `${id}=${value}`;
const inList = (l: ZkList, e: { id: number; value: string }): boolean => l.get(e.id) === e.value;

/**
 * Who leads and who follows once the world has settled, or no leader. A leader keeps leading while
 * the members following it that are in its list are a majority of its list. Without one, an
 * election: a member c is elected when the running members of its list that have c in theirs are
 * a majority of its list (the highest id wins among several, as ZooKeeper breaks ties by id), and
 * a member follows it when a majority of its own list would vote c. A member that starts later
 * joins the leader when a majority of its list, not counting itself, already follows it. A member
 * alone in its list runs standalone (ZooKeeper's standaloneEnabled): no other member can follow it.
 */
function settle(w: World): { leader: string | undefined; following: Set<string> } {
  const run = [...w.members].filter(([, m]) => m.running && m.list !== undefined);
  // A member alone in its list runs standalone: it neither votes for nor follows another.
  const alone = (e: Entity): boolean => e.list!.size === 1;
  const voters = (list: ZkList, c: Entity): number =>
    run.filter(([, o]) => inList(list, o) && inList(o.list!, c) && (o === c || !alone(o))).length;
  let leader: string | undefined;
  let follows = new Set<string>();
  const cur = w.leader === undefined ? undefined : w.members.get(w.leader);
  if (cur?.running === true && cur.list !== undefined) {
    const kept = new Set(
      [...w.following].filter((k) => {
        const o = w.members.get(k);
        return o?.running === true && o.list !== undefined && inList(o.list, cur) && !alone(o) && !alone(cur);
      }),
    );
    kept.add(w.leader!);
    if ([...kept].filter((k) => inList(cur.list!, w.members.get(k)!)).length >= maj(cur.list)) {
      leader = w.leader;
      follows = kept;
    }
  }
  if (leader === undefined) {
    const elected = run
      .filter(([, c]) => inList(c.list!, c) && voters(c.list!, c) >= maj(c.list!))
      .sort(([, a], [, b]) => b.id - a.id)[0];
    if (elected === undefined) return { leader: undefined, following: new Set() };
    leader = elected[0];
    const c = elected[1];
    follows = new Set(
      run
        .filter(
          ([k, o]) =>
            k === leader ||
            (!alone(c) && !alone(o) && inList(o.list!, c) && voters(o.list!, c) >= maj(o.list!)),
        )
        .map(([k]) => k),
    );
  }
  const lm = w.members.get(leader)!;
  for (let grew = true; grew;) {
    grew = false;
    for (const [k, m] of run) {
      if (follows.has(k) || !inList(m.list!, lm) || alone(lm) || alone(m)) continue;
      const others = run.filter(([o, om]) => o !== k && follows.has(o) && inList(m.list!, om));
      if (others.length >= maj(m.list!)) {
        follows.add(k);
        grew = true;
      }
    }
  }
  return { leader, following: follows };
}

/** One list after another from `cur` to `desired`, each one member apart. */
export function listPath(cur: ZkList, desired: ZkList): ZkList[] {
  let at = new Map(cur);
  const path: ZkList[] = [];
  const step = (f: (m: Map<number, string>) => void): void => {
    at = new Map(at);
    f(at);
    path.push(at);
  };
  const ids = [...desired.keys()].sort((a, b) => a - b);
  // Moved members (same N, another address or ports) first: out, then in at the new address.
  for (const id of ids) {
    if (!at.has(id) || at.get(id) === desired.get(id)) continue;
    step((m) => m.delete(id));
    step((m) => m.set(id, desired.get(id)!));
  }
  for (const id of ids) if (!at.has(id)) step((m) => m.set(id, desired.get(id)!));
  for (const id of [...at.keys()].sort((a, b) => b - a)) if (!desired.has(id)) step((m) => m.delete(id));
  return path;
}

/**
 * The steps that take a running ensemble from its members' lists to `desired`, or undefined when
 * there is nothing to change (no member runs, or every running member runs the desired list).
 * Throws PlanUnsafe when a member that stays is down, or a round would leave an ensemble of three
 * or more without a majority; ensembles of one or two cannot avoid that moment, which is marked.
 */
export function zkSequence(
  members: readonly ZkMember[],
  desired: ZkList,
  hostOf: (id: number, value: string) => string | undefined,
): ZkSequence | undefined {
  const running = members.filter((m) => m.running && m.list !== undefined);
  if (running.length === 0) return undefined;
  const lists: ZkList[] = [];
  for (const m of running) if (!lists.some((l) => sameList(l, m.list!))) lists.push(m.list!);
  if (lists.length === 1 && sameList(lists[0]!, desired) && !running.some((m) => m.pending === true))
    return undefined;
  if (lists.length > 2 || (lists.length === 2 && listDistance(lists[0]!, lists[1]!) !== 1)) {
    throw new MesoError(
      'PlanUnsafe',
      `the running ZooKeeper members do not agree on the ensemble: ${running
        .map((m) => `${m.host} has servers ${listText(m.list!)}`)
        .join('; ')}`,
      {
        hint: 'these lists were not left by one meso round: put the same server.N lines on every member (restart them one at a time, the leader last), then plan again',
      },
    );
  }
  // Two lists one member apart: a round an earlier apply did not finish; it is finished first. The
  // newer list is the one the older leads to on the way to `desired` (else the closer one).
  const next = (a: ZkList): ZkList | undefined => listPath(a, desired)[0];
  const [l0, l1] = [lists[0]!, lists[1]];
  const cur =
    l1 === undefined
      ? l0
      : next(l0) !== undefined && sameList(next(l0)!, l1)
        ? l1
        : next(l1) !== undefined && sameList(next(l1)!, l0)
          ? l0
          : listDistance(l0, desired) <= listDistance(l1, desired)
            ? l0
            : l1;
  const older = l1 === undefined ? cur : sameList(cur, l0) ? l1 : l0;
  const w: World = { members: new Map(), leader: undefined, following: new Set() };
  const label = (id: number, value: string): string =>
    hostOf(id, value) ?? `server.${id} (${value.split(':')[0] ?? value})`;
  for (const m of members)
    w.members.set(entityKey(m.id, m.value), {
      host: m.host,
      id: m.id,
      value: m.value,
      running: m.running && m.list !== undefined,
      // A member whose file was written and whose restart did not follow runs the older list.
      list:
        m.pending === true && m.list !== undefined && l1 !== undefined && sameList(m.list, cur)
          ? older
          : m.list,
    });
  const entity = (id: number, value: string): Entity => {
    const k = entityKey(id, value);
    let e = w.members.get(k);
    if (e === undefined) {
      e = { host: label(id, value), id, value, running: false, list: undefined };
      w.members.set(k, e);
    }
    return e;
  };
  for (const [id, v] of cur) entity(id, v);
  const leading = running.find((m) => m.leader);
  w.leader = leading === undefined ? undefined : entityKey(leading.id, leading.value);
  // What runs is taken to have settled: members whose list has the leader follow it.
  w.following = settle({ ...w, following: new Set(running.map((m) => entityKey(m.id, m.value))) }).following;
  w.leader = settle(w).leader;
  const down = [...cur]
    .filter(([id, v]) => desired.get(id) === v && !entity(id, v).running)
    .map(([id, v]) => entity(id, v).host);
  if (down.length > 0 && !sameList(cur, desired)) {
    throw new MesoError(
      'PlanUnsafe',
      `changing the ZooKeeper ensemble (servers ${listText(cur)} -> ${listText(desired)}) needs every member that stays to be up, and ${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down: each round counts on ${down.length === 1 ? 'it' : 'them'} for its majority`,
      {
        hint: `bring ${down.join(', ')} back first: apply the spec with the ensemble as it runs now (meso starts a member that is down and recreates a local or aws host that is gone), then change the members`,
      },
    );
  }
  const pending = new Set(running.filter((m) => m.pending === true).map((m) => entityKey(m.id, m.value)));
  const steps: ZkStep[] = [];
  const runningHosts = (): string[] =>
    [...w.members.values()]
      .filter((m) => m.running)
      .map((m) => m.host)
      .sort();

  const round = (n: number, from: ZkList, target: ZkList): void => {
    const first = steps.length;
    const act = (k: string, action: ZkStep['action'], list: ZkList | undefined, why: string): ZkStep => {
      const m = w.members.get(k)!;
      // While the step runs the member is down: does a leader keep, or get, a majority?
      m.running = false;
      w.following.delete(k);
      let s = settle(w);
      const outage = s.leader === undefined;
      w.leader = s.leader;
      w.following = s.following;
      if (action !== 'stop') {
        m.running = true;
        m.list = list;
      }
      s = settle(w);
      w.leader = s.leader;
      w.following = s.following;
      const all = [...w.members].filter(([, x]) => x.running).map(([x]) => x);
      const step: ZkStep = {
        host: m.host,
        action,
        ...(list === undefined ? {} : { list }),
        round: n,
        why,
        outage,
        serving: s.leader !== undefined && all.every((x) => s.following.has(x)) ? runningHosts() : [],
      };
      steps.push(step);
      return step;
    };
    const leaving = [...w.members]
      .filter(([, m]) => m.running && !inList(target, m))
      .map(([k]) => k)
      .sort();
    // Down to 1 or 2 members the round cannot keep a majority anyway: the leaving members stop
    // first (a leaving member left running was seen, on real ZooKeeper, to win the leadership back).
    const stopFirst = target.size <= 2;
    if (stopFirst)
      for (const k of leaving) act(k, 'stop', undefined, 'leaves the ensemble: stopped, disabled and masked');
    for (const k of leaving) {
      if (stopFirst || k !== w.leader || target.size < 2) continue;
      // The others elect among themselves while it is down; it then follows their leader.
      const s = act(
        k,
        'restart',
        w.members.get(k)!.list,
        'leaves the ensemble and leads: hands the leadership over first',
      );
      s.handover = true;
    }
    for (const [id, v] of [...target].sort(([a], [b]) => a - b)) {
      const e = entity(id, v);
      if (!e.running) act(entityKey(id, v), 'start', target, 'joins with the new list');
    }
    const restart = [...w.members]
      .filter(([k, m]) => m.running && inList(target, m) && (!sameList(m.list!, target) || pending.has(k)))
      .map(([k]) => k)
      .sort(
        (a, b) =>
          Number(a === w.leader) - Number(b === w.leader) ||
          w.members.get(a)!.host.localeCompare(w.members.get(b)!.host),
      );
    for (const k of restart) {
      pending.delete(k);
      act(k, 'restart', target, k === w.leader ? 'the leader last' : 'followers first');
    }
    if (!stopFirst)
      for (const k of leaving) act(k, 'stop', undefined, 'leaves the ensemble: stopped, disabled and masked');
    // A step that could not be waited for (no majority yet) is waited for at the end of its round.
    const last = steps[steps.length - 1];
    const settled = [...w.members].every(([k, x]) => !x.running || w.following.has(k));
    if (
      last !== undefined &&
      steps.length > first &&
      last.serving.length === 0 &&
      w.leader !== undefined &&
      settled
    )
      last.serving = runningHosts();
    const lost = steps.slice(first).find((s) => s.outage);
    if (lost !== undefined && Math.min(target.size, from.size) >= 3) {
      throw new MesoError(
        'PlanUnsafe',
        `${lost.action === 'stop' ? 'stopping' : 'restarting'} ${lost.host} on the way to servers ${listText(target)} would leave the ZooKeeper ensemble without a majority`,
        { hint: 'bring every member of the ensemble up, then plan again' },
      );
    }
  };

  const unfinished =
    [...w.members].some(
      ([k, m]) => m.running && inList(cur, m) && (!sameList(m.list!, cur) || pending.has(k)),
    ) || [...w.members.values()].some((m) => m.running && !inList(cur, m));
  if (unfinished) round(0, older, cur);
  let n = 0;
  let from = cur;
  for (const l of listPath(cur, desired)) {
    if (l.size === 0) throw new MesoError('PlanUnsafe', 'the ZooKeeper ensemble cannot lose every member');
    round(++n, from, l);
    from = l;
  }
  return { method: 'static', from: cur.size, to: desired.size, steps };
}

/** What a registry reset loses, in plain words (the plan and apply's refusal say it). */
export const REGISTRY_RESET = [
  "going from one master to more wipes the masters' replicated log (the Mesos operational guide's only way):",
  'the registry is lost: the list of registered agents (running agents register again), maintenance',
  'schedules, quotas and weights; apply refuses this unless it is given --allow-registry-reset',
];

/** A master's step as the sequencer makes it (the plan adds where its log lives). */
export type MasterStep = Omit<MasterMembershipStep, 'workDir'>;

export interface MasterSequence {
  from: number;
  to: number;
  /** From one master to more: the replicated log starts anew and the registry is lost. */
  registryReset: boolean;
  steps: MasterStep[];
}

/**
 * The Mesos operational guide's order for a change of the masters' quorum or of the running
 * masters, or undefined when neither changes. `running` are the desired masters that run now,
 * `absent` the desired ones that do not, `removed` masters that run and are no longer wanted.
 */
export function masterSequence(m: {
  running: readonly string[];
  absent: readonly string[];
  removed: readonly string[];
  leader: string | undefined;
  from: number;
  to: number;
}): MasterSequence | undefined {
  const { from, to } = m;
  if (from === to && m.removed.length === 0) return undefined;
  if (m.running.length === 0 && m.removed.length === 0) return undefined;
  const byLeader = (hosts: readonly string[]): string[] =>
    [...hosts].sort((a, b) => Number(a === m.leader) - Number(b === m.leader) || a.localeCompare(b));
  const steps: MasterStep[] = [];
  const starts = (hosts: readonly string[], why: string): void =>
    hosts.forEach((host, i) =>
      steps.push({
        host,
        action: 'start',
        quorum: to,
        why,
        settle: i < hosts.length - 1 ? 'answer' : 'cluster',
      }),
    );
  if (from === 1 && to > 1) {
    // A log written with quorum 1 cannot be read by a quorum of 2: every replica starts empty.
    for (const host of [...m.removed].sort())
      steps.push({ host, action: 'stop', why: 'removed: stopped, disabled and masked', settle: 'none' });
    for (const host of [...m.running].sort())
      steps.push({
        host,
        action: 'stop',
        why: 'the replicated log starts anew: stopped, its log moved aside',
        settle: 'none',
        stays: true,
      });
    starts([...m.running, ...m.absent].sort(), 'starts with an empty log; the registry is new');
    return { from, to, registryReset: true, steps };
  }
  for (const host of [...m.removed].sort())
    steps.push({
      host,
      action: 'stop',
      why: 'removed first, so that no more masters run than the quorum allows',
      settle: 'none',
    });
  if (from !== to)
    for (const host of byLeader(m.running))
      steps.push({
        host,
        action: 'restart',
        quorum: to,
        why: host === m.leader ? 'the leading master last' : 'standby masters first',
        settle: 'cluster',
      });
  starts(
    [...m.absent].sort(),
    to > from ? 'new masters once the others run the new quorum' : 'one at a time',
  );
  return { from, to, registryReset: false, steps };
}
