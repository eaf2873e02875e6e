import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyPlan } from '../src/apply/apply.js';
import type { ApplyDeps, ApplyEvent, HostApplied } from '../src/apply/apply.js';
import type { LiveState, Wave } from '../src/apply/schedule.js';
import { secretReader } from '../src/apply/secrets.js';
import { deriveTopology } from '../src/model/topology.js';
import { buildPlan } from '../src/plan/plan.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { FakeHost } from './helpers/fake-host.js';

const templates = loadTemplates();
const desire = (yaml: string): DesiredState => {
  const s = specOf(yaml);
  return renderDesiredState(s, deriveTopology(s), templates);
};

interface Rig {
  hosts: Map<string, FakeHost>;
  deps: ApplyDeps;
  events: ApplyEvent[];
  gates: Wave[];
  applied: HostApplied[];
  abort: AbortController;
}

function rig(names: string[], env: NodeJS.ProcessEnv = {}): Rig {
  const hosts = new Map(names.map((n) => [n, new FakeHost(n)]));
  const events: ApplyEvent[] = [];
  const gates: Wave[] = [];
  const applied: HostApplied[] = [];
  const abort = new AbortController();
  const deps: ApplyDeps = {
    connection: (h) => Promise.resolve(hosts.get(h)!),
    templates,
    secrets: secretReader(env),
    gate: (w) => {
      gates.push(w);
      return Promise.resolve();
    },
    onHostApplied: (a) => {
      applied.push(a);
      return Promise.resolve();
    },
    onEvent: (e) => events.push(e),
    signal: abort.signal,
    parallelism: 2,
  };
  return { hosts, deps, events, gates, applied, abort };
}

const liveOf = (hosts: Map<string, FakeHost>): LiveState => ({
  running: new Map([...hosts].map(([n, h]) => [n, new Set(h.active)])),
  zkMode: new Map(),
  masterQuorum: 2,
});
const observedOf = (hosts: Map<string, FakeHost>) => new Map([...hosts].map(([n, h]) => [n, h.observed()]));

void test('a fresh apply writes every rendered file, enables the units and starts services in waves', async () => {
  const yaml = clusterYaml({ agents: 2 });
  const desired = desire(yaml);
  const r = rig(['m1', 'm2', 'm3', 'a1', 'a2']);
  const result = await applyPlan(buildPlan(desired, new Map(), false), desired, liveOf(r.hosts), r.deps);
  assert.deepEqual(result, { interrupted: false, wavesDone: 6, wavesTotal: 6 });
  for (const h of desired.hosts) {
    const fake = r.hosts.get(h.host.name)!;
    assert.equal(fake.files.size, h.files.length);
    for (const f of h.files)
      assert.equal(fake.files.get(f.path)?.content, f.content, `${h.host.name}:${f.path}`);
    assert.deepEqual([...fake.enabled].sort(), h.services.map((s) => s.unit).sort());
    assert.deepEqual([...fake.active].sort(), h.services.map((s) => s.name).sort());
  }
  assert.deepEqual(
    r.gates.map((w) => `${w.service}:${w.hosts.join(',')}`),
    [
      'zookeeper:m1,m2,m3',
      'mesos-master:m1',
      'mesos-master:m2',
      'mesos-master:m3',
      'mesos-agent:a1',
      'mesos-agent:a2',
    ],
  );
  assert.equal(r.applied.length, 5, 'state is told about every host');
  // One round trip for files, one for daemon-reload + enable, then the service starts.
  assert.equal(r.hosts.get('a1')!.commands.length, 3);
});

void test('a second apply of the same spec sends nothing at all', async () => {
  const desired = desire(clusterYaml());
  const r = rig(['m1', 'm2', 'm3', 'a1', 'a2']);
  await applyPlan(buildPlan(desired, new Map(), false), desired, liveOf(r.hosts), r.deps);
  const before = [...r.hosts.values()].map((h) => h.commands.length);
  const again = buildPlan(desired, observedOf(r.hosts), false);
  assert.equal(again.changes.length, 0);
  await applyPlan(again, desired, liveOf(r.hosts), r.deps);
  assert.deepEqual(
    [...r.hosts.values()].map((h) => h.commands.length),
    before,
  );
});

void test('an abort stops before the next wave; applying again converges', async () => {
  const desired = desire(clusterYaml());
  const r = rig(['m1', 'm2', 'm3', 'a1', 'a2']);
  r.deps.gate = (w) => {
    r.gates.push(w);
    if (w.service === 'zookeeper') r.abort.abort();
    return Promise.resolve();
  };
  const first = await applyPlan(buildPlan(desired, new Map(), false), desired, liveOf(r.hosts), r.deps);
  assert.equal(first.interrupted, true);
  assert.equal(first.wavesDone, 1);
  assert.ok(r.events.some((e) => e.type === 'interrupted'));
  assert.equal(r.hosts.get('m1')!.active.has('mesos-master'), false);

  const r2 = { ...r.deps, signal: new AbortController().signal, gate: () => Promise.resolve() };
  const resume = buildPlan(desired, observedOf(r.hosts), false);
  assert.equal(
    resume.summary.create,
    5,
    'only the services that did not start are left: 3 masters, 2 agents',
  );
  assert.equal(resume.changes.filter((c) => c.kind === 'file').length, 0);
  await applyPlan(resume, desired, liveOf(r.hosts), r2);
  assert.equal(buildPlan(desired, observedOf(r.hosts), false).changes.length, 0);
});

