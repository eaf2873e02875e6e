// Rules hostLists and hostIdentity: how host lists are written, and that every host is one machine
// with one name and one address.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveTopology } from '../src/model/topology.js';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate, yaml } from './helpers/spec.js';

void describe('rule hostIdentity: names', () => {
  void test('a name listed twice among the masters is an error at the second name', () => {
    const text = base({
      6: '  hosts: [{ name: m1, address: 10.0.0.1 }, { name: m1, address: 10.0.0.1 }]',
      7: '  # -',
    });
    // With two masters the even-count rule fires as well; allowEvenCount keeps this test to one rule.
    const result = validate(text.replace('  # -', '  allowEvenCount: true'));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 6,
        col: 52,
        message: /^host m1 is listed twice in master/,
        fix: 'host names must be unique',
        path: 'masters.hosts[1].name',
      },
    ]);
  });

  void test('a name listed twice in one agent group is an error naming the group', () => {
    const text = base({}, '      - { name: a1, address: 10.0.0.11 }');
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 12,
        col: 17,
        message: 'host a1 is listed twice in agents.g',
        fix: 'host names must be unique',
        path: 'agents[0].hosts[1].name',
      },
    ]);
  });

  void test('a name listed twice in one list with different addresses is two errors', () => {
    const text = base({}, '      - { name: a1, address: 10.0.0.12 }');
    expectDiagnostics(validate(text), [
      { severity: 'error', line: 12, col: 17, message: 'host a1 is listed twice in agents.g' },
      { severity: 'error', line: 12, col: 30, message: 'host a1 is declared again with another address' },
    ]);
  });

  void test('the same name and address as master and agent is allowed (co-location)', () => {
    const spec = expectClean(validate(base({ 11: '      - { name: m1, address: 10.0.0.1 }' })));
    const topology = deriveTopology(spec);
    assert.equal(topology.hosts.length, 1);
    assert.deepEqual(topology.hosts[0]!.roles, ['zookeeper', 'master', 'agent']);
  });

  void test('the same name as master and agent with different addresses is an error at the second address', () => {
    expectDiagnostics(validate(base({ 11: '      - { name: m1, address: 10.0.0.9 }' })), [
      {
        severity: 'error',
        line: 11,
        col: 30,
        message: 'host m1 is declared again with another address (10.0.0.9 vs 10.0.0.1)',
        fix: 'a host in two roles must have the same address in both',
        path: 'agents[0].hosts[0].address',
      },
    ]);
  });

  void test('the same host in two roles with different privateAddresses is an error', () => {
    const text = base({
      7: '    - { name: m1, address: 10.0.0.1, privateAddress: 172.16.0.1 }',
      11: '      - { name: m1, address: 10.0.0.1, privateAddress: 172.16.0.9 }',
    });
    expectDiagnostic(validate(text), {
      severity: 'error',
      line: 11,
      col: 56,
      message: 'host m1 is declared again with another',
      path: 'agents[0].hosts[0].privateAddress',
    });
  });

  void test('the same name in two agent groups with one address is allowed', () => {
    const text = base({}, '  - group: h', '    hosts:', '      - { name: a1, address: 10.0.0.11 }');
    expectClean(validate(text));
  });

  void test('a host name with unsafe characters is an error at the name', () => {
    expectDiagnostics(validate(base({ 11: '      - { name: bad_name!, address: 10.0.0.11 }' })), [
      {
        severity: 'error',
        line: 11,
        col: 17,
        message: "host name 'bad_name!' has unsafe characters",
        fix: "use letters, digits, '-' and '.'",
        path: 'agents[0].hosts[0].name',
      },
    ]);
  });

  void test('a host name that starts with - is unsafe (it would read as an option)', () => {
    expectDiagnostic(validate(base({ 11: '      - { name: "-oProxy", address: 10.0.0.11 }' })), {
      severity: 'error',
      line: 11,
      col: 17,
      message: "host name '-oProxy' has unsafe characters",
    });
  });

  void test('an empty host name is unsafe', () => {
    expectDiagnostic(validate(base({ 11: '      - { name: "", address: 10.0.0.11 }' })), {
      severity: 'error',
      line: 11,
      col: 17,
      message: "host name '' has unsafe characters",
    });
  });

  void test('dotted host names are fine', () => {
    expectClean(validate(base({ 11: '      - { name: a1.dc1.example.net, address: 10.0.0.11 }' })));
  });
});

