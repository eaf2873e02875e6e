import type { ZkMode } from '../observe/observe.js';
import { REGISTRY_RESET } from '../plan/sequence.js';
import type { Membership, Phase, Plan, ServiceChange } from '../plan/types.js';
import type { AddonHealth } from '../addons/types.js';
import type { CoreService, ServiceName } from '../render/types.js';
import { isCoreService } from '../render/types.js';
import { MesoError } from '../util/errors.js';

/** What must hold before the next wave starts. */
export type Gate =
  | 'zk-leader'
  | 'zk-serving'
  | 'master-healthy'
  | 'marathon-ping'
  | 'agents-registered'
  | 'addon-healthy'
  | 'none';

/** A membership step (plan.membership): what is written before it, what is waited for after it. */
export interface WaveStep {
  /** ZooKeeper: the server list written into its zoo.cfg. */
  servers?: Record<string, string>;
  round?: number;
  /** ZooKeeper: these members serve with one leader after the step. */
  serving?: string[];
  /** ZooKeeper: and another member than this one leads. */
  handover?: boolean;
  outage?: boolean;
  /** Masters: the --quorum written into its quorum file. */
  quorum?: number;
  /** A stop that keeps the unit startable (registry reset). */
  stays?: boolean;
  /** Masters: the replicated log under it is moved aside when the master stops. */
  workDir?: string;
}

/** Services started or restarted together; the next wave waits for `gate`. */
export interface Wave {
  service: ServiceName;
  /** reload: an add-on whose config changed and that reloads (`systemctl reload`). */
  action: 'start' | 'restart' | 'stop' | 'reload';
  hosts: string[];
  gate: Gate;
  why: string;
  /**
   * Masters: 'answer' waits only for the started master to answer (a new replicated log needs
   * every replica before any can recover); 'cluster' (the default) also waits for its replica to
   * recover and a leader to be elected with the registry recovered.
   */
  settle?: 'answer' | 'cluster';
  step?: WaveStep;
  /** Add-ons: what `addon-healthy` checks on each host (none: the unit is active). */
  health?: AddonHealth;
}

/** What runs now, as observed: which services are active where, and ZooKeeper's roles. */
export interface LiveState {
  running: ReadonlyMap<string, ReadonlySet<ServiceName>>;
  zkMode: ReadonlyMap<string, ZkMode>;
  /** The masters' quorum (replicated log). */
  masterQuorum: number;
  /** The master Mesos says is leading (`master/elected`), asked when the plan restarts masters. */
  masterLeader?: string;
  /** Quorum add-ons (etcd): the member leading now, by service, asked when the plan restarts them. */
  addonLeaders?: ReadonlyMap<ServiceName, string>;
}

