// Shared builder and assertions for the cluster.yaml validation tests (test/spec-*.test.ts).
import assert from 'node:assert/strict';
import { formatDiagnostic, formatPath } from '../../src/spec/diagnostics.js';
import type { LocatedDiagnostic, Severity } from '../../src/spec/diagnostics.js';
import { validateText } from '../../src/spec/validate.js';
import type { Validation } from '../../src/spec/validate.js';
import type { Spec } from '../../src/spec/types.js';

export const FILE = 'cluster.yaml';

/**
 * The smallest valid static cluster: one master, one agent group with one host. Line numbers are
 * part of the contract of `base()`: tests patch lines by these numbers.
 */
export const BASE: readonly string[] = [
  'apiVersion: meso/v1', // 1
  'kind: Cluster', // 2
  'name: t', // 3
  'provider: static', // 4
  'masters:', // 5
  '  hosts:', // 6
  '    - { name: m1, address: 10.0.0.1 }', // 7
  'agents:', // 8
  '  - group: g', // 9
  '    hosts:', // 10
  '      - { name: a1, address: 10.0.0.11 }', // 11
];

/** Lines joined into a document with a final newline. */
export function yaml(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

/**
 * BASE with some lines replaced (by 1-based number) and more lines appended from line 12 on.
 * A replacement must be a single line, so every other line keeps its number.
 */
export function base(patch: Readonly<Record<number, string>> = {}, ...append: string[]): string {
  for (const n of Object.keys(patch).map(Number)) {
    assert.ok(n >= 1 && n <= BASE.length, `base(): no line ${n} to patch`);
    assert.ok(!patch[n]!.includes('\n'), 'base(): a patch replaces exactly one line');
  }
  return yaml(...BASE.map((line, i) => patch[i + 1] ?? line), ...append);
}

export function validate(text: string): Validation {
  return validateText(text, FILE);
}

export interface Expected {
  severity: Severity;
  line: number;
  col: number;
  /** A phrase the message must contain, or a pattern it must match. */
  message: string | RegExp;
  /** A phrase the fix must contain; `null` when the diagnostic must have no fix. */
  fix?: string | RegExp | null;
  /** The YAML path as printed (`masters.hosts[0].address`). */
  path?: string;
}

function matches(actual: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? actual.includes(expected) : expected.test(actual);
}

function show(diagnostics: readonly LocatedDiagnostic[]): string {
  return diagnostics.length === 0 ? '(none)' : diagnostics.map((d) => '  ' + formatDiagnostic(d)).join('\n');
}

function check(d: LocatedDiagnostic, e: Expected, all: readonly LocatedDiagnostic[]): void {
  const context = `\nfor expected ${JSON.stringify({ ...e, message: String(e.message) })}\ngot:\n${show(all)}`;
  assert.equal(d.file, FILE, context);
  assert.equal(d.severity, e.severity, `severity${context}`);
  assert.ok(matches(d.message, e.message), `message${context}`);
  assert.equal(`${d.line}:${d.col}`, `${e.line}:${e.col}`, `line:col${context}`);
  if (e.fix === null) assert.equal(d.fix, undefined, `fix must be absent${context}`);
  else if (e.fix !== undefined) {
    assert.ok(d.fix !== undefined && matches(d.fix, e.fix), `fix${context}`);
  }
  if (e.path !== undefined) assert.equal(formatPath(d.path), e.path, `path${context}`);
}

/** The one diagnostic whose message matches `e.message`, checked against every field of `e`. */
export function expectDiagnostic(result: Validation, e: Expected): LocatedDiagnostic {
  const found = result.diagnostics.filter((d) => matches(d.message, e.message));
  assert.equal(
    found.length,
    1,
    `expected exactly one diagnostic matching ${String(e.message)}, got:\n${show(result.diagnostics)}`,
  );
  check(found[0]!, e, result.diagnostics);
  return found[0]!;
}

/** Exactly these diagnostics, in this order (the order validateText sorts them in). */
export function expectDiagnostics(result: Validation, expected: readonly Expected[]): void {
  assert.equal(
    result.diagnostics.length,
    expected.length,
    `expected ${expected.length} diagnostic(s), got:\n${show(result.diagnostics)}`,
  );
  expected.forEach((e, i) => check(result.diagnostics[i]!, e, result.diagnostics));
  const errors = expected.some((e) => e.severity === 'error');
  assert.equal(result.spec === undefined, errors, 'the spec is returned exactly when there are no errors');
}

/** No errors and no warnings; returns the normalized spec. */
export function expectClean(result: Validation): Spec {
  assert.equal(result.diagnostics.length, 0, `expected no diagnostics, got:\n${show(result.diagnostics)}`);
  assert.ok(result.spec !== undefined, 'a clean document returns its spec');
  return result.spec;
}

export function errorsOf(result: Validation): LocatedDiagnostic[] {
  return result.diagnostics.filter((d) => d.severity === 'error');
}

export function warningsOf(result: Validation): LocatedDiagnostic[] {
  return result.diagnostics.filter((d) => d.severity === 'warning');
}
