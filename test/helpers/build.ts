import assert from 'node:assert/strict';
import { formatDiagnostic } from '../../src/spec/diagnostics.js';
import type { Spec } from '../../src/spec/types.js';
import { validateText } from '../../src/spec/validate.js';

/** A valid spec from YAML text; fails the test with the diagnostics when it is not valid. */
export function specOf(yaml: string): Spec {
  const v = validateText(yaml, 'test.yaml');
  assert.ok(v.spec !== undefined, v.diagnostics.map(formatDiagnostic).join('\n'));
  return v.spec;
}

/** A small static cluster; `extra` is appended as more top-level YAML. */
export function clusterYaml(
  opts: { masters?: number; agents?: number; extra?: string; provider?: string } = {},
): string {
  const masters = opts.masters ?? 3;
  const agents = opts.agents ?? 2;
  const lines = [
    'apiVersion: meso/v1',
    'kind: Cluster',
    'name: t',
    `provider: ${opts.provider ?? 'static'}`,
    'masters:',
    '  hosts:',
    ...Array.from({ length: masters }, (_, i) => `    - { name: m${i + 1}, address: 10.0.0.${i + 1} }`),
  ];
  if (agents > 0) {
    lines.push('agents:', '  - group: g', '    hosts:');
    lines.push(
      ...Array.from({ length: agents }, (_, i) => `      - { name: a${i + 1}, address: 10.0.1.${i + 1} }`),
    );
  }
  if (opts.extra !== undefined) lines.push(opts.extra);
  return `${lines.join('\n')}\n`;
}
