// Rule ensemble: ZooKeeper membership, ids (myid), timing limits and extra zoo.cfg settings.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveTopology } from '../src/model/topology.js';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate, yaml } from './helpers/spec.js';

const HEAD = ['apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: static'];
const AGENTS = ['agents:', '  - group: g', '    hosts:', '      - { name: a1, address: 10.0.0.100 }'];

/** Three masters on lines 7-9 (ids 1, 2, 3 by default); `hostExtra[i]` is appended inside host i's mapping. */
function threeMasters(hostExtra: readonly string[] = [], ...tail: string[]): string {
  const hosts = [1, 2, 3].map((i) => {
    const extra = hostExtra[i - 1];
    return `    - { name: m${i}, address: 10.0.0.${i}${extra === undefined ? '' : ', ' + extra} }`;
  });
  return yaml(...HEAD, 'masters:', '  hosts:', ...hosts, ...AGENTS, ...tail);
}

/** One master (line 7) and a dedicated ensemble: `zookeeper:` on line 8, `hosts:` on 9, members from 10. */
function dedicated(...zkLines: string[]): string {
  return yaml(
    ...HEAD,
    'masters:',
    '  hosts:',
    '    - { name: m1, address: 10.0.0.1 }',
    'zookeeper:',
    ...zkLines,
    ...AGENTS,
  );
}

void describe('rule ensemble: membership', () => {
  void test('by default the masters run the ensemble with ids 1..N', () => {
    const spec = expectClean(validate(threeMasters()));
    assert.equal(spec.zookeeper.onMasters, true);
    const topology = deriveTopology(spec);
    assert.deepEqual(
      topology.ensemble.map((h) => [h.name, h.zkId]),
      [
        ['m1', 1],
        ['m2', 2],
        ['m3', 3],
      ],
    );
  });

  void test('a dedicated ensemble of three is fine', () => {
    const spec = expectClean(
      validate(
        dedicated(
          '  hosts:',
          '    - { name: z1, address: 10.0.1.1 }',
          '    - { name: z2, address: 10.0.1.2 }',
          '    - { name: z3, address: 10.0.1.3 }',
        ),
      ),
    );
    assert.deepEqual(
      deriveTopology(spec).ensemble.map((h) => h.name),
      ['z1', 'z2', 'z3'],
    );
  });

  void test('a dedicated ensemble of two is an error suggesting 1 or 3 members', () => {
    const text = dedicated(
      '  hosts:',
      '    - { name: z1, address: 10.0.1.1 }',
      '    - { name: z2, address: 10.0.1.2 }',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 10,
        col: 5,
        message: 'a ZooKeeper ensemble of 2 tolerates no more failures than one of 1',
        fix: 'use 1 or 3 members',
        path: 'zookeeper.hosts',
      },
    ]);
  });

  void test('a dedicated ensemble of four is an error suggesting 3 or 5 members', () => {
    const members = [1, 2, 3, 4].map((i) => `    - { name: z${i}, address: 10.0.1.${i} }`);
    expectDiagnostics(validate(dedicated('  hosts:', ...members)), [
      { severity: 'error', line: 10, col: 5, message: 'ensemble of 4', fix: 'use 3 or 5 members' },
    ]);
  });

  void test('an empty dedicated ensemble is an error', () => {
    expectDiagnostics(validate(dedicated('  hosts: []')), [
      {
        severity: 'error',
        line: 9,
        col: 10,
        message: 'the ZooKeeper ensemble has no members',
        fix: 'use hosts: masters',
      },
    ]);
  });

  void test('an even dedicated ensemble given by count is reported at the count', () => {
    const text = yaml(
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: t',
      'provider: local',
      'masters:',
      '  count: 1',
      'zookeeper:',
      '  count: 2',
      'agents:',
      '  - { group: g, count: 1 }',
    );
    expectDiagnostics(validate(text), [
      { severity: 'error', line: 8, col: 10, message: 'ensemble of 2', path: 'zookeeper.count' },
    ]);
  });

  void test('hosts: masters is the same as leaving hosts out', () => {
    const spec = expectClean(validate(threeMasters([], 'zookeeper:', '  hosts: masters')));
    assert.equal(spec.zookeeper.onMasters, true);
    assert.equal(deriveTopology(spec).ensemble.length, 3);
  });
});

