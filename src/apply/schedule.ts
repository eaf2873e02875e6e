import type { ZkMode } from '../observe/observe.js';
import type { EnsembleChange } from '../plan/membership.js';
import type { Plan, ServiceChange } from '../plan/types.js';
import { MASTER_QUORUM_FILE } from '../render/paths.js';
import type { ServiceName } from '../render/types.js';
import { MesoError } from '../util/errors.js';

/** What must hold before the next wave starts. */
export type Gate = 'zk-leader' | 'master-healthy' | 'marathon-ping' | 'agents-registered';

/** Services started or restarted together; the next wave waits for `gate`. */
export interface Wave {
  service: ServiceName;
  action: 'start' | 'restart';
  hosts: string[];
  gate: Gate;
  why: string;
  /**
   * Masters: 'answer' waits only for the started master to answer (a new replicated log needs
   * every replica before any can recover); 'cluster' (the default) also waits for its replica to
   * recover and a leader to be elected with the registry recovered.
   */
  settle?: 'answer' | 'cluster';
}

/** What runs now, as observed: which services are active where, and ZooKeeper's roles. */
export interface LiveState {
  running: ReadonlyMap<string, ReadonlySet<ServiceName>>;
  zkMode: ReadonlyMap<string, ZkMode>;
  /** The masters' quorum (replicated log). */
  masterQuorum: number;
  /** The master Mesos says is leading (`master/elected`), asked when the plan restarts masters. */
  masterLeader?: string;
  /** The running ZooKeeper members' server lists differ from the desired one (observed at plan time). */
  zkChange?: EnsembleChange;
  /** The running masters' --quorum differs from the desired one (observed at plan time). */
  masterQuorumChange?: { from: number; to: number };
}

const GATE: Readonly<Record<ServiceName, Gate>> = {
  zookeeper: 'zk-leader',
  'mesos-master': 'master-healthy',
  marathon: 'marathon-ping',
  'mesos-agent': 'agents-registered',
};

const isRunning = (live: LiveState, host: string, s: ServiceName): boolean =>
  live.running.get(host)?.has(s) === true;

/**
 * Refuse a rolling restart that would leave fewer than `quorum` members up at any moment, counting
 * the members that are down already.
 */
function checkQuorum(
  what: string,
  members: readonly string[],
  restarting: readonly string[],
  /** Members started (they were down) before any restart: each gated until it is back. */
  starting: readonly string[],
  quorum: number,
  live: LiveState,
  service: ServiceName,
): void {
  // Restarting members that are down takes nothing down; a single member has no quorum to keep.
  if (!restarting.some((h) => isRunning(live, h, service)) || members.length === 1) return;
  // Members that are down and started or restarted too go first, each gated until it is back.
  const down = members.filter(
    (h) => !isRunning(live, h, service) && !restarting.includes(h) && !starting.includes(h),
  );
  const upDuringRestart = members.length - down.length - 1;
  if (upDuringRestart < quorum) {
    throw new MesoError(
      'PlanUnsafe',
      `restarting ${what} one at a time would leave ${upDuringRestart} of ${members.length} up, below the quorum of ${quorum}` +
        (down.length > 0 ? ` (down now: ${down.join(', ')})` : ''),
      {
        hint:
          down.length > 0
            ? `bring ${down.join(', ')} back first, then apply again`
            : `${what} needs at least ${quorum + 1} members to restart one at a time`,
      },
    );
  }
}

/**
 * A running ensemble whose members would get another server list. Done as a rolling restart, the
 * members with the old list and those with the new one could each form a majority of their own
 * list and elect two leaders; meso does not do membership changes yet, so it says so and what the
 * safe manual procedure is (ZooKeeper's: one member at a time).
 */
function membershipRefusal(c: EnsembleChange): MesoError {
  if (c.disagreeing.length > 0) {
    return new MesoError(
      'PlanUnsafe',
      `the running ZooKeeper members do not agree on the ensemble: the server lists in zoo.cfg differ between ${c.disagreeing.join(', ')}`,
      {
        hint: 'a membership change was left half done: finish it by hand (the same server.N lines on every member, each restarted one at a time, the leader last) or put the earlier lists back, then plan again',
      },
    );
  }
  const parts = [
    ...(c.added.length > 0 ? [`adding ${c.added.join(', ')}`] : []),
    ...(c.removed.length > 0 ? [`removing ${c.removed.join(', ')}`] : []),
    ...(c.changed.length > 0 ? [`changing ${c.changed.join(', ')}`] : []),
  ];
  const grow = c.added.length > 0 && c.removed.length === 0 && c.changed.length === 0;
  const shrink = c.removed.length > 0 && c.added.length === 0 && c.changed.length === 0;
  const what = grow
    ? `growing the ZooKeeper ensemble from ${c.current} to ${c.desired} members`
    : shrink
      ? `shrinking the ZooKeeper ensemble from ${c.current} to ${c.desired} members`
      : "changing the ZooKeeper ensemble's members";
  const byHand = grow
    ? 'for each new member: start it with the current list plus itself, then restart the current members one at a time with that list, followers first, the leader last'
    : shrink
      ? 'for each member to remove: stop and disable it, then restart the others one at a time with the list without it, followers first, the leader last'
      : 'one member at a time: remove the old entry (stop that member, restart the others with the shorter list), then add the new one (start it with the list plus itself, restart the others with that list), followers first, the leader last';
  return new MesoError(
    'PlanUnsafe',
    `${what} (${parts.join('; ')}) needs a membership change one member at a time, which meso does not do yet: restarting the members with the new list could elect two leaders`,
    {
      hint: `keep the spec's ZooKeeper members (the masters, or zookeeper.hosts) as they run now; to change them by hand, ${byHand}`,
    },
  );
}

