// The Debian-package presets (etcd, haproxy, dnsmasq): defaults, checks and the files they render,
// for a static cluster of 3 masters, 2 public agents and a worker. What is asserted here was
// checked on lab hosts with the real packages (etcd-server 3.4.23, haproxy 2.6.12, dnsmasq 2.90).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { normalizeAddons } from '../src/addons/normalize.js';
import { addonHosts } from '../src/addons/values.js';
import { dnsmasq } from '../src/addons/presets/dnsmasq.js';
import { etcd } from '../src/addons/presets/etcd.js';
import { haproxy } from '../src/addons/presets/haproxy.js';
import { PRESETS } from '../src/addons/presets/index.js';
import type { AddonRender, AddonSpec, Preset } from '../src/addons/types.js';
import { deriveTopology } from '../src/model/topology.js';
import { formatDiagnostic, formatPath } from '../src/spec/diagnostics.js';
import type { Diagnostic } from '../src/spec/diagnostics.js';
import type { Spec } from '../src/spec/types.js';
import { validateText } from '../src/spec/validate.js';
import { specOf } from './helpers/build.js';

/**
 * Masters m1..mN (private 192.168.0.x, SSH 10.0.0.x), public agents p1, p2, worker w1. The cluster
 * is validated without its `addons:` (validate runs the presets' checks, which some tests break on
 * purpose); the add-ons are then normalized as the spec's are, as the add-on rules see them.
 */
function cluster(addons: string, opts: { masters?: number; publicAgents?: number } = {}): Spec {
  const text = clusterText(addons, opts);
  const doc = parse(text) as { addons: unknown };
  const spec = specOf(text.slice(0, text.indexOf('addons:\n')));
  return { ...spec, addons: normalizeAddons(doc.addons) };
}

function clusterText(addons: string, opts: { masters?: number; publicAgents?: number } = {}): string {
  const masters = opts.masters ?? 3;
  const pub = opts.publicAgents ?? 2;
  const lines = [
    'apiVersion: meso/v1',
    'kind: Cluster',
    'name: lab',
    'provider: static',
    'masters:',
    '  hosts:',
    ...Array.from(
      { length: masters },
      (_, i) => `    - { name: m${i + 1}, address: 10.0.0.${i + 1}, privateAddress: 192.168.0.${i + 1} }`,
    ),
    'agents:',
    ...(pub > 0
      ? [
          '  - group: edge',
          '    public: true',
          '    hosts:',
          ...Array.from(
            { length: pub },
            (_, i) =>
              `      - { name: p${i + 1}, address: 10.0.2.${i + 1}, privateAddress: 192.168.2.${i + 1} }`,
          ),
        ]
      : []),
    '  - group: work',
    '    hosts:',
    '      - { name: w1, address: 10.0.1.1, privateAddress: 192.168.1.1 }',
    'addons:',
    addons,
  ];
  return `${lines.join('\n')}\n`;
}

/** The one add-on of the spec, with its preset. */
function only(spec: Spec): { addon: AddonSpec; preset: Preset } {
  assert.equal(spec.addons.length, 1);
  const addon = spec.addons[0]!;
  const preset = PRESETS.get(addon.preset ?? '');
  assert.ok(preset !== undefined, `preset ${String(addon.preset)} is registered`);
  return { addon, preset };
}

/** Render on one host of the add-on (by name), with every host it runs on. */
function renderOn(spec: Spec, hostName: string): AddonRender {
  const { addon, preset } = only(spec);
  const topology = deriveTopology(spec);
  const hosts = addonHosts(spec, topology, addon.on);
  const host = hosts.find((h) => h.name === hostName);
  assert.ok(host !== undefined, `${hostName} runs ${addon.name}`);
  return preset.render({ spec, topology, addon, host, hosts });
}

function fileOf(r: AddonRender, path: string): string {
  const f = r.files.find((x) => x.path === path);
  assert.ok(f !== undefined, `renders ${path}; got ${r.files.map((x) => x.path).join(', ')}`);
  return f.content;
}