void describe('rule hostIdentity: addresses', () => {
  void test('two hosts with the same address is an error at the second address', () => {
    expectDiagnostics(validate(base({ 11: '      - { name: a1, address: 10.0.0.1 }' })), [
      {
        severity: 'error',
        line: 11,
        col: 30,
        message: 'address 10.0.0.1 is already used by host m1',
        fix: 'every host needs its own address',
        path: 'agents[0].hosts[0].address',
      },
    ]);
  });

  void test("a privateAddress equal to another host's address is an error at the privateAddress", () => {
    const text = base({ 11: '      - { name: a1, address: 10.0.0.11, privateAddress: 10.0.0.1 }' });
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 11,
        col: 57,
        message: 'address 10.0.0.1 is already used by host m1',
        path: 'agents[0].hosts[0].privateAddress',
      },
    ]);
  });

  void test('a host whose privateAddress equals its own address is fine', () => {
    expectClean(
      validate(base({ 11: '      - { name: a1, address: 10.0.0.11, privateAddress: 10.0.0.11 }' })),
    );
  });

  void test('an address with shell characters is not an IP address or DNS name', () => {
    const result = validate(base({ 11: '      - { name: a1, address: "10.0.0.11;reboot" }' }));
    expectDiagnostic(result, {
      severity: 'error',
      line: 11,
      col: 30,
      message: /^address '10\.0\.0\.11;reboot' is not an IP address or DNS name$/,
      fix: null,
      path: 'agents[0].hosts[0].address',
    });
    assert.equal(result.spec, undefined);
  });

  void test('a bad address is reported once, not again as the privateAddress it defaults to', () => {
    const result = validate(base({ 11: '      - { name: a1, address: "10.0.0.11;reboot" }' }));
    assert.equal(result.diagnostics.length, 1);
  });

  void test('a privateAddress with a space is not an IP address or DNS name', () => {
    const text = base({ 11: '      - { name: a1, address: 10.0.0.11, privateAddress: "10.0.0.12 x" }' });
    expectDiagnostic(validate(text), {
      severity: 'error',
      line: 11,
      col: 57,
      message: "privateAddress '10.0.0.12 x' is not an IP address or DNS name",
    });
  });

  void test('IPv6 addresses and DNS names are accepted', () => {
    expectClean(
      validate(
        base({
          7: '    - { name: m1, address: "fd00::1" }',
          11: '      - { name: a1, address: a1.example.net }',
        }),
      ),
    );
  });
});

void describe('rule hostLists', () => {
  const localHead = ['apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: local'];

  void test('count with provider static is an error at the count key', () => {
    const result = validate(base({}, '  - group: h', '    count: 2'));
    const d = expectDiagnostic(result, {
      severity: 'error',
      line: 13,
      col: 5,
      message: 'count needs a provider that creates machines',
      fix: 'use provider: local or aws',
      path: 'agents[1].count',
    });
    assert.equal(d.atKey, true);
    assert.equal(result.spec, undefined);
  });

  void test('hosts and count together is an error at the count key', () => {
    const text = yaml(
      ...localHead,
      'masters:',
      '  hosts:',
      '    - { name: m1 }',
      '  count: 1',
      'agents:',
      '  - { group: g, count: 1 }',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 8,
        col: 3,
        message: 'give either hosts or count, not both',
        fix: null,
        path: 'masters.count',
      },
    ]);
  });

  void test('hosts and count together on an agent group is an error too', () => {
    const text = yaml(
      ...localHead,
      'masters:',
      '  count: 1',
      'agents:',
      '  - group: g',
      '    count: 2',
      '    hosts: [{ name: a1 }]',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 9,
        col: 5,
        message: 'give either hosts or count, not both',
        path: 'agents[0].count',
      },
    ]);
  });

  void test('an agent group with neither hosts nor count is an error at the group', () => {
    expectDiagnostics(validate(base({ 10: '    public: false', 11: '    # no hosts' })), [
      {
        severity: 'error',
        line: 9,
        col: 5,
        message: 'this agent group lists no hosts',
        fix: 'add hosts: or count:',
        path: 'agents[0]',
      },
    ]);
  });

  void test('count on a local cluster names hosts after their list', () => {
    const text = yaml(...localHead, 'masters:', '  count: 3', 'agents:', '  - { group: web, count: 2 }');
    const spec = expectClean(validate(text));
    assert.deepEqual(
      spec.masters.hosts.map((h) => h.name),
      ['master-1', 'master-2', 'master-3'],
    );
    assert.deepEqual(
      spec.agents[0]!.hosts.map((h) => h.name),
      ['web-1', 'web-2'],
    );
  });
});
