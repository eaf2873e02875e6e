import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedule } from '../src/apply/schedule.js';
import type { LiveState } from '../src/apply/schedule.js';
import { deriveTopology } from '../src/model/topology.js';
import { planToJson } from '../src/plan/json.js';
import { buildPlan } from '../src/plan/plan.js';
import type { ObservedHost } from '../src/plan/plan.js';
import { checkTargets, targetPlan } from '../src/plan/target.js';
import type { Plan } from '../src/plan/types.js';
import { planToText } from '../src/report/plan-text.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { converged } from './helpers/observed.js';

const desire = (yaml = clusterYaml()): DesiredState => {
  const s = specOf(yaml);
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};
const addresses = (p: Plan): string[] => p.changes.map((c) => c.address);
const HOSTS = { hosts: ['m1', 'm2', 'm3', 'a1', 'a2'] };

/** Every host converged on `before`, then the spec changed to `after`: the full plan. */
function changed(after: string): { plan: Plan; desired: DesiredState; observed: Map<string, ObservedHost> } {
  const desired = desire(after);
  const observed = converged(desire());
  return { plan: buildPlan(desired, observed, false), desired, observed };
}
const TICK = clusterYaml({ extra: 'zookeeper: { tickTime: 3000 }' });

void test('a file target brings the restart that follows it, on its host only', () => {
  const { plan, desired } = changed(TICK);
  assert.equal(plan.changes.length, 6, 'the full plan changes zoo.cfg and restarts ZooKeeper on 3 hosts');
  const t = targetPlan(plan, desired, ['host/m2/file:/etc/zookeeper/conf/zoo.cfg']);
  assert.deepEqual(addresses(t), ['host/m2/file:/etc/zookeeper/conf/zoo.cfg', 'host/m2/service:zookeeper']);
  assert.deepEqual(t.summary, { create: 0, update: 1, delete: 0, restart: 1 });
  assert.deepEqual(t.targets, ['host/m2/file:/etc/zookeeper/conf/zoo.cfg']);
  // A directory names the files under it; a host names everything on it.
  assert.deepEqual(addresses(targetPlan(plan, desired, ['host/m2/file:/etc/zookeeper'])), addresses(t));
  assert.deepEqual(addresses(targetPlan(plan, desired, ['host/m2'])), addresses(t));
  // A prefix is cut at a `/`: host/m1 is not host/m10, file:/etc/zoo is not /etc/zookeeper.
  assert.deepEqual(addresses(targetPlan(plan, desired, ['host/m2/file:/etc/zoo'])), []);
});

void test('a service target brings the files that feed it; two targets add up', () => {
  const { plan, desired } = changed(TICK);
  const t = targetPlan(plan, desired, ['host/m3/service:zookeeper', 'host/m1/service:zookeeper']);
  assert.deepEqual(addresses(t), [
    'host/m1/file:/etc/zookeeper/conf/zoo.cfg',
    'host/m3/file:/etc/zookeeper/conf/zoo.cfg',
    'host/m1/service:zookeeper',
    'host/m3/service:zookeeper',
  ]);
});

void test('a unit file brings its host daemon-reload and no other host', () => {
  const desired = desire();
  const observed = converged(desired);
  for (const h of ['m1', 'm2']) {
    const o = observed.get(h)!;
    const files = new Map(o.files);
    const fp = files.get('/etc/systemd/system/zookeeper.service')!;
    files.set('/etc/systemd/system/zookeeper.service', { ...fp, sha256: '0'.repeat(64) });
    observed.set(h, { ...o, files });
  }
  const plan = buildPlan(desired, observed, false);
  assert.deepEqual(
    plan.systemd.map((s) => s.host),
    ['m1', 'm2'],
  );
  const t = targetPlan(plan, desired, ['host/m1']);
  assert.deepEqual(
    t.systemd.map((s) => [s.host, s.reload]),
    [['m1', true]],
  );
  assert.ok(t.changes.every((c) => c.host === 'm1'));
  assert.ok(
    t.changes.some((c) => c.kind === 'service' && c.service === 'zookeeper' && c.action === 'restart'),
  );
});

void test('a new ensemble starts together: one member targeted brings every member, configured', () => {
  const desired = desire();
  const plan = buildPlan(desired, new Map(), true);
  const t = targetPlan(plan, desired, ['host/m1/service:zookeeper']);
  const zk = t.changes.filter((c) => c.kind === 'service');
  assert.deepEqual(
    zk.map((c) => c.address),
    ['host/m1/service:zookeeper', 'host/m2/service:zookeeper', 'host/m3/service:zookeeper'],
  );
  for (const h of ['m1', 'm2', 'm3']) {
    assert.ok(t.changes.some((c) => c.address === `host/${h}/file:/etc/zookeeper/conf/zoo.cfg`));
    assert.ok(t.changes.some((c) => c.address.startsWith(`host/${h}/file:`) && c.address.endsWith('/myid')));
  }
  assert.ok(!t.changes.some((c) => c.host === 'a1'), 'agents stay out');
  assert.ok(!t.changes.some((c) => c.kind === 'service' && c.service === 'mesos-master'));
  // An agent targeted on a new cluster is that agent alone (its start waits for nothing here).
  const a = targetPlan(plan, desired, ['host/a1']);
  assert.ok(a.changes.length > 0 && a.changes.every((c) => c.host === 'a1'));
});

