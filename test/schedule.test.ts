import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedule } from '../src/apply/schedule.js';
import type { LiveState } from '../src/apply/schedule.js';
import { deriveTopology } from '../src/model/topology.js';
import type { ZkMode } from '../src/observe/observe.js';
import { buildPlan, fingerprint } from '../src/plan/plan.js';
import type { ObservedHost } from '../src/plan/plan.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';

const desire = (yaml: string): DesiredState => {
  const s = specOf(yaml);
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};

/** Hosts as `before` wants them, with `down` hosts' services stopped. */
function world(before: DesiredState, down: string[] = []): Map<string, ObservedHost> {
  return new Map(
    before.hosts.map((h) => [
      h.host.name,
      {
        files: new Map(h.files.map((f) => [f.path, fingerprint(f)])),
        managed: new Set(h.files.map((f) => f.path)),
        activeServices: new Set(down.includes(h.host.name) ? [] : h.services.map((s) => s.name)),
      },
    ]),
  );
}

function live(observed: Map<string, ObservedHost>, zk: Record<string, ZkMode> = {}): LiveState {
  return {
    running: new Map([...observed].map(([h, o]) => [h, o.activeServices])),
    zkMode: new Map(Object.entries(zk)),
    masterQuorum: 2,
  };
}

const summary = (waves: ReturnType<typeof schedule>): string[] =>
  waves.map((w) => `${w.action} ${w.service} ${w.hosts.join(',')} -> ${w.gate}`);

void test('a new cluster: the ensemble starts together, then masters one at a time, then agents in batches', () => {
  const desired = desire(clusterYaml({ agents: 3 }));
  const plan = buildPlan(desired, new Map(), true);
  assert.deepEqual(summary(schedule(plan, live(new Map()))), [
    'start zookeeper m1,m2,m3 -> zk-leader',
    'start mesos-master m1 -> master-healthy',
    'start mesos-master m2 -> master-healthy',
    'start mesos-master m3 -> master-healthy',
    'start mesos-agent a1 -> agents-registered',
    'start mesos-agent a2 -> agents-registered',
    'start mesos-agent a3 -> agents-registered',
  ]);
});

void test('a zoo.cfg change restarts followers first, the leader last, one at a time', () => {
  const before = desire(clusterYaml());
  const plan = buildPlan(
    desire(clusterYaml({ extra: 'zookeeper: { tickTime: 3000 }' })),
    world(before),
    false,
  );
  const waves = schedule(plan, live(world(before), { m1: 'follower', m2: 'leader', m3: 'follower' }));
  assert.deepEqual(summary(waves), [
    'restart zookeeper m1 -> zk-leader',
    'restart zookeeper m3 -> zk-leader',
    'restart zookeeper m2 -> zk-leader',
  ]);
});

void test('a restart that would break the ZooKeeper quorum, counting a member already down, is refused', () => {
  const before = desire(clusterYaml());
  const observed = world(before, ['m3']);
  const plan = buildPlan(desire(clusterYaml({ extra: 'zookeeper: { tickTime: 3000 }' })), observed, false);
  assert.throws(
    () => schedule(plan, live(observed, { m1: 'leader', m2: 'follower' })),
    (e) =>
      isMesoError(e, 'PlanUnsafe') &&
      /would leave 1 of 3 up, below the quorum of 2 \(down now: m3\)/.test(e.message) &&
      /bring m3 back first/.test(e.hint ?? ''),
  );
});

void test('masters: standbys first, the leading master (as Mesos says) last; a down master before both', () => {
  const before = desire(clusterYaml());
  const observed = world(before, []);
  const plan = buildPlan(
    desire(clusterYaml().replace('masters:\n', 'masters:\n  flags: { logging_level: INFO }\n')),
    observed,
    false,
  );
  const masters = (l: LiveState): string[] =>
    schedule(plan, l)
      .filter((w) => w.service === 'mesos-master')
      .map((w) => `${w.hosts.join(',')} ${w.why} ${w.settle}`);
  assert.deepEqual(masters({ ...live(observed), masterLeader: 'm1' }), [
    'm2 standby masters first cluster',
    'm3 standby masters first cluster',
    'm1 the leading master last cluster',
  ]);
  assert.deepEqual(masters({ ...live(observed), masterLeader: 'm2' }), [
    'm1 standby masters first cluster',
    'm3 standby masters first cluster',
    'm2 the leading master last cluster',
  ]);
  const m3Down = world(before, ['m3']);
  const plan2 = buildPlan(
    desire(clusterYaml().replace('masters:\n', 'masters:\n  flags: { logging_level: INFO }\n')),
    m3Down,
    false,
  );
  assert.deepEqual(
    schedule(plan2, { ...live(m3Down), masterLeader: 'm1' })
      .filter((w) => w.service === 'mesos-master')
      .map((w) => w.hosts.join(',')),
    ['m3', 'm2', 'm1'],
  );
});

void test('a new set of masters: each start waits only for an answer, the last for the elected leader', () => {
  const plan = buildPlan(desire(clusterYaml()), new Map(), true);
  const masters = schedule(plan, live(new Map()))
    .filter((w) => w.service === 'mesos-master')
    .map((w) => `${w.action} ${w.hosts.join(',')} ${w.settle}`);
  assert.deepEqual(masters, ['start m1 answer', 'start m2 answer', 'start m3 cluster']);
});

void test('with five members one down, a rolling restart is still safe', () => {
  const yaml5 = clusterYaml({ masters: 5 });
  const before = desire(yaml5);
  const observed = world(before, ['m5']);
  const plan = buildPlan(
    desire(yaml5.replace('masters:\n', 'masters:\n  flags: { logging_level: INFO }\n')),
    observed,
    false,
  );
  const l = { ...live(observed), masterQuorum: 3 };
  const waves = schedule(plan, l);
  assert.equal(waves.filter((w) => w.service === 'mesos-master').length, 5);
  assert.ok(waves.every((w) => w.hosts.length === 1));
});

void test('agent restarts go in batches of maxUnavailable', () => {
  const before = desire(clusterYaml({ agents: 5 }));
  const afterYaml = clusterYaml({ agents: 5 }).replace(
    '  - group: g\n',
    '  - group: g\n    maxUnavailable: 2\n    attributes: { rack: r2 }\n',
  );
  const plan = buildPlan(desire(afterYaml), world(before), false);
  assert.deepEqual(summary(schedule(plan, live(world(before)))), [
    'restart mesos-agent a1,a2 -> agents-registered',
    'restart mesos-agent a3,a4 -> agents-registered',
    'restart mesos-agent a5 -> agents-registered',
  ]);
});