void describe('rule ensemble: ids', () => {
  void test('a member myid that repeats an earlier id is an error at that myid', () => {
    // m1 gets 1 by order; m2 says myid: 1 as well.
    expectDiagnostics(validate(threeMasters([undefined, 'myid: 1'] as string[])), [
      {
        severity: 'error',
        line: 8,
        col: 44,
        message: 'ZooKeeper id 1 of m2 is already used by m1',
        fix: 'give every member its own myid',
        path: 'masters.hosts[1].myid',
      },
    ]);
  });

  void test('two explicit equal myids are reported at the second', () => {
    expectDiagnostic(validate(threeMasters(['myid: 7', 'myid: 7'])), {
      severity: 'error',
      line: 8,
      col: 44,
      message: 'ZooKeeper id 7 of m2 is already used by m1',
    });
  });

  void test('an explicit myid colliding with a later sequential id is an error', () => {
    // m2 says 3, and m3 is third in order, so gets 3.
    const result = validate(threeMasters([undefined, 'myid: 3'] as string[]));
    assert.equal(result.spec, undefined);
    const d = expectDiagnostic(result, {
      severity: 'error',
      line: 9,
      col: 7,
      message: 'ZooKeeper id 3 of m3 is already used by m2',
    });
    assert.deepEqual(d.path, ['masters', 'hosts', 2]);
  });

  void test('an id clash with a sequential id points at a line of the ensemble, not at the document start', () => {
    const [d] = validate(threeMasters([undefined, 'myid: 3'] as string[])).diagnostics;
    assert.ok(d !== undefined && (d.line === 8 || d.line === 9), `at ${d?.line}:${d?.col}`);
  });

  void test('myid 300 is outside 1..255', () => {
    expectDiagnostics(validate(threeMasters([undefined, 'myid: 300'] as string[])), [
      {
        severity: 'error',
        line: 8,
        col: 44,
        message: 'ZooKeeper id 300 of m2 is outside 1..255',
        fix: 'use an id from 1 to 255',
        path: 'masters.hosts[1].myid',
      },
    ]);
  });

  void test('myid 0 is outside 1..255', () => {
    expectDiagnostic(validate(threeMasters(['myid: 0'])), {
      severity: 'error',
      line: 7,
      col: 44,
      message: 'ZooKeeper id 0 of m1 is outside 1..255',
    });
  });

  void test('myid 255 is allowed', () => {
    const spec = expectClean(validate(threeMasters(['myid: 255'])));
    assert.equal(deriveTopology(spec).ensemble[0]!.zkId, 255);
  });

  void test('myid: last-octet derives each id from the private address', () => {
    const text = yaml(
      ...HEAD,
      'zookeeper:',
      '  myid: last-octet',
      'masters:',
      '  hosts:',
      '    - { name: m1, address: 10.0.0.11 }',
      '    - { name: m2, address: 10.0.0.12 }',
      '    - { name: m3, address: 203.0.113.9, privateAddress: 10.0.0.42 }',
      ...AGENTS,
    );
    const spec = expectClean(validate(text));
    const ids = new Map(deriveTopology(spec).ensemble.map((h) => [h.name, h.zkId]));
    assert.deepEqual(
      [...ids],
      [
        ['m1', 11],
        ['m2', 12],
        ['m3', 42],
      ],
    );
  });

  void test('myid: last-octet with two addresses ending in the same octet is a duplicate id', () => {
    const text = yaml(
      ...HEAD,
      'zookeeper:',
      '  myid: last-octet',
      'masters:',
      '  hosts:',
      '    - { name: m1, address: 10.0.0.5 }',
      '    - { name: m2, address: 10.0.1.5 }',
      '    - { name: m3, address: 10.0.0.7 }',
      ...AGENTS,
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 6,
        col: 9,
        message: 'ZooKeeper id 5 of m2 is already used by m1',
        path: 'zookeeper.myid',
      },
    ]);
  });

  void test('myid: last-octet with a DNS name cannot derive an id', () => {
    const text = yaml(
      ...HEAD,
      'zookeeper:',
      '  myid: last-octet',
      'masters:',
      '  hosts:',
      '    - { name: m1, address: m1.example.net }',
      ...AGENTS,
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 6,
        col: 9,
        message: 'cannot derive a ZooKeeper id for m1: myid: last-octet needs a known IPv4 address',
        fix: 'give m1 a myid:, or use myid: sequential',
      },
    ]);
  });

  void test('myid: last-octet with an explicit myid on the DNS-named host is fine', () => {
    const text = yaml(
      ...HEAD,
      'zookeeper:',
      '  myid: last-octet',
      'masters:',
      '  hosts:',
      '    - { name: m1, address: m1.example.net, myid: 9 }',
      ...AGENTS,
    );
    assert.equal(deriveTopology(expectClean(validate(text))).ensemble[0]!.zkId, 9);
  });

  void test('an address ending in .0 gives id 0, which is outside 1..255', () => {
    const text = yaml(
      ...HEAD,
      'zookeeper:',
      '  myid: last-octet',
      'masters:',
      '  hosts:',
      '    - { name: m1, address: 10.0.1.0 }',
      ...AGENTS,
    );
    expectDiagnostic(validate(text), {
      severity: 'error',
      line: 6,
      col: 9,
      message: 'ZooKeeper id 0 of m1 is outside 1..255',
    });
  });

  void test('a myid on a host that is not a ZooKeeper member is a warning', () => {
    const result = validate(base({ 11: '      - { name: a1, address: 10.0.0.11, myid: 4 }' }));
    expectDiagnostics(result, [
      {
        severity: 'warning',
        line: 11,
        col: 47,
        message: 'a1 is not a ZooKeeper member; its myid is ignored',
        path: 'agents[0].hosts[0].myid',
      },
    ]);
    assert.ok(result.spec !== undefined);
  });

  void test('a master myid is ignored (warning) when the ensemble is dedicated', () => {
    const text = yaml(
      ...HEAD,
      'masters:',
      '  hosts:',
      '    - { name: m1, address: 10.0.0.1, myid: 1 }',
      'zookeeper:',
      '  hosts:',
      '    - { name: z1, address: 10.0.1.1 }',
      ...AGENTS,
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'warning',
        line: 7,
        col: 44,
        message: 'm1 is not a ZooKeeper member',
        path: 'masters.hosts[0].myid',
      },
    ]);
  });
});