const GATE: Readonly<Record<CoreService, Gate>> = {
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
export function schedule(plan: Plan, live: LiveState, opts: { allowRegistryReset?: boolean } = {}): Wave[] {
  const m = plan.membership;
  if (m?.masters?.registryReset === true && opts.allowRegistryReset !== true) {
    throw new MesoError(
      'PlanUnsafe',
      `the masters go from one to ${m.masters.steps.filter((s) => s.action === 'start').length}: ${REGISTRY_RESET.join(' ')}`,
      {
        hint: 'to accept the loss, run meso apply --allow-registry-reset; to keep the registry, keep one master',
      },
    );
  }
  const waves: Wave[] = [];
  plan.phases.forEach((phase, index) => {
    const all = plan.changes.filter((c): c is ServiceChange => c.kind === 'service' && c.phase === index);
    const stepped = membershipWaves(m, phase.service);
    waves.push(...stepped);
    // What the membership steps start or restart is done; anything else goes the usual way.
    const changes = all.filter((c) => !stepped.some((w) => w.hosts.includes(c.host)));
    if (changes.length === 0) return;
    const starts = changes.filter((c) => c.action === 'create').map((c) => c.host);
    const restarts = changes.filter((c) => c.action === 'restart').map((c) => c.host);
    const service = phase.service;
    if (phase.addon !== undefined || !isCoreService(service)) {
      waves.push(...addonWaves(phase, changes, live));
      return;
    }
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

/**
 * An add-on's waves: a quorum service (etcd) starts a new cluster together and restarts a running
 * one a member at a time, followers first and the leader last, never below a majority; any other
 * add-on starts, restarts or reloads in batches of its maxUnavailable. Each wave waits for health.
 */
function addonWaves(phase: Phase, changes: readonly ServiceChange[], live: LiveState): Wave[] {
  const service = phase.service;
  const base = {
    service,
    gate: 'addon-healthy' as const,
    ...(phase.addon?.health === undefined ? {} : { health: phase.addon.health }),
  };
  const starts = changes.filter((c) => c.action === 'create').map((c) => c.host);
  const reloads = changes.filter((c) => c.action === 'restart' && c.reload === true).map((c) => c.host);
  const restarts = changes.filter((c) => c.action === 'restart' && c.reload !== true).map((c) => c.host);
  const waves: Wave[] = [];
  if (phase.addon?.quorum !== undefined) {
    // Established members: running as meso configured them (no new unit, no restart left over).
    const settling = new Set(
      changes.filter((c) => c.fresh === true || c.unsettled === true).map((c) => c.host),
    );
    const established = phase.hosts.filter((h) => !settling.has(h) && isRunning(live, h, service));
    if (established.length === 0) {
      return [
        {
          ...base,
          action: 'restart',
          hosts: [...starts, ...restarts, ...reloads],
          why: 'a new cluster starts together',
        },
      ];
    }
    const joining = changes.filter((c) => c.fresh === true).map((c) => c.host);
    if (joining.length > 0) {
      // A new member of a running cluster must be added to it first (its initial member list
      // would make it a cluster of its own): meso does not change a quorum add-on's membership.
      throw new MesoError(
        'PlanUnsafe',
        `${joining.join(', ')} would join the running ${service} cluster of ${established.join(', ')} as new members, which meso does not do`,
        {
          hint: `add them to the running cluster first (for etcd: etcdctl member add <name> --peer-urls=...), then apply; or run ${service} on the hosts it runs on now`,
        },
      );
    }
    const quorum = Math.floor(phase.hosts.length / 2) + 1;
    checkQuorum(service, phase.hosts, [...restarts, ...reloads], starts, quorum, live, service);
    const leader = live.addonLeaders?.get(service);
    for (const h of starts) waves.push({ ...base, action: 'start', hosts: [h], why: 'one at a time' });
    const ordered = [
      ...downFirst(
        [...restarts, ...reloads].filter((h) => h !== leader),
        live,
        service,
      ),
      ...[...restarts, ...reloads].filter((h) => h === leader),
    ];
    for (const h of ordered)
      waves.push({
        ...base,
        action: reloads.includes(h) ? 'reload' : 'restart',
        hosts: [h],
        why: leader === undefined ? 'one at a time' : h === leader ? 'the leader last' : 'followers first',
      });
    return waves;
  }
  for (const [action, hosts] of [
    ['start', starts],
    ['restart', restarts],
    ['reload', reloads],
  ] as const) {
    for (let i = 0; i < hosts.length; i += phase.batchSize)
      waves.push({
        ...base,
        action,
        hosts: hosts.slice(i, i + phase.batchSize),
        why: `batches of ${phase.batchSize}`,
      });
  }
  return waves;
}

/** The waves of a membership change of one service (ZooKeeper or the masters), in the plan's order. */
function membershipWaves(m: Membership | undefined, service: ServiceName): Wave[] {
  if (service === 'zookeeper' && m?.zookeeper !== undefined)
    return m.zookeeper.steps.map((s) => ({
      service,
      action: s.action,
      hosts: [s.host],
      gate: s.serving.length === 0 ? 'none' : 'zk-serving',
      why: `round ${s.round}: ${s.why}`,
      step: {
        ...(s.servers === undefined ? {} : { servers: s.servers }),
        round: s.round,
        serving: s.serving,
        ...(s.handover === true ? { handover: true } : {}),
        ...(s.outage ? { outage: true } : {}),
      },
    }));
  if (service === 'mesos-master' && m?.masters !== undefined)
    return m.masters.steps.map((s) => ({
      service,
      action: s.action,
      hosts: [s.host],
      gate: s.settle === 'none' ? 'none' : 'master-healthy',
      why: s.why,
      ...(s.settle === 'none' ? {} : { settle: s.settle }),
      step: {
        ...(s.quorum === undefined ? {} : { quorum: s.quorum }),
        ...(s.stays === true ? { stays: true } : {}),
        ...(s.workDir === undefined ? {} : { workDir: s.workDir }),
      },
    }));
  return [];
}