const checkOf = (spec: Spec): Diagnostic[] => {
  const { addon, preset } = only(spec);
  return preset.check(addon, spec);
};
const show = (ds: readonly Diagnostic[]): string =>
  ds.map((d) => `${formatPath(d.path)}: ${d.message} (${d.fix ?? ''})`).join('\n') || '(none)';

/** Exactly one error at `path` whose message contains `message`; returns it. */
function expectError(ds: readonly Diagnostic[], path: string, message: string | RegExp): Diagnostic {
  const found = ds.filter(
    (d) =>
      d.severity === 'error' &&
      formatPath(d.path) === path &&
      (typeof message === 'string' ? d.message.includes(message) : message.test(d.message)),
  );
  assert.equal(found.length, 1, `one error at ${path} matching ${String(message)}; got:\n${show(ds)}`);
  return found[0]!;
}

const envLines = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), JSON.parse(l.slice(i + 1)) as string];
      }),
  );

void test('the three Debian presets are registered under their names', () => {
  for (const name of ['etcd', 'haproxy', 'dnsmasq']) assert.ok(PRESETS.has(name), name);
  assert.equal(PRESETS.get('etcd'), etcd);
  assert.equal(PRESETS.get('haproxy'), haproxy);
  assert.equal(PRESETS.get('dnsmasq'), dnsmasq);
});

// ---- etcd -------------------------------------------------------------------------------------

void test('etcd: on the masters after ZooKeeper, etcd-server, ports 2379/2380, /health and the leader metric', () => {
  const { addon } = only(cluster('  - preset: etcd'));
  assert.deepEqual(addon.on, { kind: 'masters' });
  assert.equal(addon.after, 'zookeeper');
  assert.deepEqual(addon.install, { kind: 'package', name: 'etcd-server', version: undefined });
  assert.equal(addon.user, 'etcd');
  assert.deepEqual(
    addon.ports.map((p) => `${p.port}/${p.protocol}`),
    ['2379/tcp', '2380/tcp'],
  );
  assert.deepEqual(addon.health, { kind: 'http', port: 2379, path: '/health' });
  assert.ok(addon.quorum !== undefined);
  assert.deepEqual(
    { ...addon.quorum.leader, pattern: undefined },
    { port: 2379, path: '/metrics', pattern: undefined },
  );
  // /metrics as etcd 3.4.23 serves it (lab hosts): only the leader's has the `1` line.
  const metrics = (v: 0 | 1): string =>
    [
      '# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.',
      '# TYPE etcd_server_has_leader gauge',
      'etcd_server_has_leader 1',
      '# HELP etcd_server_is_leader Whether or not this member is a leader. 1 if is, 0 otherwise.',
      '# TYPE etcd_server_is_leader gauge',
      `etcd_server_is_leader ${v}`,
      'etcd_server_is_learner 0',
    ].join('\n');
  const leader = new RegExp(addon.quorum.leader.pattern, 'm');
  assert.ok(leader.test(metrics(1)), 'the leader matches');
  assert.ok(!leader.test(metrics(0)), 'a follower does not');
});

void test('etcd: clientPort and peerPort move the ports, the health check, the leader probe and the URLs', () => {
  const spec = cluster('  - { preset: etcd, clientPort: 12379, peerPort: 12380 }');
  const { addon } = only(spec);
  assert.deepEqual(
    addon.ports.map((p) => p.port),
    [12379, 12380],
  );
  assert.deepEqual(addon.health, { kind: 'http', port: 12379, path: '/health' });
  assert.equal(addon.quorum?.leader.port, 12379);
  const env = envLines(fileOf(renderOn(spec, 'm1'), '/etc/default/etcd'));
  assert.equal(env['ETCD_LISTEN_CLIENT_URLS'], 'http://192.168.0.1:12379,http://127.0.0.1:12379');
  assert.equal(env['ETCD_LISTEN_PEER_URLS'], 'http://192.168.0.1:12380');
  assert.match(env['ETCD_INITIAL_CLUSTER']!, /^m1=http:\/\/192\.168\.0\.1:12380,/);
});

