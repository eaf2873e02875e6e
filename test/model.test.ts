import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveTopology, UNKNOWN_ADDRESS } from '../src/model/topology.js';
import { clusterYaml, specOf } from './helpers/build.js';

void test('quorum auto is a majority of the masters', () => {
  for (const [n, q] of [
    [1, 1],
    [3, 2],
    [5, 3],
    [7, 4],
  ] as const) {
    assert.equal(deriveTopology(specOf(clusterYaml({ masters: n }))).quorum, q, `${n} masters`);
  }
});

void test('an explicit quorum is kept', () => {
  const spec = specOf(clusterYaml({ masters: 5 }).replace('masters:\n', 'masters:\n  quorum: 4\n'));
  assert.equal(deriveTopology(spec).quorum, 4);
});

void test('the ensemble runs on the masters by default, ids 1..N with a host myid winning', () => {
  const yaml = clusterYaml().replace(
    '{ name: m2, address: 10.0.0.2 }',
    '{ name: m2, address: 10.0.0.2, myid: 12 }',
  );
  const t = deriveTopology(specOf(yaml));
  assert.deepEqual(
    t.ensemble.map((h) => [h.name, h.zkId]),
    [
      ['m1', 1],
      ['m2', 12],
      ['m3', 3],
    ],
  );
  assert.equal(t.mesosZk, 'zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/mesos');
  assert.equal(t.marathonZk, 'zk://10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/marathon');
});

void test('dedicated ZooKeeper hosts, custom client port, private addresses for cluster traffic', () => {
  const yaml = clusterYaml({
    extra: [
      'zookeeper:',
      '  clientPort: 2281',
      '  hosts:',
      '    - { name: z1, address: 10.0.2.1, privateAddress: 172.16.2.1 }',
      '    - { name: z2, address: 10.0.2.2, privateAddress: 172.16.2.2 }',
      '    - { name: z3, address: 10.0.2.3, privateAddress: 172.16.2.3 }',
    ].join('\n'),
  });
  const t = deriveTopology(specOf(yaml));
  assert.deepEqual(
    t.ensemble.map((h) => h.name),
    ['z1', 'z2', 'z3'],
  );
  assert.equal(t.zkHosts, '172.16.2.1:2281,172.16.2.2:2281,172.16.2.3:2281');
  assert.deepEqual(t.hosts.find((h) => h.name === 'm1')?.roles, ['master']);
  assert.deepEqual(t.hosts.find((h) => h.name === 'z1')?.roles, ['zookeeper']);
});

void test('a host listed as master and agent is one host with both roles', () => {
  const yaml =
    clusterYaml({ masters: 1, agents: 0 }) +
    'agents:\n  - group: g\n    hosts: [{ name: m1, address: 10.0.0.1 }]\n';
  const t = deriveTopology(specOf(yaml));
  assert.equal(t.hosts.length, 1);
  assert.deepEqual(t.hosts[0]?.roles, ['zookeeper', 'master', 'agent']);
  assert.equal(t.hosts[0]?.agentGroup, 'g');
});

void test('count: hosts get derived names and unknown addresses until the provider knows them', () => {
  const yaml = [
    'apiVersion: meso/v1',
    'kind: Cluster',
    'name: lab',
    'provider: local',
    'masters: { count: 3 }',
    'agents: [{ group: w, count: 2 }]',
    '',
  ].join('\n');
  const spec = specOf(yaml);
  const offline = deriveTopology(spec);
  assert.deepEqual(
    offline.hosts.map((h) => h.name),
    ['master-1', 'master-2', 'master-3', 'w-1', 'w-2'],
  );
  assert.ok(offline.hosts.every((h) => h.address === UNKNOWN_ADDRESS && !h.addressKnown));
  const known = deriveTopology(spec, new Map([['master-1', { address: '198.18.7.11' }]]));
  assert.equal(known.hosts[0]?.address, '198.18.7.11');
  assert.equal(known.hosts[0]?.privateAddress, '198.18.7.11');
  assert.ok(known.zkHosts.startsWith('198.18.7.11:2181,'));
});

void test('marathon runs on the masters only when enabled', () => {
  const off = deriveTopology(specOf(clusterYaml()));
  assert.ok(off.hosts.every((h) => !h.roles.includes('marathon')));
  const on = deriveTopology(specOf(clusterYaml({ extra: 'marathon: { enabled: true }' })));
  assert.deepEqual(
    on.hosts.filter((h) => h.roles.includes('marathon')).map((h) => h.name),
    ['m1', 'm2', 'm3'],
  );
});
