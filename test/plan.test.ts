import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveTopology } from '../src/model/topology.js';
import { batchSize, buildPlan } from '../src/plan/plan.js';
import type { ObservedState } from '../src/plan/plan.js';
import { planToText } from '../src/report/plan-text.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { converged } from './helpers/observed.js';

const desire = (yaml = clusterYaml()): DesiredState => {
  const s = specOf(yaml);
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};

void test('a converged world plans no changes', () => {
  const desired = desire();
  const plan = buildPlan(desired, converged(desired), false);
  assert.equal(plan.changes.length, 0);
  assert.deepEqual(plan.summary, { create: 0, update: 0, delete: 0, restart: 0 });
  assert.match(planToText(plan), /No changes\./);
});

void test('a changed zoo.cfg updates the file and restarts ZooKeeper only', () => {
  const before = desire();
  const after = desire(clusterYaml({ extra: 'zookeeper: { tickTime: 3000 }' }));
  const plan = buildPlan(after, converged(before), false);
  const files = plan.changes.filter((c) => c.kind === 'file');
  assert.deepEqual(
    files.map((c) => [c.host, c.action, c.kind === 'file' ? c.path : '']),
    [
      ['m1', 'update', '/etc/zookeeper/conf/zoo.cfg'],
      ['m2', 'update', '/etc/zookeeper/conf/zoo.cfg'],
      ['m3', 'update', '/etc/zookeeper/conf/zoo.cfg'],
    ],
  );
  const services = plan.changes.filter((c) => c.kind === 'service');
  assert.deepEqual(
    services.map((c) => c.address),
    ['host/m1/service:zookeeper', 'host/m2/service:zookeeper', 'host/m3/service:zookeeper'],
  );
  assert.ok(services.every((c) => c.action === 'restart'));
  assert.deepEqual(plan.summary, { create: 0, update: 3, delete: 0, restart: 3 });
});

void test('an owner or mode change is an update without a content change', () => {
  const desired = desire();
  const observed = converged(desired);
  const m1 = observed.get('m1')!;
  const files = new Map(m1.files);
  const fp = files.get('/etc/mesos/zk')!;
  files.set('/etc/mesos/zk', { ...fp, mode: 0o666 });
  observed.set('m1', { ...m1, files });
  const plan = buildPlan(desired, observed, false);
  const change = plan.changes.find((c) => c.kind === 'file');
  assert.equal(change?.action, 'update');
  assert.equal(change?.reason, 'owner or mode changed');
});

void test('a managed file the spec no longer wants is deleted; unmanaged files are left alone', () => {
  const desired = desire();
  const observed: ObservedState = new Map(
    [...converged(desired)].map(([name, h]) => {
      const files = new Map(h.files);
      files.set('/etc/mesos-slave/attributes/old', {
        sha256: 'x',
        owner: 'root',
        group: 'root',
        mode: 0o644,
      });
      files.set('/etc/hosts', { sha256: 'y', owner: 'root', group: 'root', mode: 0o644 });
      const managed = new Set([...h.managed, '/etc/mesos-slave/attributes/old']);
      return [name, { ...h, files, managed }];
    }),
  );
  const plan = buildPlan(desired, observed, false);
  const deletes = plan.changes.filter((c) => c.action === 'delete');
  assert.equal(deletes.length, 5);
  assert.ok(deletes.every((c) => c.kind === 'file' && c.path === '/etc/mesos-slave/attributes/old'));
});

void test('agents restart in batches of maxUnavailable, at least one', () => {
  assert.equal(batchSize('10%', 5), 1);
  assert.equal(batchSize('10%', 40), 4);
  assert.equal(batchSize('25%', 10), 2);
  assert.equal(batchSize(3, 10), 3);
  const plan = buildPlan(desire(clusterYaml({ agents: 20 })), new Map(), true);
  assert.equal(plan.phases.find((p) => p.service === 'mesos-agent')?.batchSize, 2);
});

void test('an update shows a unified diff when the old content is known; sensitive files never do', () => {
  const before = desire();
  const after = desire(clusterYaml({ extra: 'zookeeper: { tickTime: 3000 }' }));
  const observed = converged(before);
  const m1 = observed.get('m1')!;
  const oldCfg = before.hosts[0]!.files.find((f) => f.path === '/etc/zookeeper/conf/zoo.cfg')!.content;
  observed.set('m1', { ...m1, contents: new Map([['/etc/zookeeper/conf/zoo.cfg', oldCfg]]) });
  const plan = buildPlan(after, observed, false);
  const change = plan.changes.find((c) => c.kind === 'file' && c.host === 'm1');
  assert.ok(change?.kind === 'file' && change.diff !== undefined);
  assert.match(change.diff, /^--- a\/etc\/zookeeper\/conf\/zoo\.cfg$/m);
  assert.match(change.diff, /^-tickTime=2000$/m);
  assert.match(change.diff, /^\+tickTime=3000$/m);
  const text = planToText(plan);
  assert.match(text, /^ {6}\+tickTime=3000$/m);
  const m2 = plan.changes.find((c) => c.kind === 'file' && c.host === 'm2');
  assert.ok(m2?.kind === 'file' && m2.diff === undefined, 'no content fetched, no diff');
});
