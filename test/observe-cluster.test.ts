import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyPlan } from '../src/apply/apply.js';
import { secretReader } from '../src/apply/secrets.js';
import { deriveTopology } from '../src/model/topology.js';
import { observeCluster, staleChanges } from '../src/observe/cluster.js';
import { buildPlan } from '../src/plan/plan.js';
import { renderDesiredState } from '../src/render/render.js';
import { emptyState } from '../src/state/local.js';
import { loadTemplates } from '../src/templates.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { FakeHost } from './helpers/fake-host.js';

const templates = loadTemplates();
const spec = specOf(clusterYaml());
const desired = renderDesiredState(spec, deriveTopology(spec), templates);

async function converged(): Promise<Map<string, FakeHost>> {
  const hosts = new Map(desired.hosts.map((h) => [h.host.name, new FakeHost(h.host.name)]));
  await applyPlan(
    buildPlan(desired, new Map(), false),
    desired,
    { running: new Map(), zkMode: new Map(), masterQuorum: 2 },
    {
      connection: (h) => Promise.resolve(hosts.get(h)!),
      templates,
      secrets: secretReader({}),
      gate: () => Promise.resolve(),
      onHostApplied: () => Promise.resolve(),
      onEvent: () => undefined,
      signal: new AbortController().signal,
      parallelism: 4,
    },
  );
  return hosts;
}

const observe = (hosts: Map<string, FakeHost>, state = emptyState('t')) =>
  observeCluster({
    desired,
    state,
    connection: (h) => Promise.resolve(hosts.get(h)!),
    templates,
    zkPort: 2181,
    masterQuorum: 2,
    parallelism: 4,
  });

void test('observing a converged cluster takes one command per host and plans nothing', async () => {
  const hosts = await converged();
  hosts.get('m2')!.zkMode = 'leader';
  const before = [...hosts.values()].map((h) => h.commands.length);
  const { observed, live } = await observe(hosts);
  assert.deepEqual(
    [...hosts.values()].map((h, i) => h.commands.length - before[i]!),
    [1, 1, 1, 1, 1],
  );
  assert.equal(buildPlan(desired, observed, false).changes.length, 0);
  assert.equal(live.zkMode.get('m2'), 'leader');
  assert.ok(live.running.get('m1')?.has('zookeeper'));
});

void test('drift on a host becomes an update and a restart of the service it feeds', async () => {
  const hosts = await converged();
  const zk = hosts.get('a1')!.files.get('/etc/mesos/zk')!;
  hosts.get('a1')!.files.set('/etc/mesos/zk', { ...zk, content: 'zk://edited-by-hand:2181/mesos\n' });
  const plan = buildPlan(desired, (await observe(hosts)).observed, false);
  assert.deepEqual(
    plan.changes.map((c) => `${c.action} ${c.address}`),
    ['update host/a1/file:/etc/mesos/zk', 'restart host/a1/service:mesos-agent'],
  );
});

void test('a file meso managed and no longer wants is planned for deletion', async () => {
  const hosts = await converged();
  hosts.get('a1')!.files.set('/etc/mesos-slave/attributes/old', {
    content: 'x\n',
    owner: 'root',
    group: 'root',
    mode: 0o644,
  });
  const state = emptyState('t');
  state.hosts['a1'] = {
    address: '10.0.1.1',
    privateAddress: '10.0.1.1',
    files: { '/etc/mesos-slave/attributes/old': { sha256: 'x', owner: 'root', group: 'root', mode: 0o644 } },
    directories: [],
    services: [],
  };
  const plan = buildPlan(desired, (await observe(hosts, state)).observed, false);
  assert.deepEqual(
    plan.changes.map((c) => `${c.action} ${c.address}`),
    ['delete host/a1/file:/etc/mesos-slave/attributes/old', 'restart host/a1/service:mesos-agent'],
  );
});

void test('a saved plan is stale when the world changed after it was made', async () => {
  const hosts = await converged();
  const zk = hosts.get('a1')!.files.get('/etc/mesos/zk')!;
  hosts.get('a1')!.files.set('/etc/mesos/zk', { ...zk, content: 'drift 1\n' });
  const plan = buildPlan(desired, (await observe(hosts)).observed, false);
  assert.deepEqual(staleChanges(plan, (await observe(hosts)).observed), []);
  hosts.get('a1')!.files.set('/etc/mesos/zk', { ...zk, content: 'drift 2\n' });
  assert.deepEqual(
    staleChanges(plan, (await observe(hosts)).observed).map((c) => c.address),
    ['host/a1/file:/etc/mesos/zk'],
  );
});
