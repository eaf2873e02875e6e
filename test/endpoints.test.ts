import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsText } from '../src/cli/endpoints-text.js';
import { assembleEndpoints } from '../src/engine/assemble-endpoints.js';
import type { EndpointsInput, MasterLook } from '../src/engine/assemble-endpoints.js';
import { askMasters, endpointsOf } from '../src/engine/endpoints.js';
import type { Session } from '../src/engine/prepare.js';
import { deriveTopology } from '../src/model/topology.js';
import { renderDesiredState } from '../src/render/render.js';
import { emptyState } from '../src/state/local.js';
import { loadTemplates } from '../src/templates.js';
import type { ExecResult, HostConnection } from '../src/transport/host.js';
import { MesoError } from '../src/util/errors.js';
import type { RegisteredAgent } from '../src/verify/gates.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { FakeAws } from './helpers/fake-aws.js';

const spec = specOf(clusterYaml());
const topology = deriveTopology(spec);

const up = (elected = false): MasterLook => ({ answered: true, elected });
const agent = (hostname: string, active = true): RegisteredAgent => ({
  id: `id-${hostname}`,
  hostname,
  active,
});

/** The static cluster m1..m3 (10.0.0.1-3), agents a1, a2 (10.0.1.1-2), default ports, no Marathon. */
function input(over: Partial<EndpointsInput> = {}): EndpointsInput {
  return {
    topology,
    scheme: 'http',
    masterPort: 5050,
    agentPorts: new Map(),
    marathonPort: undefined,
    looks: new Map([
      ['m1', up()],
      ['m2', up(true)],
      ['m3', up()],
    ]),
    listed: { leader: 'm2', agents: [agent('10.0.1.1'), agent('10.0.1.2', false)] },
    balancers: undefined,
    ...over,
  };
}

void test('the leader is the elected master; agents are registered when its list has them active', () => {
  const e = assembleEndpoints(input());
  assert.deepEqual(e.masters, [
    {
      host: 'm1',
      address: '10.0.0.1',
      url: 'http://10.0.0.1:5050',
      leader: false,
      reachable: true,
      reason: null,
    },
    {
      host: 'm2',
      address: '10.0.0.2',
      url: 'http://10.0.0.2:5050',
      leader: true,
      reachable: true,
      reason: null,
    },
    {
      host: 'm3',
      address: '10.0.0.3',
      url: 'http://10.0.0.3:5050',
      leader: false,
      reachable: true,
      reason: null,
    },
  ]);
  assert.equal(e.leader, 'http://10.0.0.2:5050');
  assert.deepEqual(e.agents, [
    { host: 'a1', address: '10.0.1.1', url: 'http://10.0.1.1:5051', registered: true },
    { host: 'a2', address: '10.0.1.2', url: 'http://10.0.1.2:5051', registered: false },
  ]);
  assert.deepEqual(e.marathon, [], 'Marathon is not enabled');
  assert.deepEqual(e.balancers, [], 'a static cluster has no balancers');
});

void test('the ZooKeeper URL is the very string meso writes to /etc/mesos/zk', () => {
  const desired = renderDesiredState(spec, topology, loadTemplates());
  const zkFile = desired.hosts
    .find((h) => h.host.name === 'a1')!
    .files.find((f) => f.path === '/etc/mesos/zk')!.content;
  const e = assembleEndpoints(input());
  assert.equal(`${e.zookeeper}\n`, zkFile);
  assert.equal(e.zookeeper, 'zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/mesos');
});

void test('a master that does not answer is shown with its reason; one not asked says so', () => {
  const e = assembleEndpoints(
    input({
      looks: new Map([
        ['m2', up(true)],
        ['m3', { answered: false, elected: false, reason: 'no SSH connection: connect EHOSTUNREACH' }],
      ]),
    }),
  );
  assert.deepEqual(
    e.masters.map((m) => [m.host, m.reachable, m.leader, m.reason]),
    [
      ['m1', false, false, 'not asked'],
      ['m2', true, true, null],
      ['m3', false, false, 'no SSH connection: connect EHOSTUNREACH'],
    ],
  );
  assert.match(
    endpointsText(e),
    /m3 +http:\/\/10\.0\.0\.3:5050 +not reachable \(no SSH connection: connect EHOSTUNREACH\)$/m,
  );
});

