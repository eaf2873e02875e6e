// validateText across rules: every problem is reported at once, in file order, and warnings alone
// still return the spec.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RULES, runRules } from '../src/spec/rules.js';
import { normalize } from '../src/spec/normalize.js';
import { BASE, base, expectDiagnostics, validate, yaml } from './helpers/spec.js';

void describe('validateText with several problems', () => {
  void test('three problems from three rules on three lines give three diagnostics sorted by line', () => {
    // Rules run in the order masterCount, agentGroups, flags; the file order is flags, masters, agents.
    const text = yaml(
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: t',
      'provider: static',
      'masters:',
      '  flags: { quorum: 1 }',
      '  hosts:',
      '    - { name: m1, address: 10.0.0.1 }',
      '    - { name: m2, address: 10.0.0.2 }',
      'agents:',
      '  - group: g',
      '    containerizers: [mesos, mesos]',
      '    hosts:',
      '      - { name: a1, address: 10.0.0.11 }',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 6,
        col: 12,
        message: "flag 'quorum' is managed by meso",
        fix: 'masters.quorum',
      },
      { severity: 'error', line: 8, col: 5, message: '2 masters cannot keep a quorum', fix: 'use 3 or 5' },
      { severity: 'error', line: 12, col: 21, message: 'a containerizer is listed twice' },
    ]);
  });

  void test('errors and warnings together: no spec, and both are reported', () => {
    const text = base(
      { 11: '      - { name: a1, address: 10.0.0.11, myid: 9 }' },
      'zookeeper:',
      '  syncLimit: 20',
      'state: { backend: s3 }',
    );
    expectDiagnostics(validate(text), [
      { severity: 'warning', line: 11, col: 47, message: 'a1 is not a ZooKeeper member' },
      { severity: 'warning', line: 13, col: 14, message: 'syncLimit 20 is above initLimit 10' },
      { severity: 'error', line: 14, col: 8, message: 'state backend s3 needs a bucket' },
    ]);
  });

  void test('warnings alone return the spec with its defaults', () => {
    const result = validate(base({}, 'zookeeper:', '  tickTime: 10'));
    assert.equal(result.diagnostics.length, 1);
    assert.equal(result.diagnostics[0]!.severity, 'warning');
    assert.equal(result.spec?.zookeeper.tickTime, 10);
    assert.equal(result.spec.zookeeper.initLimit, 10);
  });

  void test('validateText is pure: the same text gives the same diagnostics twice', () => {
    const text = base({ 4: 'provider: local' });
    assert.deepEqual(validate(text), validate(text));
  });
});

void describe('runRules', () => {
  void test('no rule reports anything for a minimal valid document', () => {
    assert.ok(RULES.length > 0);
    const raw = { apiVersion: 'meso/v1', kind: 'Cluster', name: 't', provider: 'static' } as Record<
      string,
      unknown
    >;
    raw['masters'] = { hosts: [{ name: 'm1', address: '10.0.0.1' }] };
    raw['agents'] = [{ group: 'g', hosts: [{ name: 'a1', address: '10.0.0.11' }] }];
    assert.deepEqual(runRules({ spec: normalize(raw), raw }), []);
    // The same document as YAML text: the base of the other tests.
    assert.deepEqual(validate(yaml(...BASE)).diagnostics, []);
  });

  void test('reports paths, not positions: positions are added by validateText', () => {
    const raw: Record<string, unknown> = {
      apiVersion: 'meso/v1',
      kind: 'Cluster',
      name: 't',
      provider: 'static',
      masters: { hosts: [{ name: 'm1', address: '10.0.0.1' }], quorum: 2 },
      agents: [{ group: 'g', hosts: [{ name: 'a1', address: '10.0.0.11' }] }],
    };
    const found = runRules({ spec: normalize(raw), raw });
    assert.deepEqual(
      found.map((d) => [d.severity, d.path, d.message]),
      [['error', ['masters', 'quorum'], 'quorum 2 is more than the 1 masters']],
    );
    assert.ok(!('line' in found[0]!));
  });
});
