import assert from 'node:assert/strict';
import { test } from 'node:test';
import { schedule } from '../src/apply/schedule.js';
import type { LiveState } from '../src/apply/schedule.js';
import { assembleEndpoints } from '../src/engine/assemble-endpoints.js';
import type { Endpoints, EndpointsInput } from '../src/engine/assemble-endpoints.js';
import { addonHosts } from '../src/addons/render.js';
import { systemdWord } from '../src/addons/unit.js';
import { deriveTopology } from '../src/model/topology.js';
import { buildPlan } from '../src/plan/plan.js';
import type { ObservedHost } from '../src/plan/plan.js';
import type { ServiceChange } from '../src/plan/types.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { converged } from './helpers/observed.js';
import { base, expectDiagnostic, validate } from './helpers/spec.js';

/** Three masters, a public agent group (p1) and a private one (a1, a2), and `addons` as written. */
const cluster = (...addons: string[]): string =>
  clusterYaml({
    extra: [
      '  - group: pub',
      '    public: true',
      '    hosts: [{ name: p1, address: 10.0.2.1 }]',
      'addons:',
      ...addons,
    ].join('\n'),
  });

const desire = (yaml: string): DesiredState => {
  const s = specOf(yaml);
  return renderDesiredState(s, deriveTopology(s), loadTemplates());
};

/** Hosts as `d` wants them, everything running. */
const world = (d: DesiredState): Map<string, ObservedHost> => converged(d);
const liveOf = (w: Map<string, ObservedHost>, extra: Partial<LiveState> = {}): LiveState => ({
  running: new Map([...w].map(([h, o]) => [h, o.activeServices])),
  zkMode: new Map(),
  masterQuorum: 2,
  ...extra,
});

const HELLO = [
  '  - name: hello',
  '    on: pub',
  '    command: /usr/bin/python3 -m http.server',
  '    flags: { bind: "0.0.0.0", "directory": "/srv/a b%c$d" }',
  '    env: { GREETING: hi }',
  '    config:',
  '      /etc/hello/zk.conf: { template: "zk={{ zk_url }} me={{ host.name }} at {{host.address}}\\n" }',
  '      /etc/hello/raw.txt: "literal {{ zk_url }}\\n"',
  '    ports: [8000]',
  '    health: { http: /, port: 8000 }',
];

void test('a generic add-on renders its files, env and unit on its hosts only, feeding its own service', () => {
  const d = desire(cluster(...HELLO));
  const p1 = d.hosts.find((h) => h.host.name === 'p1')!;
  const file = (path: string): string => p1.files.find((f) => f.path === path)?.content ?? '(none)';
  assert.equal(
    file('/etc/hello/zk.conf'),
    'zk=zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/mesos me=p1 at 10.0.2.1\n',
  );
  // Plain content is not a template.
  assert.equal(file('/etc/hello/raw.txt'), 'literal {{ zk_url }}\n');
  assert.match(file('/etc/default/hello'), /^GREETING="hi"$/m);
  const unit = file('/etc/systemd/system/hello.service');
  // Flags are sorted, each one systemd word: % and $ doubled so systemd passes them through as written.
  assert.match(
    unit,
    /^ExecStart=\/usr\/bin\/python3 -m http.server --bind=0.0.0.0 "--directory=\/srv\/a b%%c\$\$d"$/m,
  );
  assert.match(unit, /^After=network-online.target mesos-agent.service$/m);
  assert.ok(
    p1.files.filter((f) => f.path.startsWith('/etc/hello/')).every((f) => f.feeds.join() === 'hello'),
  );
  assert.deepEqual(
    p1.services.map((s) => s.name),
    ['mesos-agent', 'hello'],
  );
  for (const h of d.hosts.filter((x) => x.host.name !== 'p1')) {
    assert.ok(!h.files.some((f) => f.path.includes('hello')), h.host.name);
    assert.ok(!h.services.some((s) => s.name === 'hello'), h.host.name);
  }
});

