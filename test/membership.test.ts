import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedule } from '../src/apply/schedule.js';
import type { LiveState } from '../src/apply/schedule.js';
import { deriveTopology } from '../src/model/topology.js';
import { ensembleChange, zkServers } from '../src/plan/membership.js';
import { buildPlan, fingerprint } from '../src/plan/plan.js';
import type { ObservedHost } from '../src/plan/plan.js';
import { ZK_CONF } from '../src/render/paths.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';

const list = (n: number, base = '10.0.0.'): Map<number, string> =>
  new Map(Array.from({ length: n }, (_, i) => [i + 1, `${base}${i + 1}:2888:3888`]));
const NAMES = new Map(Array.from({ length: 7 }, (_, i) => [`10.0.0.${i + 1}`, `m${i + 1}`]));

void test('zoo.cfg server lines are read by id, whatever else the file holds', () => {
  const cfg =
    '# x\ntickTime=2000\nserver.1=10.0.0.1:2888:3888\n server.12 = 10.0.0.12:2888:3888 \nserverX=1\n';
  assert.deepEqual(
    [...zkServers(cfg)],
    [
      [1, '10.0.0.1:2888:3888'],
      [12, '10.0.0.12:2888:3888'],
    ],
  );
});

void test('an ensemble change: none when every running member has the list, else what is added, removed, changed', () => {
  assert.equal(ensembleChange(list(3), new Map([['m1', list(3)]]), NAMES), undefined);
  assert.equal(ensembleChange(list(3), new Map(), NAMES), undefined, 'nothing runs: nothing to change');
  const grow = ensembleChange(
    list(5),
    new Map([
      ['m1', list(3)],
      ['m2', list(3)],
    ]),
    NAMES,
  );
  assert.deepEqual(grow, {
    current: 3,
    desired: 5,
    added: ['server.4 (m4, 10.0.0.4)', 'server.5 (m5, 10.0.0.5)'],
    removed: [],
    changed: [],
    disagreeing: [],
  });
  const shrink = ensembleChange(list(3), new Map([['m1', list(5)]]), NAMES);
  assert.deepEqual(shrink?.removed, ['server.4 (m4, 10.0.0.4)', 'server.5 (m5, 10.0.0.5)']);
  const moved = new Map(list(3)).set(2, '10.0.0.9:2888:3888');
  assert.deepEqual(ensembleChange(moved, new Map([['m1', list(3)]]), NAMES)?.changed, [
    'server.2 (m2, 10.0.0.2) -> 10.0.0.9:2888:3888',
  ]);
  const halfDone = ensembleChange(
    list(4),
    new Map([
      ['m1', list(4)],
      ['m2', list(3)],
    ]),
    NAMES,
  );
  assert.deepEqual(halfDone?.disagreeing, ['m1', 'm2']);
});

const desire = (masters: number, extra?: string): DesiredState => {
  const s = specOf(clusterYaml({ masters, agents: 0, ...(extra === undefined ? {} : { extra }) }));
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};

/** `before` running, as planned against `after`: the plan and what runs, with the lists observed. */
function replan(
  before: DesiredState,
  after: DesiredState,
): { plan: ReturnType<typeof buildPlan>; live: LiveState } {
  const observed = new Map<string, ObservedHost>(
    before.hosts.map((h) => [
      h.host.name,
      {
        files: new Map(h.files.map((f) => [f.path, fingerprint(f)])),
        managed: new Set(h.files.map((f) => f.path)),
        activeServices: new Set(h.services.map((s) => s.name)),
      },
    ]),
  );
  const plan = buildPlan(after, observed, false);
  const zkConf = (d: DesiredState): [string, string][] =>
    d.hosts.flatMap((h) =>
      h.files.filter((f) => f.path === ZK_CONF).map((f) => [h.host.name, f.content] as [string, string]),
    );
  const current = new Map(zkConf(before).map(([h, c]) => [h, zkServers(c)]));
  const desired = zkServers(zkConf(after)[0]![1]);
  const zkChange = ensembleChange(desired, current, new Map());
  return {
    plan,
    live: {
      running: new Map([...observed].map(([h, o]) => [h, o.activeServices])),
      zkMode: new Map([['m1', 'leader']]),
      masterQuorum: 2,
      ...(zkChange === undefined ? {} : { zkChange }),
    },
  };
}