void test('a failed write names the host and path, and what was written is still reported', async () => {
  const desired = desire(clusterYaml());
  const r = rig(['m1', 'm2', 'm3', 'a1', 'a2']);
  r.hosts.get('m2')!.failPath = '/etc/mesos/zk';
  await assert.rejects(
    applyPlan(buildPlan(desired, new Map(), false), desired, liveOf(r.hosts), r.deps),
    (e) => isMesoError(e, 'ApplyFailed') && /on m2 failed at \/etc\/mesos\/zk/.test(e.message),
  );
  const m2 = r.applied.find((a) => a.host === 'm2');
  assert.ok(m2 !== undefined && m2.written.size > 0 && !m2.written.has('/etc/mesos/zk'));
  assert.ok(
    [...r.hosts.values()].every((h) => h.active.size === 0),
    'no service starts after a failed write',
  );
});

void test('secrets are resolved at apply time and never appear in a command', async () => {
  const yaml = clusterYaml({
    extra: [
      'security:',
      '  authentication:',
      '    frameworks: true',
      '    credentials: [{ principal: fw, secret: env:FW_SECRET }]',
    ].join('\n'),
  });
  const desired = desire(yaml);
  const r = rig(['m1', 'm2', 'm3', 'a1', 'a2'], { FW_SECRET: 's3cr3t-value' });
  await applyPlan(buildPlan(desired, new Map(), false), desired, liveOf(r.hosts), r.deps);
  const m1 = r.hosts.get('m1')!;
  const cred = m1.files.get('/etc/mesos/credentials.json');
  assert.deepEqual(JSON.parse(cred?.content ?? '{}'), {
    credentials: [{ principal: 'fw', secret: 's3cr3t-value' }],
  });
  assert.equal(cred?.mode, 0o600);
  for (const h of r.hosts.values()) {
    assert.ok(
      h.commands.every((c) => !c.includes('s3cr3t')),
      'a command carried the secret',
    );
    assert.ok(
      h.stdins.every((s) => !s.includes('s3cr3t')),
      'stdin carries it only encoded',
    );
  }
});

void test('a missing secret stops the run before that host is written, naming the reference only', async () => {
  const yaml = clusterYaml({
    extra: [
      'security:',
      '  authentication:',
      '    frameworks: true',
      '    credentials: [{ principal: fw, secret: env:NOPE }]',
    ].join('\n'),
  });
  const desired = desire(yaml);
  const r = rig(['m1', 'm2', 'm3', 'a1', 'a2']);
  await assert.rejects(
    applyPlan(buildPlan(desired, new Map(), false), desired, liveOf(r.hosts), r.deps),
    (e) => isMesoError(e, 'SecretUnavailable') && e.message === 'secret env:NOPE is not set',
  );
  assert.equal(r.hosts.get('m1')!.files.size, 0);
});

void test('a host that loses a role has that service stopped and disabled, and its files removed', async () => {
  const both =
    clusterYaml({ masters: 1, agents: 0 }) +
    'agents:\n  - group: g\n    hosts: [{ name: m1, address: 10.0.0.1 }]\n';
  const before = desire(both);
  const r = rig(['m1']);
  await applyPlan(buildPlan(before, new Map(), false), before, liveOf(r.hosts), r.deps);
  const m1 = r.hosts.get('m1')!;
  assert.ok(m1.active.has('mesos-agent'));
  const after = desire(clusterYaml({ masters: 1, agents: 0 }));
  const plan = buildPlan(after, observedOf(r.hosts), false);
  const retire = plan.changes.find((c) => c.kind === 'service' && c.action === 'delete');
  assert.equal(retire?.address, 'host/m1/service:mesos-agent');
  await applyPlan(plan, after, liveOf(r.hosts), r.deps);
  assert.equal(m1.active.has('mesos-agent'), false);
  assert.equal(m1.enabled.has('mesos-agent.service'), false);
  assert.equal(m1.files.has('/etc/systemd/system/mesos-agent.service'), false);
  assert.equal(m1.files.has('/etc/mesos-slave/ip'), false);
  assert.ok(m1.active.has('mesos-master'), 'the master keeps running');
  const disableAt = m1.commands.findIndex((c) => c.startsWith('systemctl disable --now'));
  const writeAt = m1.commands.findLastIndex((c) => c.includes('meso-write-files'));
  assert.ok(disableAt >= 0 && disableAt < writeAt, 'stopped before its files go');
  const managed = [...m1.files.keys()];
  assert.deepEqual(buildPlan(after, new Map([['m1', m1.observed(managed)]]), false).changes, []);
});
