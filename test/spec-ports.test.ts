// Rule ports: two services on one host must not listen on the same port.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate, yaml } from './helpers/spec.js';

void describe('rule ports', () => {
  void test('an agent on a master host with flags.port 5050 clashes with mesos-master', () => {
    // m1 is a master and, co-located, an agent of group g.
    const text = base({ 11: '      - { name: m1, address: 10.0.0.1 }' }, '    flags: { port: 5050 }');
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 12,
        col: 20,
        message: 'port 5050 on m1 is already used by mesos-master',
        fix: 'give each service its own port',
        path: 'agents[0].flags.port',
      },
    ]);
  });

  void test('an agent with flags.port 5050 on its own host is fine', () => {
    expectClean(validate(base({}, '    flags: { port: 5050 }')));
  });

  void test('a co-located agent with the default ports is fine (5050 and 5051)', () => {
    expectClean(validate(base({ 11: '      - { name: m1, address: 10.0.0.1 }' })));
  });

  void test('a master port equal to the ZooKeeper clientPort clashes on every ensemble host', () => {
    const text = base({ 6: '  flags: { port: 2181 }', 7: '  hosts: [{ name: m1, address: 10.0.0.1 }]' });
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 6,
        col: 18,
        message: 'port 2181 on m1 is already used by ZooKeeper clientPort',
        path: 'masters.flags.port',
      },
    ]);
  });

  void test('zookeeper peerPort equal to clientPort is an error at peerPort', () => {
    const result = validate(base({}, 'zookeeper:', '  clientPort: 2181', '  peerPort: 2181'));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 14,
        col: 13,
        message: 'port 2181 on m1 is already used by ZooKeeper clientPort',
        fix: 'give each service its own port',
        path: 'zookeeper.peerPort',
      },
    ]);
  });

  void test('zookeeper clientPort set to the default peerPort (2888) is an error', () => {
    const result = validate(base({}, 'zookeeper:', '  clientPort: 2888'));
    assert.equal(result.spec, undefined);
    expectDiagnostic(result, {
      severity: 'error',
      line: 13,
      col: 15,
      message: 'port 2888 on m1 is already used by ZooKeeper peerPort (default)',
    });
  });

  void test('zookeeper clientPort set to the default peerPort is reported at clientPort, the line the user wrote', () => {
    const [d] = validate(base({}, 'zookeeper:', '  clientPort: 2888')).diagnostics;
    assert.deepEqual(d?.path, ['zookeeper', 'clientPort']);
    assert.equal(`${d.line}:${d.col}`, '13:15');
  });

  void test('electionPort equal to peerPort is an error at electionPort', () => {
    expectDiagnostic(validate(base({}, 'zookeeper:', '  electionPort: 2888')), {
      severity: 'error',
      line: 13,
      col: 17,
      message: 'port 2888 on m1 is already used by ZooKeeper peerPort',
      path: 'zookeeper.electionPort',
    });
  });

  void test('a ZooKeeper port clash is reported once, not once per ensemble host', () => {
    const text = yaml(
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: t',
      'provider: static',
      'zookeeper: { peerPort: 2181 }',
      'masters:',
      '  hosts:',
      '    - { name: m1, address: 10.0.0.1 }',
      '    - { name: m2, address: 10.0.0.2 }',
      '    - { name: m3, address: 10.0.0.3 }',
      'agents: [{ group: g, hosts: [{ name: a1, address: 10.0.0.11 }] }]',
    );
    const result = validate(text);
    assert.deepEqual(
      result.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`),
      ['5:24 port 2181 on m1 is already used by ZooKeeper clientPort'],
    );
  });

  void test('Marathon http_port 5050 on the masters clashes with mesos-master', () => {
    const text = base({}, 'marathon:', '  enabled: true', '  flags: { http_port: 5050 }');
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 14,
        col: 23,
        message: 'port 5050 on m1 is already used by mesos-master',
        fix: 'give each service its own port',
        path: 'marathon.flags.http_port',
      },
    ]);
  });

  void test('Marathon http_port 5050 is fine while Marathon is disabled', () => {
    expectClean(validate(base({}, 'marathon:', '  enabled: false', '  flags: { http_port: 5050 }')));
  });

  void test('Marathon http_port set to the default https_port (8443) is an error', () => {
    const text = base({}, 'marathon:', '  enabled: true', '  flags: { http_port: 8443 }');
    // Reported at http_port, the value the user wrote, naming the default it clashes with.
    expectDiagnostic(validate(text), {
      severity: 'error',
      line: 14,
      col: 23,
      message: 'port 8443 on m1 is already used by Marathon https_port (default)',
      path: 'marathon.flags.http_port',
    });
  });

  void test('Marathon on the default ports next to a master is fine', () => {
    expectClean(validate(base({}, 'marathon:', '  enabled: true')));
  });
});
