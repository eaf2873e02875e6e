// Every example in clusters/ must validate without errors, so new examples are covered automatically.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from '../src/spec/diagnostics.js';
import { validateText } from '../src/spec/validate.js';
import { deriveTopology } from '../src/model/topology.js';

// Compiled to dist/test/, so the repository root is two levels up.
const CLUSTERS = new URL('../../clusters/', import.meta.url);
const examples = readdirSync(CLUSTERS)
  .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
  .sort();

void describe('examples in clusters/', () => {
  void test('there are examples to check (the directory was found)', () => {
    assert.ok(examples.length > 0, `no examples in ${fileURLToPath(CLUSTERS)}`);
    assert.ok(examples.includes('ha.yaml'));
  });

  for (const file of examples) {
    void test(`${file} validates with no errors`, () => {
      const text = readFileSync(new URL(file, CLUSTERS), 'utf8');
      const result = validateText(text, `clusters/${file}`);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      assert.deepEqual(errors.map(formatDiagnostic), []);
      assert.ok(result.spec !== undefined);
      for (const d of result.diagnostics) assert.equal(d.file, `clusters/${file}`);
    });
  }

  void test('ha.yaml: master-2 keeps its explicit myid 12, the others are numbered by position', () => {
    const result = validateText(readFileSync(new URL('ha.yaml', CLUSTERS), 'utf8'), 'ha.yaml');
    assert.ok(result.spec !== undefined);
    const topology = deriveTopology(result.spec);
    assert.deepEqual(
      topology.ensemble.map((h) => [h.name, h.zkId]),
      [
        ['master-1', 1],
        ['master-2', 12],
        ['master-3', 3],
      ],
    );
    assert.equal(topology.quorum, 2);
  });
});
