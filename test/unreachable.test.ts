import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveTopology } from '../src/model/topology.js';
import { planToJson } from '../src/plan/json.js';
import { buildPlan } from '../src/plan/plan.js';
import { unreachableBudget, unreachableVerdict } from '../src/plan/unreachable.js';
import { planToText } from '../src/report/plan-text.js';
import { renderDesiredState } from '../src/render/render.js';
import { loadTemplates } from '../src/templates.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { converged } from './helpers/observed.js';

const why = 'cannot connect to 10.0.1.1:22 after 4 attempts: connect ECONNREFUSED 10.0.1.1:22';

void test('the budget: 10% of a group by default, at least 1; an integer as written, 0 included', () => {
  assert.equal(unreachableBudget('10%', 3), 1);
  assert.equal(unreachableBudget('10%', 10), 1);
  assert.equal(unreachableBudget('10%', 250), 25);
  assert.equal(unreachableBudget('0%', 40), 1);
  assert.equal(unreachableBudget('50%', 7), 3);
  assert.equal(unreachableBudget(3, 10), 3);
  assert.equal(unreachableBudget(0, 10), 0);
});

void test('agents within the budget are skipped, with their address and reason, sorted', () => {
  const t = deriveTopology(specOf(clusterYaml({ agents: 20 })));
  const v = unreachableVerdict(
    t,
    new Map([
      ['a9', why],
      ['a10', why],
    ]),
  );
  assert.equal(v.ok, true);
  assert.deepEqual(v.ok ? v.skip : [], [
    { host: 'a10', address: '10.0.1.10', reason: why },
    { host: 'a9', address: '10.0.1.9', reason: why },
  ]);
});

void test('over a group budget the run stops and names every host and the setting to change', () => {
  const t = deriveTopology(specOf(clusterYaml({ agents: 3 })));
  const v = unreachableVerdict(
    t,
    new Map([
      ['a1', why],
      ['a3', why],
    ]),
  );
  assert.equal(v.ok, false);
  if (v.ok) return;
  assert.equal(v.host, undefined);
  assert.match(
    v.message,
    /2 of 3 agents of group g are unreachable \(a1, a3\), more than its maxUnreachable allows \(1\)/,
  );
  assert.match(v.hint, /maxUnreachable/);
});

void test('a group with maxUnreachable: 0 never skips; another group keeps its own budget', () => {
  const yaml = clusterYaml({ agents: 2 }).replace('  - group: g\n', '  - group: g\n    maxUnreachable: 0\n');
  const withOther = `${yaml}  - group: h\n    maxUnreachable: 100%\n    hosts:\n      - { name: b1, address: 10.0.2.1 }\n      - { name: b2, address: 10.0.2.2 }\n`;
  const t = deriveTopology(specOf(withOther));
  assert.equal(unreachableVerdict(t, new Map([['a2', why]])).ok, false);
  const both = unreachableVerdict(
    t,
    new Map([
      ['b1', why],
      ['b2', why],
    ]),
  );
  assert.deepEqual(both.ok ? both.skip.map((u) => u.host) : [], ['b1', 'b2']);
});

void test('a master or ZooKeeper member is never skipped, whatever the budget', () => {
  const t = deriveTopology(specOf(clusterYaml({ agents: 30 })));
  const v = unreachableVerdict(
    t,
    new Map([
      ['a1', why],
      ['m2', why],
    ]),
  );
  assert.equal(v.ok, false);
  if (v.ok) return;
  assert.equal(v.host, 'm2');
  assert.match(v.message, /^m2 \(zookeeper, master\) is unreachable: /);
});

void test('the plan names the skipped hosts in text and JSON', () => {
  const spec = specOf(clusterYaml({ agents: 2 }));
  const desired = renderDesiredState(spec, deriveTopology(spec), loadTemplates());
  // Every host converged, a1 left out of the plan as the engine does with a skipped agent.
  const planned = { ...desired, hosts: desired.hosts.filter((h) => h.host.name !== 'a1') };
  const empty = buildPlan(planned, converged(planned), false);
  assert.equal(empty.changes.length, 0);
  const plan = { ...empty, unreachable: [{ host: 'a1', address: '10.0.1.1', reason: why }] };
  const text = planToText(plan);
  assert.match(text, new RegExp(`\\n! host/a1: unreachable \\(${why.replace(/[.()]/g, '\\$&')}\\)\\n`));
  assert.match(text, /No changes on the hosts that answered/);
  assert.deepEqual(planToJson(plan)['unreachable'], [
    { address: 'host/a1', host: 'a1', ip: '10.0.1.1', reason: why },
  ]);
  assert.deepEqual(planToJson(empty)['unreachable'], []);
});