void test('no elected master: no leader, no agent registered (a stale list from a standby does not count)', () => {
  const none = assembleEndpoints(input({ looks: new Map([['m1', up()]]), listed: undefined }));
  assert.equal(none.leader, null);
  assert.ok(none.masters.every((m) => !m.leader));
  assert.ok(none.agents.every((a) => !a.registered));
  assert.match(endpointsText(none), /^leader += \(none\)$/m);

  // m1 lists agents but m2 is the one elected: m2 leads, and m1's list is no registration.
  const stale = assembleEndpoints(
    input({
      looks: new Map([
        ['m1', up()],
        ['m2', up(true)],
      ]),
      listed: { leader: 'm1', agents: [agent('10.0.1.1')] },
    }),
  );
  assert.equal(stale.leader, 'http://10.0.0.2:5050');
  assert.ok(stale.agents.every((a) => !a.registered));
});

void test('ports from the spec, Marathon where enabled, https with ssl', () => {
  const s = specOf(
    clusterYaml({
      masters: 1,
      agents: 1,
      extra: [
        'marathon: { enabled: true, flags: { http_port: 8090 } }',
        'security: { ssl: { certFile: /etc/ssl/c.pem, keyFile: /etc/ssl/k.pem } }',
      ].join('\n'),
    }).replace('masters:\n', 'masters:\n  flags: { port: 5055 }\n'),
  );
  const t = deriveTopology(s);
  const e = endpointsOf({ spec: s }, t, { looks: new Map([['m1', up(true)]]), listed: undefined }, undefined);
  assert.deepEqual(
    e.masters.map((m) => m.url),
    ['https://10.0.0.1:5055'],
  );
  assert.deepEqual(e.marathon, ['http://10.0.0.1:8090']);
  assert.match(endpointsText(e), /^marathon += http:\/\/10\.0\.0\.1:8090$/m);
});

void test('the text block: aligned name = value lines, one row per master and agent', () => {
  const text = endpointsText(assembleEndpoints(input()));
  assert.equal(
    text,
    [
      'Endpoints:',
      '',
      'masters   = m1  http://10.0.0.1:5050  standby',
      '            m2  http://10.0.0.2:5050  leader',
      '            m3  http://10.0.0.3:5050  standby',
      'leader    = http://10.0.0.2:5050',
      'zookeeper = zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/mesos',
      'marathon  = (not enabled)',
      'agents    = a1  10.0.1.1  registered',
      '            a2  10.0.1.2  not registered',
      '',
    ].join('\n'),
  );
});

/** The health probe's answer for HTTP responses by probe name (raw `HTTP/1.1 ...` text). */
function healthStdout(answers: Record<string, string>): string {
  return `${Object.entries(answers)
    .map(([n, raw]) => `H\t${n}\t${Buffer.from(raw).toString('base64')}`)
    .join('\n')}\nE\tdone\n`;
}