void test('systemdWord keeps values whole for systemd: quotes, backslashes, specifiers and variables', () => {
  assert.equal(systemdWord('--a=b'), '--a=b');
  assert.equal(systemdWord('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.equal(systemdWord('100%'), '"100%%"');
  assert.equal(systemdWord('$HOME'), '"$$HOME"');
  assert.throws(() => systemdWord('a\nb'));
});

void test('on: masters, agents, publicAgents, a group and a host list name the right hosts', () => {
  const s = specOf(cluster(...HELLO));
  const t = deriveTopology(s);
  const names = (on: Parameters<typeof addonHosts>[2]): string =>
    addonHosts(s, t, on)
      .map((h) => h.name)
      .join();
  assert.equal(names({ kind: 'masters' }), 'm1,m2,m3');
  assert.equal(names({ kind: 'agents' }), 'a1,a2,p1');
  assert.equal(names({ kind: 'publicAgents' }), 'p1');
  assert.equal(names({ kind: 'group', group: 'g' }), 'a1,a2');
  assert.equal(names({ kind: 'hosts', hosts: ['p1', 'm2'] }), 'm2,p1');
});

void test('an add-on phase follows the core phase it waits for, in batches of its maxUnavailable', () => {
  const d = desire(
    cluster(
      '  - { name: early, on: masters, command: /bin/sleep infinity, after: zookeeper }',
      '  - { name: late, on: agents, command: /bin/sleep infinity, maxUnavailable: 2 }',
    ),
  );
  const plan = buildPlan(d, new Map(), false);
  assert.deepEqual(
    plan.phases.map((p) => p.service),
    ['zookeeper', 'early', 'mesos-master', 'mesos-agent', 'late'],
  );
  const late = plan.phases.find((p) => p.service === 'late')!;
  assert.equal(late.batchSize, 2);
  const waves = schedule(plan, liveOf(new Map()));
  const lateWaves = waves.filter((w) => w.service === 'late');
  assert.deepEqual(
    lateWaves.map((w) => [w.action, w.hosts.join()]),
    [
      ['start', 'a1,a2'],
      ['start', 'p1'],
    ],
  );
  assert.ok(lateWaves.every((w) => w.gate === 'addon-healthy'));
  // Every early wave comes before the first master wave.
  const idx = (svc: string): number[] => waves.flatMap((w, i) => (w.service === svc ? [i] : []));
  assert.ok(Math.max(...idx('early')) < Math.min(...idx('mesos-master')));
});

void test('a reload add-on reloads on a config change, restarts on a unit change', () => {
  const addon = (cfg: string, extra = ''): string =>
    cluster(
      '  - name: px',
      '    on: publicAgents',
      '    command: /usr/sbin/px',
      '    reload: true',
      `    config: { /etc/px.cfg: "${cfg}" }`,
      ...(extra === '' ? [] : [extra]),
    );
  const before = desire(addon('a'));
  const w = world(before);
  const cfg = buildPlan(desire(addon('b')), w, false);
  const svc = cfg.changes.filter((c): c is ServiceChange => c.kind === 'service');
  assert.deepEqual(
    svc.map((c) => [c.address, c.action, c.reload === true]),
    [['host/p1/service:px', 'restart', true]],
  );
  assert.match(svc[0]!.reason, /reload, no restart/);
  assert.deepEqual(
    schedule(cfg, liveOf(w)).map((x) => [x.action, x.hosts.join()]),
    [['reload', 'p1']],
  );
  // A new flag changes the unit: that needs a restart.
  const unit = buildPlan(desire(addon('a', '    flags: { verbose: true }')), w, false);
  const u = unit.changes.find((c): c is ServiceChange => c.kind === 'service')!;
  assert.equal(u.action, 'restart');
  assert.equal(u.reload, undefined);
});

/** The quorum behaviour is a preset's (etcd): set it on the generic add-on kv's desired state. */
function quorum(d: DesiredState): DesiredState {
  for (const h of d.hosts)
    for (const s of h.services)
      if (s.name === 'kv')
        s.addon = { ...s.addon!, quorum: { leader: { port: 1, path: '/', pattern: 'x' } } };
  return d;
}

const QUORUM = (v: string): string[] => [
  '  - name: kv',
  '    on: masters',
  '    command: /usr/bin/kv',
  `    config: { /etc/kv.conf: "${v}" }`,
];

void test('a quorum add-on: a new cluster starts together; a running one restarts followers first, the leader last', () => {
  const fresh = buildPlan(quorum(desire(cluster(...QUORUM('a')))), new Map(), false);
  const kv = fresh.phases.find((p) => p.service === 'kv')!;
  assert.equal(kv.strategy, 'ensemble');
  assert.deepEqual(
    schedule(fresh, liveOf(new Map()))
      .filter((w) => w.service === 'kv')
      .map((w) => [w.action, w.hosts.join(), w.why]),
    [['restart', 'm1,m2,m3', 'a new cluster starts together']],
  );
  const before = quorum(desire(cluster(...QUORUM('a'))));
  const w = world(before);
  const change = buildPlan(quorum(desire(cluster(...QUORUM('b')))), w, false);
  const order = schedule(change, liveOf(w, { addonLeaders: new Map([['kv', 'm1']]) }))
    .filter((x) => x.service === 'kv')
    .map((x) => [x.hosts.join(), x.why]);
  assert.deepEqual(order, [
    ['m2', 'followers first'],
    ['m3', 'followers first'],
    ['m1', 'the leader last'],
  ]);
  // With one member down, restarting another would leave 1 of 3: refused.
  const down = new Map(w);
  down.set('m3', { ...w.get('m3')!, activeServices: new Set(['zookeeper', 'mesos-master']) });
  const only = buildPlan(quorum(desire(cluster(...QUORUM('b')))), down, false);
  assert.throws(
    () => schedule({ ...only, changes: only.changes.filter((c) => c.host !== 'm3') }, liveOf(down)),
    (e: unknown) => isMesoError(e) && e.code === 'PlanUnsafe' && /kv/.test(e.message),
  );
});

void test('a quorum add-on refuses new members for a running cluster, and starts an unsettled one together', () => {
  const kv = (hosts: string): string =>
    cluster(
      '  - name: kv',
      `    on: [${hosts}]`,
      '    command: /usr/bin/kv',
      '    config: { /etc/kv.conf: "a" }',
    );
  const two = world(quorum(desire(kv('m1, m2, m3'))));
  // m3 never had it: drop its unit and files from the world, as if kv ran on m1 and m2 only.
  const m3 = two.get('m3')!;
  const without = new Map(two);
  without.set('m3', {
    ...m3,
    files: new Map([...m3.files].filter(([p]) => !p.includes('kv'))),
    activeServices: new Set([...m3.activeServices].filter((s) => s !== 'kv')),
  });
  const grow = buildPlan(quorum(desire(kv('m1, m2, m3'))), without, false);
  assert.ok(grow.changes.some((c) => c.kind === 'service' && c.host === 'm3' && c.fresh === true));
  assert.throws(
    () => schedule(grow, liveOf(without)),
    (e: unknown) =>
      isMesoError(e) &&
      e.code === 'PlanUnsafe' &&
      /m3 would join the running kv cluster of m1, m2/.test(e.message),
  );
  // Config written by an apply that stopped before restarting (pending): nothing is established yet.
  const pending = new Map(
    [...two].map(([h, o]) => [
      h,
      {
        ...o,
        files: new Map([...o.files].filter(([p]) => p !== '/etc/kv.conf')),
        pending: new Map([['kv', { reset: false }]]),
      },
    ]),
  );
  const again = buildPlan(quorum(desire(kv('m1, m2, m3'))), pending, false);
  assert.deepEqual(
    schedule(again, liveOf(pending))
      .filter((w) => w.service === 'kv')
      .map((w) => [w.hosts.join(), w.why]),
    [['m1,m2,m3', 'a new cluster starts together']],
  );
});

void test('a Debian preset keeps its name: its package starts a unit of that name by itself', () => {
  const v = validate(base({}, 'addons:', '  - { preset: dnsmasq, name: dns2, addresses: [10.0.0.9] }'));
  expectDiagnostic(v, {
    severity: 'error',
    line: 13,
    col: 30,
    message: 'preset dnsmasq runs as dnsmasq.service',
    fix: 'leave name out',
  });
});

void test('removing an add-on deletes its files and stops and disables its unit', () => {
  const before = desire(cluster(...HELLO));
  const after = desire(cluster('  - { name: other, on: masters, command: /bin/true }'));
  const plan = buildPlan(after, world(before), false);
  const p1 = plan.changes.filter((c) => c.host === 'p1').map((c) => `${c.action} ${c.address}`);
  assert.ok(p1.includes('delete host/p1/file:/etc/hello/zk.conf'), p1.join('\n'));
  assert.ok(p1.includes('delete host/p1/service:hello'), p1.join('\n'));
});

void test('validate: unknown presets, fields, hosts and template values, and port clashes, at their line and column', () => {
  const v = validate(
    base(
      {},
      'addons:', // 12
      '  - preset: ha-proxy', // 13
      '  - name: x', // 14
      '    on: [m1, m9]', // 15
      '    command: /bin/true', // 16
      '    ports: [9000, 5050]', // 17
      '    colour: red', // 18
      '    config:', // 19
      '      /etc/x.conf: { template: "{{ zk_urll }}" }', // 20
      '  - { name: y, on: g, command: /bin/true, ports: [5051] }', // 21
      '  - { name: z, on: masters, command: /bin/true, ports: [9000] }', // 22
    ),
  );
  expectDiagnostic(v, {
    severity: 'error',
    line: 13,
    col: 13,
    message: "unknown preset 'ha-proxy'",
    path: 'addons[0].preset',
  });
  expectDiagnostic(v, {
    severity: 'error',
    line: 15,
    col: 14,
    message: "no host 'm9'",
    fix: "did you mean 'm1'?",
  });
  expectDiagnostic(v, {
    severity: 'error',
    line: 17,
    col: 19,
    message: 'port 5050/tcp of add-on x is already used on m1 (mesos-master)',
  });
  expectDiagnostic(v, { severity: 'error', line: 18, col: 5, message: "unknown add-on field 'colour'" });
  expectDiagnostic(v, {
    severity: 'error',
    line: 20,
    col: 32,
    message: '{{ zk_urll }}',
    fix: /did you mean 'zk_url'/,
  });
  expectDiagnostic(v, {
    severity: 'error',
    line: 21,
    col: 51,
    message: 'port 5051/tcp of add-on y is already used on a1 (mesos-agent)',
  });
  expectDiagnostic(v, {
    severity: 'error',
    line: 22,
    col: 57,
    message: 'port 9000/tcp of add-on z is already used on m1 (add-on x)',
  });
  const names = validate(
    base({}, 'addons:', '  - { command: /bin/true }', '  - { name: zookeeper, command: /bin/true }'),
  );
  expectDiagnostic(names, { severity: 'error', line: 13, col: 5, message: 'an add-on needs a name' });
  expectDiagnostic(names, {
    severity: 'error',
    line: 14,
    col: 13,
    message: "'zookeeper' is one of meso's own services",
  });
  assert.ok(validate(cluster(...HELLO)).spec !== undefined);
});

void test('endpoints list each add-on on each host, at its http health port or its first port', () => {
  const s = specOf(
    cluster(...HELLO, '  - { name: dns, on: masters, command: /bin/true, ports: ["53/udp"] }'),
  );
  const t = deriveTopology(s);
  const endpointsWith = (addons: EndpointsInput['addons']): Endpoints =>
    assembleEndpoints({
      topology: t,
      scheme: 'http',
      masterPort: 5050,
      agentPorts: new Map(),
      marathonPort: undefined,
      looks: new Map(),
      listed: undefined,
      balancers: undefined,
      addons,
    });
  const e = endpointsWith(
    s.addons.map((a) => ({ name: a.name, hosts: addonHosts(s, t, a.on), ports: a.ports, health: a.health })),
  );
  // A cluster without add-ons keeps the shape it had: no addons key at all.
  const plain = endpointsWith([]);
  assert.equal('addons' in plain, false);
  assert.deepEqual(
    (e.addons ?? []).map((a) => `${a.name} ${a.host} ${a.url}`),
    [
      'hello p1 http://10.0.2.1:8000',
      'dns m1 udp://10.0.0.1:53',
      'dns m2 udp://10.0.0.2:53',
      'dns m3 udp://10.0.0.3:53',
    ],
  );
});
