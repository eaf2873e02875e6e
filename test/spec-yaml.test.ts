// The YAML layer of validateText: syntax errors, duplicate keys, empty files, non-mapping documents,
// and the FILE:LINE:COL form diagnostics are printed in.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../src/spec/diagnostics.js';
import type { LocatedDiagnostic } from '../src/spec/diagnostics.js';
import { BASE, FILE, base, expectClean, expectDiagnostics, validate, yaml } from './helpers/spec.js';

void describe('the base document of the spec tests', () => {
  void test('is a valid cluster with no diagnostics', () => {
    const spec = expectClean(validate(base()));
    assert.equal(spec.provider, 'static');
    assert.deepEqual(
      spec.masters.hosts.map((h) => h.name),
      ['m1'],
    );
    assert.deepEqual(
      spec.agents.map((g) => g.hosts.map((h) => h.name)),
      [['a1']],
    );
    assert.equal(BASE.length, 11);
  });
});

void describe('YAML syntax errors', () => {
  void test('an unclosed flow mapping is reported where the parser notices it, with no spec', () => {
    const result = validate(base({ 7: '    - { name: m1, address: 10.0.0.1' }));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 8,
        col: 1,
        message: /^invalid YAML: .*end with a \}/,
        fix: 'fix the YAML syntax',
        path: '(document)',
      },
    ]);
  });

  void test('a tab used for indentation points at the tab', () => {
    const result = validate(base({ 6: '\thosts:' }));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 6,
        col: 1,
        message: 'invalid YAML: Tabs are not allowed',
        fix: 'YAML syntax',
      },
    ]);
  });

  void test('a badly indented key inside a list item points at that item', () => {
    const result = validate(
      yaml(
        'apiVersion: meso/v1',
        'kind: Cluster',
        'name: t',
        'provider: static',
        'masters:',
        '  hosts:',
        '    - name: m1',
        '       address: 10.0.0.1',
      ),
    );
    assert.ok(result.diagnostics.length >= 1);
    for (const d of result.diagnostics) {
      assert.equal(d.severity, 'error');
      assert.match(d.message, /^invalid YAML: /);
      assert.equal(d.line, 7);
    }
    assert.equal(result.spec, undefined);
  });

  void test('the message keeps only the first sentence of the parser message (no code excerpt)', () => {
    const [d] = validate(base({ 6: '\thosts:' })).diagnostics;
    assert.ok(d !== undefined);
    assert.ok(!d.message.includes('\n'), d.message);
    assert.doesNotMatch(d.message, / at line \d+, column \d+/);
  });

  void test('a duplicate key is a YAML error at the second occurrence', () => {
    const result = validate(base({}, 'name: again'));
    expectDiagnostics(result, [
      { severity: 'error', line: 12, col: 1, message: /^invalid YAML: Map keys must be unique/ },
    ]);
  });

  void test('a duplicate key inside a nested mapping is reported at its line and column', () => {
    const result = validate(base({ 7: '    - { name: m1, address: 10.0.0.1, name: m2 }' }));
    expectDiagnostics(result, [
      { severity: 'error', line: 7, col: 38, message: 'Map keys must be unique', fix: 'YAML syntax' },
    ]);
  });

  void test('an alias to an anchor that does not exist is an error, not a crash', () => {
    const result = validate(base({ 3: 'name: *nope' }));
    assert.equal(result.spec, undefined);
    assert.equal(result.diagnostics.length, 1);
    assert.equal(result.diagnostics[0]!.severity, 'error');
    assert.match(result.diagnostics[0]!.message, /^invalid YAML: .*alias.*nope/i);
  });

  void test('an alias to an anchor that does not exist points at the alias', () => {
    const [d] = validate(base({ 3: 'name: *nope' })).diagnostics;
    assert.equal(`${d?.line}:${d?.col}`, '3:7');
  });

  void test('an alias bomb is refused instead of being expanded', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) {
      lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    }
    const result = validate(yaml(...lines));
    assert.equal(result.spec, undefined);
    assert.equal(result.diagnostics.length, 1);
    assert.match(result.diagnostics[0]!.message, /^invalid YAML: .*alias/i);
  });

  void test('deep nesting is refused at the same place every time, not by a stack overflow', () => {
    for (const deep of [
      '['.repeat(500_000),
      `${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}`,
      '- '.repeat(50_000),
    ]) {
      const result = validate(base({ 7: `    - ${deep}` }));
      assert.equal(result.spec, undefined);
      assert.equal(result.diagnostics.length, 1);
      const [d] = result.diagnostics;
      assert.match(d!.message, /^invalid YAML: nested more than 64 levels deep$/);
      assert.equal(d!.line, 7);
      assert.ok(d!.col > 60 && d!.col < 300, String(d!.col));
    }
  });

  void test('a valid anchor and alias are resolved before validation', () => {
    const spec = expectClean(
      validate(
        base({
          7: '    - { name: m1, address: &addr 10.0.0.1 }',
          11: '      - { name: m1, address: *addr }',
        }),
      ),
    );
    assert.equal(spec.agents[0]!.hosts[0]!.address, '10.0.0.1');
  });
});