void describe('rule ensemble: timing', () => {
  void test('syncLimit above initLimit is a warning with an explanation', () => {
    const result = validate(base({}, 'zookeeper:', '  initLimit: 5', '  syncLimit: 6'));
    expectDiagnostics(result, [
      {
        severity: 'warning',
        line: 14,
        col: 14,
        message: 'syncLimit 6 is above initLimit 5',
        fix: 'initLimit',
        path: 'zookeeper.syncLimit',
      },
    ]);
    assert.equal(result.spec?.zookeeper.syncLimit, 6);
  });

  void test('syncLimit above the default initLimit (10) is a warning too', () => {
    expectDiagnostic(validate(base({}, 'zookeeper:', '  syncLimit: 11')), {
      severity: 'warning',
      line: 13,
      col: 14,
      message: 'syncLimit 11 is above initLimit 10',
    });
  });

  void test('syncLimit equal to initLimit is fine', () => {
    expectClean(validate(base({}, 'zookeeper:', '  initLimit: 5', '  syncLimit: 5')));
  });

  void test('a tickTime under 100 ms is a warning', () => {
    expectDiagnostics(validate(base({}, 'zookeeper:', '  tickTime: 50')), [
      {
        severity: 'warning',
        line: 13,
        col: 13,
        message: 'tickTime 50 ms is very short',
        fix: 'the ZooKeeper default is 2000',
      },
    ]);
  });
});