void test('etcd: each member gets its name and address, the whole member list in host order, a per-cluster data dir', () => {
  const spec = cluster('  - preset: etcd');
  const r = renderOn(spec, 'm2');
  const env = envLines(fileOf(r, '/etc/default/etcd'));
  assert.deepEqual(env, {
    ETCD_NAME: 'm2',
    ETCD_DATA_DIR: '/var/lib/etcd/lab',
    ETCD_LISTEN_CLIENT_URLS: 'http://192.168.0.2:2379,http://127.0.0.1:2379',
    ETCD_ADVERTISE_CLIENT_URLS: 'http://192.168.0.2:2379',
    ETCD_LISTEN_PEER_URLS: 'http://192.168.0.2:2380',
    ETCD_INITIAL_ADVERTISE_PEER_URLS: 'http://192.168.0.2:2380',
    ETCD_INITIAL_CLUSTER: 'm1=http://192.168.0.1:2380,m2=http://192.168.0.2:2380,m3=http://192.168.0.3:2380',
    ETCD_INITIAL_CLUSTER_STATE: 'new',
    ETCD_INITIAL_CLUSTER_TOKEN: 'lab',
  });
  // Every member renders the same member list (only its own name and URLs differ).
  const m3 = envLines(fileOf(renderOn(spec, 'm3'), '/etc/default/etcd'));
  assert.equal(m3['ETCD_INITIAL_CLUSTER'], env['ETCD_INITIAL_CLUSTER']);
  assert.equal(m3['ETCD_NAME'], 'm3');
  // Never the package's single-member /var/lib/etcd/default.
  assert.deepEqual(r.directories, [{ path: '/var/lib/etcd/lab', owner: 'etcd', mode: 0o700, data: true }]);
  for (const line of [
    'Type=notify',
    'User=etcd',
    'EnvironmentFile=-/etc/default/etcd',
    'ExecStart=/usr/bin/etcd',
    'LimitNOFILE=65536',
  ])
    assert.ok(r.unit.split('\n').includes(line), `unit has ${line}:\n${r.unit}`);
  assert.equal(renderOn(spec, 'm2').unit, r.unit, 'deterministic');
});

void test("etcd: the spec's env adds to /etc/default/etcd and wins over the preset's values", () => {
  const spec = cluster(
    '  - { preset: etcd, env: { ETCD_HEARTBEAT_INTERVAL: 200, ETCD_INITIAL_CLUSTER_TOKEN: other } }',
  );
  const env = envLines(fileOf(renderOn(spec, 'm1'), '/etc/default/etcd'));
  assert.equal(env['ETCD_HEARTBEAT_INTERVAL'], '200');
  assert.equal(env['ETCD_INITIAL_CLUSTER_TOKEN'], 'other');
  assert.equal(env['ETCD_NAME'], 'm1');
});

void test('etcd check: an even member count is an error naming the count and the fix; 1, 3, 5 are fine', () => {
  for (const n of [1, 3, 5])
    assert.deepEqual(checkOf(cluster('  - preset: etcd', { masters: n })), [], `${n}`);
  const four = checkOf(cluster('  - { preset: etcd, on: [m1, m2, m3, w1] }'));
  const e = expectError(four, 'on', 'etcd on 4 hosts');
  assert.equal(e.fix, 'use 3 or 5 hosts');
  expectError(checkOf(cluster('  - { preset: etcd, on: [m1, m3] }')), 'on', 'etcd on 2 hosts');
});

void test('etcd check: ports must be integers, and not the same', () => {
  const ds = checkOf(cluster('  - { preset: etcd, clientPort: "2379", peerPort: 2379.5 }'));
  expectError(ds, 'clientPort', 'is not a port');
  expectError(ds, 'peerPort', 'is not a port');
  expectError(
    checkOf(cluster('  - { preset: etcd, peerPort: 2379 }')),
    'peerPort',
    'the peer port is the client port',
  );
});

// ---- haproxy ----------------------------------------------------------------------------------