void describe('documents that are not a cluster mapping', () => {
  const empty = {
    severity: 'error',
    line: 1,
    col: 1,
    message: 'the file is empty',
    fix: 'apiVersion: meso/v1',
    path: '(document)',
  } as const;

  void test('an empty file is one error at 1:1 with a fix that says how to start', () => {
    expectDiagnostics(validate(''), [empty]);
  });

  void test('a file with only comments and blank lines is empty', () => {
    expectDiagnostics(validate(yaml('# nothing here yet', '', '   ')), [empty]);
  });

  void test('a document that is only null (~) is empty', () => {
    expectDiagnostics(validate(yaml('~')), [empty]);
  });

  void test('a list instead of a mapping is a type error at the start of the list', () => {
    expectDiagnostics(validate(yaml('# a list', '- name: m1', '- name: m2')), [
      { severity: 'error', line: 2, col: 1, message: /^expected a mapping, got a list$/, path: '(document)' },
    ]);
  });

  void test('a plain scalar document is a type error that quotes the scalar', () => {
    expectDiagnostics(validate(yaml('hello')), [
      { severity: 'error', line: 1, col: 1, message: "expected a mapping, got 'hello'" },
    ]);
  });

  void test('a number document names its type and value', () => {
    expectDiagnostics(validate(yaml('', '42')), [
      { severity: 'error', line: 2, col: 1, message: 'expected a mapping, got number 42' },
    ]);
  });
});

void describe('formatDiagnostic', () => {
  const at = (over: Partial<LocatedDiagnostic>): LocatedDiagnostic => ({
    file: 'c.yaml',
    line: 14,
    col: 11,
    severity: 'error',
    path: ['masters', 'hosts', 1, 'address'],
    message: 'bad address',
    ...over,
  });

  void test('prints FILE:LINE:COL: path: message; fix for an error', () => {
    assert.equal(
      formatDiagnostic(at({ fix: 'use an IP' })),
      'c.yaml:14:11: masters.hosts[1].address: bad address; use an IP',
    );
  });

  void test('marks warnings and leaves out a missing fix', () => {
    assert.equal(
      formatDiagnostic(at({ severity: 'warning' })),
      'c.yaml:14:11: warning: masters.hosts[1].address: bad address',
    );
  });

  void test('leaves out the path for a whole-document diagnostic', () => {
    assert.equal(
      formatDiagnostic(at({ path: [], message: 'the file is empty' })),
      'c.yaml:14:11: the file is empty',
    );
  });

  void test('formats a real diagnostic from validateText with the file name given', () => {
    const [d] = validate(base({ 4: 'provider: statik' })).diagnostics;
    assert.ok(d !== undefined);
    assert.equal(
      formatDiagnostic(d),
      `${FILE}:4:11: provider: 'statik' is not allowed; did you mean 'static'?`,
    );
  });
});
