import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveTopology } from '../src/model/topology.js';
import { buildPlan } from '../src/plan/plan.js';
import type { ObservedHost } from '../src/plan/plan.js';
import type { ServiceChange } from '../src/plan/types.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState, ServiceName } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { converged } from './helpers/observed.js';

const desire = (yaml: string): DesiredState => {
  const s = specOf(yaml);
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};

/** Every host as desired and running, with `pending` restarts recorded in the state for some. */
function world(
  d: DesiredState,
  pending: Record<string, [ServiceName, boolean][]>,
): Map<string, ObservedHost> {
  const w = converged(d);
  for (const [host, list] of Object.entries(pending))
    w.set(host, { ...w.get(host)!, pending: new Map(list.map(([s, reset]) => [s, { reset }])) });
  return w;
}

void test('a restart an earlier apply left pending is planned again, with its agent reset', () => {
  const d = desire(clusterYaml({ agents: 2 }));
  const plan = buildPlan(d, world(d, { a1: [['mesos-agent', true]], m2: [['mesos-master', false]] }), false);
  const services = plan.changes.filter((c): c is ServiceChange => c.kind === 'service');
  assert.deepEqual(
    services.map((c) => `${c.host} ${c.service} ${c.action} ${c.recovery === undefined ? '' : 'reset'}`),
    ['m2 mesos-master restart ', 'a1 mesos-agent restart reset'],
  );
  assert.match(
    services[0]!.reason,
    /an earlier apply changed its configuration and stopped before restarting it/,
  );
  assert.equal(plan.changes.filter((c) => c.kind === 'file').length, 0, 'the files are already there');
});

void test('nothing pending, files matching: no change', () => {
  const d = desire(clusterYaml({ agents: 2 }));
  assert.equal(buildPlan(d, world(d, {}), false).changes.length, 0);
});