void test('the quorum rules still hold: a targeted master restart with another master down is refused', () => {
  const flags = (y: string): string =>
    y.replace('masters:\n', 'masters:\n  flags: { logging_level: WARNING }\n');
  const desired = desire(flags(clusterYaml()));
  const observed = converged(desire());
  const m3 = observed.get('m3')!;
  observed.set('m3', { ...m3, activeServices: new Set(['zookeeper']) });
  const plan = buildPlan(desired, observed, false);
  const live: LiveState = {
    running: new Map([...observed].map(([h, o]) => [h, o.activeServices])),
    zkMode: new Map(),
    masterQuorum: 2,
  };
  // The whole plan starts m3 first, so restarting m1 and m2 keeps two up.
  assert.doesNotThrow(() => schedule(plan, live));
  const t = targetPlan(plan, desired, ['host/m1/service:mesos-master']);
  assert.throws(
    () => schedule(t, live),
    (e: unknown) =>
      isMesoError(e) && e.code === 'PlanUnsafe' && /below the quorum of 2 \(down now: m3\)/.test(e.message),
  );
  const both = targetPlan(plan, desired, ['host/m1/service:mesos-master', 'host/m3/service:mesos-master']);
  assert.doesNotThrow(() => schedule(both, live));
});

void test('a membership change cannot be cut', () => {
  const { plan, desired } = changed(TICK);
  const withMembership: Plan = {
    ...plan,
    membership: { zookeeper: { method: 'static', from: 3, to: 5, steps: [] } },
  };
  assert.throws(
    () => targetPlan(withMembership, desired, ['host/m1']),
    (e: unknown) =>
      isMesoError(e) && e.code === 'PlanUnsafe' && /ZooKeeper ensemble's membership/.test(e.message),
  );
});

void test('bad targets are refused together, naming the hosts; duplicates are dropped', () => {
  assert.deepEqual(checkTargets(['host/m1', 'host/m1', 'host/a2/file:/etc/mesos/zk'], HOSTS), [
    'host/m1',
    'host/a2/file:/etc/mesos/zk',
  ]);
  assert.throws(
    () => checkTargets(['host/nope', 'hots/m1', 'aws/instance/m1', 'host/m1/file:relative'], HOSTS),
    (e: unknown) =>
      isMesoError(e) &&
      e.code === 'UsageError' &&
      e.message.includes('host/nope: the cluster has no host nope') &&
      e.message.includes('hots/m1: not an address') &&
      e.message.includes('aws/instance/m1: not an address') &&
      e.message.includes('host/m1/file:relative: not an address') &&
      (e.hint ?? '').includes('m1, m2, m3, a1, a2'),
  );
  const aws = { ...HOSTS, cloudProvider: 'aws' };
  assert.deepEqual(checkTargets(['aws/instance/m1', 'aws/security-group'], aws), [
    'aws/instance/m1',
    'aws/security-group',
  ]);
  assert.throws(() => checkTargets(['aws/volume/x'], aws), /aws has no resource kind volume/);
});

void test('an instance target brings the security groups still to create, not other instances', () => {
  const { plan, desired } = changed(clusterYaml());
  const cloud = (
    resource: 'instance' | 'security-group',
    name: string,
    host = '',
  ): Plan['changes'][number] => ({
    kind: 'cloud',
    address: `aws/${resource}/${name}`,
    action: 'create',
    host,
    reason: 'new',
    resource,
    name,
    id: null,
    attributes: [],
  });
  const full: Plan = {
    ...plan,
    changes: [
      cloud('security-group', 'master'),
      cloud('instance', 'm1', 'm1'),
      cloud('instance', 'm2', 'm2'),
    ],
  };
  assert.deepEqual(addresses(targetPlan(full, desired, ['aws/instance/m1'])), [
    'aws/security-group/master',
    'aws/instance/m1',
  ]);
  // A host whose machine is still to make brings its instance.
  assert.deepEqual(addresses(targetPlan(full, desired, ['host/m2'])), [
    'aws/security-group/master',
    'aws/instance/m2',
  ]);
});

void test('the plan says it is partial, in text and JSON; unreachable hosts only where targeted', () => {
  const { plan, desired } = changed(TICK);
  const withSkipped: Plan = {
    ...plan,
    unreachable: [
      { host: 'a1', address: '10.0.1.1', reason: 'timed out' },
      { host: 'a2', address: '10.0.1.2', reason: 'timed out' },
    ],
  };
  const t = targetPlan(withSkipped, desired, ['host/m1', 'host/a2']);
  const text = planToText(t);
  assert.match(text, /^Partial plan \(--target host\/m1, host\/a2\): only these changes/m);
  assert.match(text, /^Plan: 0 to create, 1 to update, 0 to delete, 1 to restart\.\nPartial: /m);
  assert.match(text, /! host\/a2: unreachable/);
  assert.doesNotMatch(text, /host\/a1/);
  const json = planToJson(t);
  assert.equal(json['partial'], true);
  assert.deepEqual(json['targets'], ['host/m1', 'host/a2']);
  assert.equal((json['unreachable'] as unknown[]).length, 1);
  const whole = planToJson(plan);
  assert.equal(whole['partial'], false);
  assert.deepEqual(whole['targets'], []);
  assert.match(planToText(targetPlan(plan, desired, ['host/a1'])), /No changes for these targets\./);
});