void describe('rule ensemble: zookeeper.settings', () => {
  void test('settings overriding dataDir are an error at the key, pointing to zookeeper.dataDir', () => {
    expectDiagnostics(validate(base({}, 'zookeeper:', '  settings:', '    dataDir: /tmp/zk')), [
      {
        severity: 'error',
        line: 14,
        col: 5,
        message: "'dataDir' is set by meso",
        fix: 'use zookeeper.dataDir',
        path: 'zookeeper.settings.dataDir',
      },
    ]);
  });

  void test('settings overriding a server.N line point to zookeeper.hosts', () => {
    expectDiagnostics(validate(base({}, 'zookeeper:', '  settings:', '    server.1: "10.0.0.9:2888:3888"')), [
      {
        severity: 'error',
        line: 14,
        col: 5,
        message: "'server.1' is set by meso",
        fix: 'use zookeeper.hosts',
      },
    ]);
  });

  void test('each of clientPort, tickTime, initLimit and syncLimit is reserved', () => {
    for (const key of ['clientPort', 'tickTime', 'initLimit', 'syncLimit']) {
      expectDiagnostics(validate(base({}, 'zookeeper:', '  settings:', `    ${key}: 1`)), [
        {
          severity: 'error',
          line: 14,
          col: 5,
          message: `'${key}' is set by meso`,
          fix: `use zookeeper.${key}`,
        },
      ]);
    }
  });

  void test('an unsafe zoo.cfg key is an error at the key', () => {
    expectDiagnostics(validate(base({}, 'zookeeper:', '  settings:', '    "max client=x": 1')), [
      {
        severity: 'error',
        line: 14,
        col: 5,
        message: "unsafe zoo.cfg key 'max client=x'",
        fix: 'use letters, digits, _ and .',
      },
    ]);
  });

  void test('a zoo.cfg value with a line break is an error at the value', () => {
    expectDiagnostics(
      validate(base({}, 'zookeeper:', '  settings:', '    autopurge.purgeInterval: "1\\nserver.9=x"')),
      [{ severity: 'error', line: 14, col: 30, message: 'zoo.cfg values must be on one line' }],
    );
  });

  void test('ordinary extra settings are accepted and kept', () => {
    const spec = expectClean(
      validate(
        base(
          {},
          'zookeeper:',
          '  settings:',
          '    autopurge.snapRetainCount: 3',
          '    4lw.commands.whitelist: ruok',
        ),
      ),
    );
    assert.deepEqual(spec.zookeeper.settings, {
      'autopurge.snapRetainCount': 3,
      '4lw.commands.whitelist': 'ruok',
    });
  });
});

void describe('rule values: zookeeper.dataDir', () => {
  void test('a relative dataDir is an error', () => {
    expectDiagnostics(validate(base({}, 'zookeeper:', '  dataDir: var/lib/zk')), [
      {
        severity: 'error',
        line: 13,
        col: 12,
        message: "dataDir 'var/lib/zk' must be an absolute path of safe characters",
        path: 'zookeeper.dataDir',
      },
    ]);
  });

  void test('a dataDir that climbs out with .. is an error', () => {
    expectDiagnostic(validate(base({}, 'zookeeper:', '  dataDir: /var/lib/../../etc')), {
      severity: 'error',
      line: 13,
      col: 12,
      message: "dataDir '/var/lib/../../etc' must be an absolute path",
    });
  });
});