const ok = (body: unknown): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(body)}`;

void test('askMasters: one probe per master, one request each; the leader is the master that serves /master/slaves itself', async () => {
  const stdins: string[] = [];
  const conn = (name: string): HostConnection =>
    ({
      exec: (_command: string, opts: { stdin?: string } = {}): Promise<ExecResult> => {
        stdins.push(`${name} ${opts.stdin ?? ''}`);
        const slaves =
          name === 'm2'
            ? ok({ slaves: [{ id: 's1', hostname: '10.0.1.2', active: true }] })
            : 'HTTP/1.1 307 Temporary Redirect\r\nLocation: //10.0.0.2:5050/master/slaves\r\n\r\n';
        return Promise.resolve({ code: 0, stdout: healthStdout({ slaves }), stderr: '' });
      },
    }) as unknown as HostConnection;
  const p = {
    spec,
    topology,
    pool: {
      connectAll: () =>
        Promise.resolve(
          new Map([['m3', new MesoError('SshUnreachable', 'm3: cannot connect to 10.0.0.3:22: timed out')]]),
        ),
      get: (name: string) => Promise.resolve(conn(name)),
    },
  } as unknown as Session;
  const asked = await askMasters(p, new Map());
  assert.deepEqual(
    stdins.sort(),
    ['m1 H\tslaves\t10.0.0.1\t5050\t/master/slaves\n', 'm2 H\tslaves\t10.0.0.2\t5050\t/master/slaves\n'],
    'one probe per reachable master, one HTTP request in it',
  );
  const e = endpointsOf(p, topology, asked, undefined);
  assert.equal(e.leader, 'http://10.0.0.2:5050');
  assert.deepEqual(
    e.masters.map((m) => [m.host, m.reachable, m.leader]),
    [
      ['m1', true, false],
      ['m2', true, true],
      ['m3', false, false],
    ],
  );
  assert.equal(e.masters[2]!.reason, 'no SSH connection: cannot connect to 10.0.0.3:22: timed out');
  assert.deepEqual(
    e.agents.map((a) => a.registered),
    [false, true],
  );

  // No leader elected (every master answers 503), and a master with nothing on its port.
  const noLeader = {
    ...p,
    pool: {
      connectAll: () => Promise.resolve(new Map()),
      get: (name: string) =>
        Promise.resolve({
          exec: () =>
            Promise.resolve({
              code: 0,
              stdout:
                name === 'm3'
                  ? 'H\tslaves\t\nE\tdone\n'
                  : healthStdout({ slaves: 'HTTP/1.1 503 Service Unavailable\r\n\r\nNo leader elected' }),
              stderr: '',
            }),
        }),
    },
  } as unknown as Session;
  const n = endpointsOf(p, topology, await askMasters(noLeader, new Map()), undefined);
  assert.equal(n.leader, null);
  assert.deepEqual(
    n.masters.map((m) => [m.host, m.reachable, m.reason]),
    [
      ['m1', true, null],
      ['m2', true, null],
      ['m3', false, 'no answer on port 5050'],
    ],
  );

  // A host that answers but refuses us is not "unreachable": it stops the command, as everywhere.
  const refused = {
    ...p,
    pool: {
      ...p.pool,
      connectAll: () =>
        Promise.resolve(new Map([['m1', new MesoError('SshHostKeyMismatch', 'm1: host key')]])),
    },
  } as unknown as Session;
  await assert.rejects(askMasters(refused, new Map()), /host key/);
});

void test('aws: the balancers come from the provider, with their DNS names; the core names no provider', async () => {
  const aws = new FakeAws();
  try {
    const s = specOf(`apiVersion: meso/v1
kind: Cluster
name: c
provider: aws
aws:
  region: eu-west-1
  subnets: { masters: [subnet-m1], agents: [subnet-a1] }
  ami: ami-0123
  instanceTypes: { default: m5.large }
  keyName: k
masters: { count: 3 }
agents: [ { group: w, count: 1 } ]
`);
    const { awsProvider } = await import('../src/providers/aws/runtime.js');
    const state = emptyState('c');
    const ctx = {
      spec: s,
      state,
      names: deriveTopology(s).hosts.map((h) => h.name),
      save: () => Promise.resolve(),
      say: () => undefined,
    };
    const before = await awsProvider.discover(ctx);
    assert.deepEqual(before.balancers, [], 'none exist before the cloud is applied');
    await awsProvider.provision(ctx, before, { cloudOnly: true, runId: 'r' });
    const d = await awsProvider.discover(ctx);
    const t = deriveTopology(s, d.addresses);
    const e = endpointsOf({ spec: s }, t, { looks: new Map(), listed: undefined }, d.balancers);
    assert.deepEqual(e.balancers, [
      {
        name: 'c-int',
        dns: 'c-int.elb.example',
        scheme: 'internal',
        ports: [80, 443, 2181, 5050, 8080, 8181],
      },
      { name: 'c-admin', dns: 'c-admin.elb.example', scheme: 'internet-facing', ports: [80, 443] },
    ]);
    assert.match(e.masters[0]!.url!, /^http:\/\/10\.0\.\d+\.\d+:5050$/);
    assert.match(endpointsText(e), /^balancers = c-int +c-int\.elb\.example +internal, ports /m);
  } finally {
    aws.restore();
  }
});
