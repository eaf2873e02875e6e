import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedule } from '../src/apply/schedule.js';
import type { LiveState, Wave } from '../src/apply/schedule.js';
import { deriveTopology } from '../src/model/topology.js';
import { deferredFiles } from '../src/apply/steps.js';
import { membershipPlan, withServers, zkServers } from '../src/plan/membership.js';
import { buildPlan, fingerprint } from '../src/plan/plan.js';
import type { ObservedHost } from '../src/plan/plan.js';
import { ZK_CONF } from '../src/render/paths.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';

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

void test('withServers puts the list where the server lines were and keeps every other line', () => {
  const cfg = 'tickTime=2000\nserver.1=a:1:2\nserver.2=b:1:2\nclientPort=2181\n';
  assert.equal(
    withServers(
      cfg,
      new Map([
        [3, 'c:1:2'],
        [1, 'a:1:2'],
      ]),
    ),
    'tickTime=2000\nserver.1=a:1:2\nserver.3=c:1:2\nclientPort=2181\n',
  );
  assert.equal(withServers('x=1\n', new Map([[1, 'a:1:2']])), 'x=1\n\nserver.1=a:1:2');
});

const desire = (masters: number, extra?: string): DesiredState => {
  const s = specOf(clusterYaml({ masters, agents: 0, ...(extra === undefined ? {} : { extra }) }));
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};

/** `before` running (m1 leading ZooKeeper and Mesos), as planned against `after`, with its membership. */
function replan(
  before: DesiredState,
  after: DesiredState,
  quorum = 2,
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
  const cfgOf = (d: DesiredState, host: string): string | undefined =>
    d.hosts.find((h) => h.host.name === host)?.files.find((f) => f.path === ZK_CONF)?.content;
  const desired = zkServers(after.hosts.map((h) => cfgOf(after, h.host.name)).find((c) => c !== undefined)!);
  const members = [...new Set([...before.hosts, ...after.hosts].map((h) => h.host))]
    .filter((h) => h.zkId !== undefined)
    .filter((h, i, all) => all.findIndex((x) => x.name === h.name) === i)
    .map((h) => {
      const cfg = cfgOf(before, h.name);
      const id = h.zkId!;
      return {
        host: h.name,
        id,
        value: zkServers(cfgOf(before, h.name) ?? cfgOf(after, h.name)!).get(id)!,
        running: cfg !== undefined,
        leader: h.name === 'm1' || h.name === 'z1',
        list: cfg === undefined ? undefined : zkServers(cfg),
      };
    });
  const masters = (d: DesiredState): string[] =>
    d.hosts.filter((h) => h.host.roles.includes('master')).map((h) => h.host.name);
  const wanted = masters(after);
  const membership = membershipPlan({
    zookeeper: { desired, members, hostOf: () => undefined },
    masters: {
      running: masters(before).filter((m) => wanted.includes(m)),
      absent: wanted.filter((m) => !masters(before).includes(m)),
      removed: masters(before).filter((m) => !wanted.includes(m)),
      leader: 'm1',
      from: quorum,
      to: Number(
        after.hosts
          .find((h) => h.host.name === wanted[0])!
          .files.find((f) => f.path === '/etc/mesos-master/quorum')!
          .content.trim(),
      ),
      workDir: '/var/lib/mesos',
    },
  });
  return {
    plan: membership === undefined ? plan : { ...plan, membership },
    live: {
      running: new Map([...observed].map(([h, o]) => [h, o.activeServices])),
      zkMode: new Map([['m1', 'leader']]),
      masterQuorum: quorum,
    },
  };
}

const show = (waves: Wave[], service: string): string[] =>
  waves
    .filter((w) => w.service === service)
    .map(
      (w) =>
        `${w.action} ${w.hosts.join(',')}${w.step?.servers === undefined ? '' : ` [${Object.keys(w.step.servers).join(',')}]`}${w.step?.quorum === undefined ? '' : ` q${w.step.quorum}`} ${w.gate}`,
    );

