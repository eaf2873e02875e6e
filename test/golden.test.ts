import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT, runMeso } from './helpers/cli.js';

/**
 * Golden files pin every byte meso renders and plans for the examples in clusters/. After an
 * intended change, regenerate them with `UPDATE_GOLDEN=1 npm test` and review the diff.
 */
const GOLDEN = join(ROOT, 'test', 'golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
const CASES = readdirSync(join(ROOT, 'clusters'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  try {
    walk(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return out;
}

async function produce(name: string): Promise<Map<string, string>> {
  const tmp = mkdtempSync(join(tmpdir(), `meso-golden-${name}-`));
  try {
    const file = `clusters/${name}.yaml`;
    const prev = process.cwd();
    process.chdir(ROOT);
    try {
      const render = await runMeso('render', file, '--out', join(tmp, 'render'));
      assert.equal(render.code, 0, render.stderr);
      const text = await runMeso('plan', file, '--offline');
      assert.equal(text.code, 0, text.stderr);
      const json = await runMeso('plan', file, '--offline', '--json');
      assert.equal(json.code, 0, json.stderr);
      const out = new Map([...tree(join(tmp, 'render'))].map(([k, v]) => [join('render', k), v]));
      out.set('plan.txt', text.stdout);
      out.set('plan.json', json.stdout);
      return out;
    } finally {
      process.chdir(prev);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

for (const name of CASES) {
  void test(`golden: clusters/${name}.yaml renders and plans exactly as recorded`, async () => {
    const actual = await produce(name);
    const dir = join(GOLDEN, name);
    if (UPDATE) {
      rmSync(dir, { recursive: true, force: true });
      for (const [path, content] of actual) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
    }
    const expected = tree(dir);
    assert.ok(expected.size > 0, `no golden files for ${name}: run UPDATE_GOLDEN=1 npm test`);
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), 'the set of files differs');
    for (const [path, content] of expected)
      assert.equal(actual.get(path), content, `${name}/${path} differs`);
  });
}