const HAPROXY = [
  '  - preset: haproxy',
  '    backends:',
  '      - { name: web, port: 80, servers: ["w1:8080", "m2:8080", "10.9.9.9:81"] }',
  '      - { name: db, port: 5432, mode: tcp, balance: leastconn, check: false, servers: ["w1:5432"] }',
].join('\n');

void test('haproxy: on the public agents after the agents, reloaded, its ports and a tcp health check', () => {
  const { addon } = only(cluster(HAPROXY));
  assert.deepEqual(addon.on, { kind: 'publicAgents' });
  assert.equal(addon.after, 'agents');
  assert.deepEqual(addon.install, { kind: 'package', name: 'haproxy', version: undefined });
  assert.equal(addon.reload, true);
  assert.deepEqual(
    addon.ports.map((p) => `${p.port}/${p.protocol}`),
    ['80/tcp', '5432/tcp'],
  );
  assert.deepEqual(addon.health, { kind: 'tcp', port: 80 });
  const withStats = only(cluster(`${HAPROXY}\n    stats: { port: 9000 }`)).addon;
  assert.deepEqual(
    withStats.ports.map((p) => p.port),
    [80, 5432, 9000],
  );
  assert.deepEqual(withStats.health, { kind: 'http', port: 9000, path: '/' });
});

void test('haproxy: one listen section per backend in the written order, cluster host names become private addresses', () => {
  const spec = cluster(`${HAPROXY}\n    stats: { port: 9000 }`);
  const cfg = fileOf(renderOn(spec, 'p2'), '/etc/haproxy/haproxy.cfg');
  const section = (name: string): string[] => {
    const lines = cfg.split('\n');
    const start = lines.indexOf(`listen ${name}`);
    assert.ok(start >= 0, `listen ${name} in:\n${cfg}`);
    const end = lines.indexOf('', start);
    return lines.slice(start + 1, end < 0 ? undefined : end).map((l) => l.trim());
  };
  assert.deepEqual(section('web'), [
    'bind :80',
    'mode http',
    'balance roundrobin',
    'option httplog',
    'server w1_8080 192.168.1.1:8080 check',
    'server m2_8080 192.168.0.2:8080 check',
    'server 10.9.9.9_81 10.9.9.9:81 check',
  ]);
  assert.deepEqual(section('db'), [
    'bind :5432',
    'mode tcp',
    'balance leastconn',
    'option tcplog',
    'server w1_5432 192.168.1.1:5432',
  ]);
  assert.deepEqual(section('stats'), ['bind :9000', 'mode http', 'stats enable', 'stats uri /']);
  assert.ok(cfg.indexOf('listen web') < cfg.indexOf('listen db'), 'the written order');
  assert.match(cfg, /^global\n(\t.*\n)*\tuser haproxy\n/m);
  assert.ok(!/^\s*daemon\s*$/m.test(cfg), 'no daemon: master-worker under systemd stays in front');
});

void test('haproxy: the unit is master-worker, checks the config before start and reload, reloads with USR2', () => {
  const unit = renderOn(cluster(HAPROXY), 'p1').unit.split('\n');
  const has = (line: string): void => assert.ok(unit.includes(line), `unit has ${line}:\n${unit.join('\n')}`);
  has('Type=notify');
  has('ExecStartPre=/usr/sbin/haproxy -c -q -f /etc/haproxy/haproxy.cfg');
  has(
    'ExecStart=/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -S /run/haproxy-master.sock',
  );
  has('KillMode=mixed');
  has('BindReadOnlyPaths=/dev/log:/var/lib/haproxy/dev/log');
  assert.deepEqual(
    unit.filter((l) => l.startsWith('ExecReload=')),
    ['ExecReload=/usr/sbin/haproxy -c -q -f /etc/haproxy/haproxy.cfg', 'ExecReload=/bin/kill -USR2 $MAINPID'],
    'check first, then USR2 (systemd runs ExecReload= lines in order)',
  );
  assert.ok(!unit.some((l) => l.startsWith('EnvironmentFile=')), "not the package's /etc/default/haproxy");
});