void test('growing or shrinking a running ensemble is refused with the reason and the manual procedure', () => {
  const grow = replan(desire(3), desire(5));
  assert.throws(
    () => schedule(grow.plan, grow.live),
    (e: unknown) =>
      isMesoError(e) &&
      e.code === 'PlanUnsafe' &&
      /growing the ZooKeeper ensemble from 3 to 5 members \(adding server\.4 .*server\.5 .*\) needs a membership change one member at a time/.test(
        e.message,
      ) &&
      /could elect two leaders/.test(e.message) &&
      /start it with the current list plus itself/.test(e.hint ?? '') &&
      !/bring .* back first/.test(e.hint ?? ''),
  );
  const shrink = replan(desire(5), desire(3));
  assert.throws(
    () => schedule(shrink.plan, shrink.live),
    (e: unknown) =>
      isMesoError(e) &&
      /shrinking the ZooKeeper ensemble from 5 to 3 members \(removing server\.4 .*server\.5/.test(
        e.message,
      ) &&
      /stop and disable it/.test(e.hint ?? ''),
  );
  // The check could pass: the same ensemble with another setting rolls as before.
  const same = replan(desire(3), desire(3, 'zookeeper: { tickTime: 3000 }'));
  assert.equal(same.live.zkChange, undefined);
  const waves = schedule(same.plan, same.live).filter((w) => w.service === 'zookeeper');
  assert.deepEqual(
    waves.map((w) => `${w.action} ${w.hosts.join(',')}`),
    ['restart m2', 'restart m3', 'restart m1'],
    'followers first, the leader last',
  );
});

/** Masters m1..mN with a dedicated 3-member ensemble z1..z3, so only the masters change. */
const withDedicatedZk = (masters: number): DesiredState => {
  const s = specOf(
    [
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: t',
      'provider: static',
      'zookeeper:',
      '  hosts:',
      ...[1, 2, 3].map((i) => `    - { name: z${i}, address: 10.0.2.${i} }`),
      'masters:',
      '  hosts:',
      ...Array.from({ length: masters }, (_, i) => `    - { name: m${i + 1}, address: 10.0.0.${i + 1} }`),
      '',
    ].join('\n'),
  );
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};

void test("changing the running masters' quorum is refused with the operational guide's order", () => {
  for (const [from, to, fromQ, toQ, byHand] of [
    [3, 5, 2, 3, /restart the running masters one at a time with --quorum=3 .*then start the new masters/],
    [
      5,
      3,
      3,
      2,
      /stop and disable the masters being removed, then restart the others one at a time with --quorum=2/,
    ],
  ] as const) {
    const r = replan(withDedicatedZk(from), withDedicatedZk(to));
    assert.equal(r.live.zkChange, undefined, 'the ensemble stays as it is');
    const quorumFile = (d: DesiredState): string =>
      d.hosts.find((h) => h.host.name === 'm1')!.files.find((f) => f.path === '/etc/mesos-master/quorum')!
        .content;
    assert.equal(Number(quorumFile(withDedicatedZk(from)).trim()), fromQ);
    assert.equal(Number(quorumFile(withDedicatedZk(to)).trim()), toQ);
    const live = { ...r.live, masterQuorumChange: { from: fromQ, to: toQ } };
    assert.throws(
      () => schedule(r.plan, live),
      (e: unknown) =>
        isMesoError(e) &&
        e.code === 'PlanUnsafe' &&
        new RegExp(`changing the masters' quorum from ${fromQ} to ${toQ} while they run`).test(e.message) &&
        /corrupt the replicated log/.test(e.message) &&
        byHand.test(e.hint ?? ''),
    );
    // The check could pass: with no master running (a new cluster, or all down), the masters start.
    const stopped = new Map(
      [...live.running].map(([h, s]) => [h, new Set([...s].filter((x) => x !== 'mesos-master'))]),
    );
    assert.doesNotThrow(() => schedule(r.plan, { ...live, running: stopped }));
  }
});