void test('growing a running ensemble 3 -> 5: one member per round, the new one first, the leader last', () => {
  const grow = replan(desire(3), desire(5));
  assert.equal(grow.plan.membership?.zookeeper?.method, 'static');
  const waves = schedule(grow.plan, grow.live);
  assert.deepEqual(show(waves, 'zookeeper'), [
    'start m4 [1,2,3,4] zk-serving',
    'restart m2 [1,2,3,4] zk-serving',
    'restart m3 [1,2,3,4] zk-serving',
    'restart m1 [1,2,3,4] zk-serving',
    'start m5 [1,2,3,4,5] zk-serving',
    // m1's restart made the others elect (ZooKeeper prefers the highest id): m4 now leads.
    'restart m1 [1,2,3,4,5] zk-serving',
    'restart m2 [1,2,3,4,5] zk-serving',
    'restart m3 [1,2,3,4,5] zk-serving',
    'restart m4 [1,2,3,4,5] zk-serving',
  ]);
  // The guide's order for the masters: the running ones get quorum 3 (the leader last), then the new ones.
  assert.deepEqual(show(waves, 'mesos-master'), [
    'restart m2 q3 master-healthy',
    'restart m3 q3 master-healthy',
    'restart m1 q3 master-healthy',
    'start m4 q3 master-healthy',
    'start m5 q3 master-healthy',
  ]);
  assert.deepEqual(
    [...deferredFiles(grow.plan)].filter((f) => f.endsWith('zoo.cfg')).length,
    5,
    'every member gets zoo.cfg from its steps, not from the file step',
  );
  // The check could fail: the same ensemble with another setting has no membership steps and rolls as before.
  const same = replan(desire(3), desire(3, 'zookeeper: { tickTime: 3000 }'));
  assert.equal(same.plan.membership, undefined);
  assert.deepEqual(show(schedule(same.plan, same.live), 'zookeeper'), [
    'restart m2 zk-leader',
    'restart m3 zk-leader',
    'restart m1 zk-leader',
  ]);
});

void test('shrinking 5 -> 3: the leaving members are stopped after the others run without them', () => {
  const shrink = replan(desire(5), desire(3), 3);
  const waves = schedule(shrink.plan, shrink.live);
  const zk = show(waves, 'zookeeper');
  assert.deepEqual(zk.slice(0, 5), [
    'restart m2 [1,2,3,4] zk-serving',
    'restart m3 [1,2,3,4] zk-serving',
    'restart m4 [1,2,3,4] zk-serving',
    'restart m1 [1,2,3,4] zk-serving',
    'stop m5 zk-serving',
  ]);
  assert.equal(zk.at(-1), 'stop m4 zk-serving');
  assert.deepEqual(show(waves, 'mesos-master'), [
    'stop m4 none',
    'stop m5 none',
    'restart m2 q2 master-healthy',
    'restart m3 q2 master-healthy',
    'restart m1 q2 master-healthy',
  ]);
  const stop = waves.find((w) => w.service === 'mesos-master' && w.action === 'stop');
  assert.equal(stop?.step?.workDir, '/var/lib/mesos', 'its replicated log is moved aside');
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

void test('one master to three: refused without --allow-registry-reset, which says what is lost', () => {
  const r = replan(withDedicatedZk(1), withDedicatedZk(3), 1);
  assert.equal(r.plan.membership?.zookeeper, undefined, 'the dedicated ensemble stays');
  assert.equal(r.plan.membership?.masters?.registryReset, true);
  assert.throws(
    () => schedule(r.plan, r.live),
    (e: unknown) =>
      isMesoError(e, 'PlanUnsafe') &&
      /the registry is lost/.test(e.message) &&
      /--allow-registry-reset/.test(e.hint ?? ''),
  );
  const waves = schedule(r.plan, r.live, { allowRegistryReset: true });
  assert.deepEqual(show(waves, 'mesos-master'), [
    'stop m1 none',
    'start m1 q2 master-healthy',
    'start m2 q2 master-healthy',
    'start m3 q2 master-healthy',
  ]);
  assert.equal(waves.find((w) => w.action === 'stop')?.step?.stays, true, 'm1 stays startable');
  assert.deepEqual(
    waves.filter((w) => w.action === 'start').map((w) => w.settle),
    ['answer', 'answer', 'cluster'],
  );
  // The check could pass: 3 -> 5 keeps the registry.
  const grow = replan(withDedicatedZk(3), withDedicatedZk(5));
  assert.equal(grow.plan.membership?.masters?.registryReset, false);
  assert.doesNotThrow(() => schedule(grow.plan, grow.live));
});