/**
 * Running masters whose --quorum would change. The Mesos operational guide's order (to grow:
 * restart the running masters with the new quorum, then start the new ones; to shrink: stop the
 * removed masters first) is not what a rolling restart does: started alongside the running masters,
 * new ones would run more masters than the old quorum allows, which can corrupt the replicated log.
 */
function quorumRefusal(c: { from: number; to: number }): MesoError {
  const byHand =
    c.to > c.from
      ? `restart the running masters one at a time with --quorum=${c.to} (${MASTER_QUORUM_FILE}; while one restarts the registry cannot be written), then start the new masters`
      : `stop and disable the masters being removed, then restart the others one at a time with --quorum=${c.to} (${MASTER_QUORUM_FILE})`;
  return new MesoError(
    'PlanUnsafe',
    `changing the masters' quorum from ${c.from} to ${c.to} while they run needs the order of the Mesos operational guide, which meso does not follow yet: restarted and started as usual, more masters could run than a quorum allows and corrupt the replicated log`,
    { hint: `keep the masters and masters.quorum as they run now; to change them by hand, ${byHand}` },
  );
}

/** Restart the members that are down first: they take nothing down, and bring the quorum back. */
const downFirst = (hosts: readonly string[], live: LiveState, s: ServiceName): string[] => [
  ...hosts.filter((h) => !isRunning(live, h, s)),
  ...hosts.filter((h) => isRunning(live, h, s)),
];

/**
 * Order the service changes of a plan so that no step breaks a quorum: ZooKeeper first (a new
 * ensemble starts together; a running one restarts followers first, the leader last, one at a
 * time), then masters one at a time, Marathon one at a time, agents in batches.
 */
export function schedule(plan: Plan, live: LiveState): Wave[] {
  const waves: Wave[] = [];
  plan.phases.forEach((phase, index) => {
    const changes = plan.changes.filter((c): c is ServiceChange => c.kind === 'service' && c.phase === index);
    if (changes.length === 0) return;
    const starts = changes.filter((c) => c.action === 'create').map((c) => c.host);
    const restarts = changes.filter((c) => c.action === 'restart').map((c) => c.host);
    const service = phase.service;
    const gate = GATE[service];
    const running = phase.hosts.filter((h) => isRunning(live, h, service));

    if (service === 'zookeeper') {
      const quorum = Math.floor(phase.hosts.length / 2) + 1;
      if (running.length === 0) {
        // Every member is configured by now (files come before services): start them together.
        if (starts.length > 0)
          waves.push({
            service,
            action: 'start',
            hosts: starts,
            gate,
            why: 'a new ensemble starts together',
          });
        return;
      }
      if (live.zkChange !== undefined) throw membershipRefusal(live.zkChange);
      // A member started here may be joining with a new server list, so it is not counted on.
      checkQuorum('the ZooKeeper ensemble', phase.hosts, restarts, [], quorum, live, service);
      for (const h of starts)
        waves.push({
          service,
          action: 'start',
          hosts: [h],
          gate,
          why: 'a member joins the running ensemble',
        });
      const leader = restarts.filter((h) => live.zkMode.get(h) === 'leader');
      const followers = downFirst(
        restarts.filter((h) => live.zkMode.get(h) !== 'leader'),
        live,
        service,
      );
      for (const h of followers)
        waves.push({ service, action: 'restart', hosts: [h], gate, why: 'followers first' });
      for (const h of leader)
        waves.push({ service, action: 'restart', hosts: [h], gate, why: 'the leader last' });
      return;
    }
    if (service === 'mesos-master') {
      if (live.masterQuorumChange !== undefined && running.length > 0)
        throw quorumRefusal(live.masterQuorumChange);
      checkQuorum('the masters', phase.hosts, restarts, starts, live.masterQuorum, live, service);
      starts.forEach((h, i) =>
        waves.push({
          service,
          action: 'start',
          hosts: [h],
          gate,
          why: 'one at a time',
          settle: i < starts.length - 1 ? 'answer' : 'cluster',
        }),
      );
      // The leading master last (as Mesos says, not ZooKeeper): each restart of a standby keeps the
      // leader, and the one failover comes when every other master is back.
      const byLeader = [
        ...downFirst(
          restarts.filter((h) => h !== live.masterLeader),
          live,
          service,
        ),
        ...restarts.filter((h) => h === live.masterLeader),
      ];
      for (const h of byLeader)
        waves.push({
          service,
          action: 'restart',
          hosts: [h],
          gate,
          why:
            live.masterLeader === undefined
              ? 'one at a time'
              : h === live.masterLeader
                ? 'the leading master last'
                : 'standby masters first',
          settle: 'cluster',
        });
      return;
    }
    if (phase.strategy === 'one-at-a-time') {
      for (const h of starts)
        waves.push({ service, action: 'start', hosts: [h], gate, why: 'one at a time' });
      for (const h of restarts)
        waves.push({ service, action: 'restart', hosts: [h], gate, why: 'one at a time' });
      return;
    }
    for (const [action, hosts] of [
      ['start', starts],
      ['restart', restarts],
    ] as const) {
      for (let i = 0; i < hosts.length; i += phase.batchSize) {
        waves.push({
          service,
          action,
          hosts: hosts.slice(i, i + phase.batchSize),
          gate,
          why: `batches of ${phase.batchSize}`,
        });
      }
    }
  });
  return waves;
}