void test('haproxy check: a clean spec has no findings', () => {
  assert.deepEqual(checkOf(cluster(`${HAPROXY}\n    stats: { port: 9000 }`)), []);
  assert.deepEqual(
    checkOf(
      cluster('  - { preset: haproxy, backends: [{ name: a, port: 81, servers: ["lb.example.org:80"] }] }'),
    ),
    [],
    'a DNS name with a dot is an address HAProxy resolves',
  );
});

void test('haproxy check: backends are required', () => {
  const e = expectError(checkOf(cluster('  - preset: haproxy')), 'backends', 'at least one backend');
  assert.match(e.fix ?? '', /backends:/);
  expectError(checkOf(cluster('  - { preset: haproxy, backends: [] }')), 'backends', 'at least one backend');
});

void test('haproxy check: an unknown server host, a bad server, duplicate names and ports, bad mode', () => {
  const ds = checkOf(
    cluster(
      [
        '  - preset: haproxy',
        '    stats: { port: 8080 }',
        '    backends:',
        '      - { name: web, port: 80, servers: ["w1:8080", "nohost:8080", "w1", "m1:99999"] }',
        '      - { name: web, port: 80, mode: udp, servers: ["999.1.1.1:80"] }',
        '      - { name: api, port: 8080, balance: random, servers: [] }',
      ].join('\n'),
    ),
  );
  const unknown = expectError(
    ds,
    'backends[0].servers[1]',
    'nohost is neither a host of this cluster nor an address',
  );
  assert.match(unknown.fix ?? '', /m1, m2, m3, p1, p2, w1/);
  expectError(ds, 'backends[0].servers[2]', 'is not host:port');
  expectError(ds, 'backends[0].servers[3]', 'is not host:port');
  expectError(ds, 'backends[1].name', 'backend web is also backends[0]');
  expectError(ds, 'backends[1].port', "port 80 is also backend web's");
  expectError(ds, 'backends[1].mode', 'is not http or tcp');
  expectError(ds, 'backends[1].servers[0]', '999.1.1.1 is neither');
  expectError(ds, 'backends[2].port', "port 8080 is also stats's");
  expectError(ds, 'backends[2].balance', 'is not one of roundrobin, leastconn, source');
  expectError(ds, 'backends[2].servers', 'at least one server');
  assert.equal(ds.length, 10, show(ds));
});

// ---- dnsmasq ----------------------------------------------------------------------------------

const confOf = (spec: Spec, host: string): string =>
  fileOf(renderOn(spec, host), `/etc/meso-addons/${only(spec).addon.name}/dnsmasq.conf`);

void test('dnsmasq: on the masters after the agents, port 53 udp and tcp, a tcp health check', () => {
  const { addon } = only(cluster('  - preset: dnsmasq'));
  assert.deepEqual(addon.on, { kind: 'masters' });
  assert.equal(addon.after, 'agents');
  assert.deepEqual(addon.install, { kind: 'package', name: 'dnsmasq', version: undefined });
  assert.equal(addon.reload, false);
  assert.deepEqual(
    addon.ports.map((p) => `${p.port}/${p.protocol}`),
    ['53/udp', '53/tcp'],
  );
  assert.deepEqual(addon.health, { kind: 'tcp', port: 53 });
});

void test("dnsmasq: *.marathon answers with every public agent's private address, nothing is forwarded", () => {
  const spec = cluster('  - preset: dnsmasq');
  const lines = confOf(spec, 'm3').split('\n');
  assert.deepEqual(
    lines.filter((l) => l.startsWith('address=')),
    ['address=/marathon/192.168.2.1', 'address=/marathon/192.168.2.2'],
  );
  for (const l of [
    'port=53',
    'bind-dynamic',
    'listen-address=192.168.0.3',
    'listen-address=127.0.0.1',
    'user=dnsmasq',
    'no-resolv',
    'no-hosts',
    'local=/marathon/',
  ])
    assert.ok(lines.includes(l), `has ${l}:\n${lines.join('\n')}`);
  assert.ok(!lines.some((l) => l.startsWith('server=')));
  const unit = renderOn(spec, 'm3').unit.split('\n');
  assert.ok(
    unit.includes(
      'ExecStart=/usr/sbin/dnsmasq -k --conf-file=/etc/meso-addons/dnsmasq/dnsmasq.conf --pid-file',
    ),
    unit.join('\n'),
  );
  assert.ok(unit.includes('Type=simple'));
  assert.ok(!unit.some((l) => l.startsWith('ExecReload=')), 'a change restarts it');
});

