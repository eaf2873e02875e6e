// Rules masterCount and quorum: how many masters a cluster may have and what quorum they may use.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveTopology } from '../src/model/topology.js';
import { expectClean, expectDiagnostics, validate, yaml } from './helpers/spec.js';

/**
 * A static cluster with `n` masters m1..mN on lines 7..6+N, `masterLines` inserted between
 * `masters:` (line 5) and `hosts:` (then at line 6 + masterLines.length), and one agent after them.
 */
function withMasters(n: number, ...masterLines: string[]): string {
  const hosts = Array.from({ length: n }, (_, i) => `    - { name: m${i + 1}, address: 10.0.0.${i + 1} }`);
  return yaml(
    'apiVersion: meso/v1',
    'kind: Cluster',
    'name: t',
    'provider: static',
    'masters:',
    ...masterLines,
    n === 0 ? '  hosts: []' : '  hosts:',
    ...hosts,
    'agents:',
    '  - group: g',
    '    hosts:',
    '      - { name: a1, address: 10.0.0.100 }',
  );
}

void describe('rule masterCount', () => {
  void test('no masters is an error at the empty hosts list', () => {
    expectDiagnostics(validate(withMasters(0)), [
      {
        severity: 'error',
        line: 6,
        col: 10,
        message: 'a cluster needs at least one master',
        fix: 'list 1 master for development, 3 or 5 for HA',
        path: 'masters.hosts',
      },
    ]);
  });

  void test('masters: count: 0 is an error at the count', () => {
    const text = yaml(
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: t',
      'provider: local',
      'masters:',
      '  count: 0',
      'agents:',
      '  - { group: g, count: 1 }',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 6,
        col: 10,
        message: 'a cluster needs at least one master',
        path: 'masters.count',
      },
    ]);
  });

  void test('one master is fine (development)', () => {
    expectClean(validate(withMasters(1)));
  });

  void test('two masters are an error that says to use 3 or 5', () => {
    expectDiagnostics(validate(withMasters(2)), [
      {
        severity: 'error',
        line: 7,
        col: 5,
        message: '2 masters cannot keep a quorum through one failure',
        fix: 'use 3 or 5 (1 for development), or set masters.allowEvenCount: true',
        path: 'masters.hosts',
      },
    ]);
  });

  void test('three and five masters are fine', () => {
    expectClean(validate(withMasters(3)));
    expectClean(validate(withMasters(5)));
  });

  void test('four masters are an error that suggests 3 or 5', () => {
    expectDiagnostics(validate(withMasters(4)), [
      {
        severity: 'error',
        line: 7,
        col: 5,
        message: '4 masters tolerate 1 failure, no more than 3 would',
        fix: 'use 3 or 5, or set masters.allowEvenCount: true',
      },
    ]);
  });

  void test('six masters say failures in the plural', () => {
    expectDiagnostics(validate(withMasters(6)), [
      { severity: 'error', line: 7, col: 5, message: '6 masters tolerate 2 failures, no more than 5 would' },
    ]);
  });

  void test('allowEvenCount: true accepts two masters', () => {
    const spec = expectClean(validate(withMasters(2, '  allowEvenCount: true')));
    assert.equal(spec.masters.hosts.length, 2);
    assert.equal(spec.masters.allowEvenCount, true);
  });

  void test('allowEvenCount: false is the same as leaving it out', () => {
    expectDiagnostics(validate(withMasters(2, '  allowEvenCount: false')), [
      { severity: 'error', line: 8, col: 5, message: '2 masters cannot keep a quorum' },
    ]);
  });

  void test('nine masters are only a warning, so the spec is still returned', () => {
    const result = validate(withMasters(9));
    expectDiagnostics(result, [
      {
        severity: 'warning',
        line: 7,
        col: 5,
        message: '9 masters slow every write to the replicated log',
        fix: 'use 3, 5 or 7',
      },
    ]);
    assert.equal(result.spec?.masters.hosts.length, 9);
  });

  void test('seven masters are fine', () => {
    expectClean(validate(withMasters(7)));
  });

  void test('eight masters are both an even-count error and a too-many warning', () => {
    expectDiagnostics(validate(withMasters(8)), [
      // Same position: sorted by message.
      { severity: 'warning', line: 7, col: 5, message: '8 masters slow every write' },
      { severity: 'error', line: 7, col: 5, message: '8 masters tolerate 3 failures, no more than 7 would' },
    ]);
  });
});

void describe('rule quorum', () => {
  void test('quorum 1 of 3 masters is an error: not a majority', () => {
    expectDiagnostics(validate(withMasters(3, '  quorum: 1')), [
      {
        severity: 'error',
        line: 6,
        col: 11,
        message: 'quorum 1 is not a majority of 3 masters',
        fix: 'use auto (2) or a value from 2 to 3',
        path: 'masters.quorum',
      },
    ]);
  });

  void test('quorum 4 of 3 masters is an error: more than the masters', () => {
    expectDiagnostics(validate(withMasters(3, '  quorum: 4')), [
      {
        severity: 'error',
        line: 6,
        col: 11,
        message: 'quorum 4 is more than the 3 masters',
        fix: 'use auto (2)',
        path: 'masters.quorum',
      },
    ]);
  });

  void test('quorum 2 of 3 masters is fine and is the quorum the topology uses', () => {
    const spec = expectClean(validate(withMasters(3, '  quorum: 2')));
    assert.equal(spec.masters.quorum, 2);
    assert.equal(deriveTopology(spec).quorum, 2);
  });

  void test('quorum 3 of 3 masters (all of them) is allowed', () => {
    const spec = expectClean(validate(withMasters(3, '  quorum: 3')));
    assert.equal(deriveTopology(spec).quorum, 3);
  });

  void test('quorum auto is floor(N/2)+1', () => {
    assert.equal(deriveTopology(expectClean(validate(withMasters(5, '  quorum: auto')))).quorum, 3);
  });

  void test('quorum 2 of 4 masters is exactly half, so not a majority', () => {
    expectDiagnostics(validate(withMasters(4, '  allowEvenCount: true', '  quorum: 2')), [
      {
        severity: 'error',
        line: 7,
        col: 11,
        message: 'quorum 2 is not a majority of 4 masters',
        fix: 'auto (3)',
      },
    ]);
  });

  void test('quorum 3 of 4 masters is a majority', () => {
    expectClean(validate(withMasters(4, '  allowEvenCount: true', '  quorum: 3')));
  });

  void test('quorum 0 is refused by the schema before the rule', () => {
    expectDiagnostics(validate(withMasters(3, '  quorum: 0')), [
      { severity: 'error', line: 6, col: 11, message: 'invalid value number 0', path: 'masters.quorum' },
    ]);
  });

  void test('a quorum is checked against masters given by count', () => {
    const text = yaml(
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: t',
      'provider: local',
      'masters:',
      '  count: 5',
      '  quorum: 2',
      'agents:',
      '  - { group: g, count: 1 }',
    );
    expectDiagnostics(validate(text), [
      { severity: 'error', line: 7, col: 11, message: 'quorum 2 is not a majority of 5 masters' },
    ]);
  });
});