void test('dnsmasq: domain, port, upstream servers and explicit addresses', () => {
  const spec = cluster(
    '  - { preset: dnsmasq, name: dns, domain: apps.example.org., port: 5353, servers: ["10.0.0.53", "10.0.0.54#5300"], addresses: ["172.16.0.9"] }',
  );
  const { addon } = only(spec);
  assert.deepEqual(
    addon.ports.map((p) => `${p.port}/${p.protocol}`),
    ['5353/udp', '5353/tcp'],
  );
  const lines = confOf(spec, 'm1').split('\n');
  assert.deepEqual(
    lines.filter((l) => /^(port|server|local|address)=/.test(l)),
    [
      'port=5353',
      'server=10.0.0.53',
      'server=10.0.0.54#5300',
      'local=/apps.example.org/',
      'address=/apps.example.org/172.16.0.9',
    ],
  );
  assert.ok(renderOn(spec, 'm1').unit.includes('--conf-file=/etc/meso-addons/dns/dnsmasq.conf'));
});

void test('dnsmasq check: no public agent and no addresses is an error with the fix', () => {
  const none = checkOf(cluster('  - preset: dnsmasq', { publicAgents: 0 }));
  const e = expectError(none, '(document)', 'this cluster has no public agent');
  assert.match(e.fix ?? '', /public: true.*addresses/);
  assert.deepEqual(
    checkOf(cluster('  - { preset: dnsmasq, addresses: ["10.1.1.1"] }', { publicAgents: 0 })),
    [],
  );
  assert.deepEqual(checkOf(cluster('  - preset: dnsmasq')), []);
});

void test('dnsmasq check: the domain is a DNS name, servers and addresses are IP addresses', () => {
  const ds = checkOf(
    cluster(
      '  - { preset: dnsmasq, domain: "bad_domain!", port: 70000, servers: ["dns.example.org", "10.0.0.1#x"], addresses: ["10.0.0.256"] }',
    ),
  );
  expectError(ds, 'domain', 'is not a DNS name');
  expectError(ds, 'port', 'is not a port');
  expectError(ds, 'servers[0]', 'is not an IP address');
  expectError(ds, 'servers[1]', 'is not an IP address');
  expectError(ds, 'addresses[0]', 'is not an IP address');
  assert.equal(ds.length, 5, show(ds));
});

// ---- through meso validate -----------------------------------------------------------------------

void test("validate reports the presets' checks at the add-on entry, with file:line:col and the fix", () => {
  const text = clusterText(
    [
      '  - { preset: etcd, on: [m1, m2, m3, w1] }',
      '  - preset: haproxy',
      '    backends:',
      '      - { name: web, port: 80, servers: ["w1:8080", "nohost:8080"] }',
    ].join('\n'),
  );
  const found = validateText(text, 'cluster.yaml')
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
  assert.ok(
    found.includes(
      'cluster.yaml:20:25: addons[0].on: etcd on 4 hosts: an even member count tolerates no more failures than one member fewer; use 3 or 5 hosts',
    ),
    found.join('\n'),
  );
  assert.ok(
    found.some((l) =>
      l.startsWith('cluster.yaml:23:53: addons[1].backends[0].servers[1]: nohost is neither'),
    ),
    found.join('\n'),
  );
  // The lab's spec (tests of the real packages) is clean.
  assert.deepEqual(
    validateText(
      clusterText(`  - preset: etcd\n${HAPROXY}\n  - preset: dnsmasq`),
      'cluster.yaml',
    ).diagnostics.map(formatDiagnostic),
    [],
  );
});
