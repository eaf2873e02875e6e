import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDiagnostic } from '../src/spec/diagnostics.js';
import { parseYaml } from '../src/spec/document.js';
import { expandString } from '../src/spec/interpolate.js';
import type { Env } from '../src/spec/interpolate.js';
import { loadSpecFile } from '../src/spec/load.js';
import { validateText } from '../src/spec/validate.js';
import type { Validation } from '../src/spec/validate.js';
import { spawnMeso } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

// A local cluster whose agent group is line 7 on: tests append its fields.
const HEAD = [
  'apiVersion: meso/v1', // 1
  'kind: Cluster', // 2
  'name: t', // 3
  'provider: local', // 4
  'masters: { count: 1 }', // 5
  'agents:', // 6
  '  - group: g', // 7
];
const spec = (...lines: string[]): string => [...HEAD, ...lines].join('\n') + '\n';
const check = (text: string, env: Env = {}): Validation => validateText(text, 'c.yaml', env);
const errors = (v: Validation): string[] => v.diagnostics.map(formatDiagnostic);
const valid = (v: Validation): NonNullable<Validation['spec']> => {
  assert.equal(v.spec !== undefined, true, errors(v).join('\n'));
  return v.spec!;
};

void test('expandString: set, default, empty, escaped, plain dollars', () => {
  const env = { A: 'x', EMPTY: '' };
  assert.deepEqual(expandString('${A}', env), { value: 'x', whole: true, problems: [] });
  assert.equal(expandString('a-${A}-b', env).value, 'a-x-b');
  assert.equal(expandString('a-${A}-b', env).whole, false);
  assert.equal(expandString('${B:-dflt}', env).value, 'dflt');
  assert.equal(expandString('${A:-dflt}', env).value, 'x');
  // Shell semantics: `:-` applies to unset or empty; plain `${X}` of an empty variable is empty.
  assert.equal(expandString('${EMPTY:-dflt}', env).value, 'dflt');
  assert.deepEqual(expandString('${EMPTY}', env).problems, []);
  assert.equal(expandString('${EMPTY}', env).value, '');
  assert.equal(expandString('${B:-}', env).value, '');
  assert.equal(expandString('$${A}', env).value, '${A}');
  assert.equal(expandString('$${A}', env).whole, false);
  assert.equal(expandString('cost $5, $HOME, $$x, a$', env).value, 'cost $5, $HOME, $$x, a$');
  assert.equal(expandString('${B:-a b: c, d}', env).value, 'a b: c, d');
});

void test('expandString: each malformed reference is a problem at its own ${', () => {
  const p = expandString('${A} $${ ${1x} ${B:?no} ${} ${C:-${D}} ${E', {});
  assert.deepEqual(
    p.problems.map((x) => [x.ordinal, x.message]),
    [
      [0, 'environment variable A is not set'],
      [2, "'1x' is not a variable name"],
      [3, '${B:?...} is not supported'],
      [4, 'empty ${}'],
      [5, 'the default of ${C} holds another ${'],
      [7, 'unterminated ${ (no closing })'],
    ],
  );
});

void test('a default makes a file valid without the variable; the variable wins when set', () => {
  const text = spec('    count: ${AGENTS:-2}', '    resources: "cpus:${CPUS:-1};mem:512"');
  const dflt = valid(check(text));
  assert.equal(dflt.agents[0]!.hosts.length, 2);
  const set = valid(check(text, { AGENTS: '4', CPUS: '3' }));
  assert.equal(set.agents[0]!.hosts.length, 4);
  assert.deepEqual(set.agents[0]!.resources, [
    ['cpus', '3'],
    ['mem', '512'],
  ]);
});

void test('a whole plain ${N} is typed as YAML would type it; quoted or partial is a string', () => {
  const text = spec(
    '    count: ${N}', // 8
    '    attributes:',
    '      plain: ${N}',
    '      quoted: "${N}"',
    '      partial: ${N}0',
    '      flag: ${T}',
  );
  const env = { N: '3', T: 'true' };
  assert.equal(valid(check(text, env)).agents[0]!.hosts.length, 3);
  const data = parseYaml(text, 'c.yaml', env).source.data as { agents: { attributes: unknown }[] };
  assert.deepEqual(data.agents[0]!.attributes, { plain: 3, quoted: '3', partial: '30', flag: true });
  const nul = parseYaml('a: ${E}\nb: ${E:-~}\n', 'c.yaml', { E: '' }).source.data;
  assert.deepEqual(nul, { a: null, b: null });
  // The schema sees the retyped value: a number where a string is wanted is refused, and the reverse.
  const v = check(spec('    count: "${N}"'), { N: '3' });
  assert.deepEqual(errors(v), ["c.yaml:8:12: agents[0].count: expected integer, got '3'"]);
  const w = check(spec('    count: ${N}'), { N: 'three' });
  assert.deepEqual(errors(w), ["c.yaml:8:12: agents[0].count: expected integer, got 'three'"]);
  // A variable never adds structure: a value that looks like YAML stays one string.
  assert.deepEqual(parseYaml('r: ${R}\n', 'c.yaml', { R: '{ cpus: 4 }' }).source.data, { r: '{ cpus: 4 }' });
});

void test('inside flow mappings and sequences (quoted), and in block scalars', () => {
  const text = spec(
    '    count: 1',
    '    attributes: { rack: "${RACK}", zone: \'${ZONE:-z1}\' }',
    '    isolation: ["${ISO:-cgroups/cpu}", cgroups/mem]',
    '    resources: |-',
    '      cpus:${CPUS}',
    '      ;mem:512',
  );
  const s = valid(check(text, { RACK: 'r7', CPUS: '2' }));
  assert.deepEqual(s.agents[0]!.attributes, { rack: 'r7', zone: 'z1' });
  assert.deepEqual(s.agents[0]!.isolation, ['cgroups/cpu', 'cgroups/mem']);
  assert.deepEqual(s.agents[0]!.resources, [
    ['cpus', '2'],
    ['mem', '512'],
  ]);
  const folded = check(spec('    count: 1', '    resources: >-', '      cpus:${C};', '      mem:${M:-64}'), {
    C: '5',
  });
  assert.deepEqual(valid(folded).agents[0]!.resources, [
    ['cpus', '5'],
    ['mem', '64'],
  ]);
});

void test('unquoted inside { }, a ${ is a YAML error whose fix says to quote it', () => {
  const v = check(spec('    count: 1', '    attributes: { rack: ${RACK} }'), { RACK: 'r' });
  assert.match(
    errors(v)[0]!,
    /^c\.yaml:9:25: invalid YAML: .*; inside \{ \} or \[ \], quote a \$\{\.\.\.\} value/,
  );
});

void test('$${ is a literal ${ and is not typed again', () => {
  const s = valid(
    check(
      spec('    count: 1', '    attributes:', '      a: "$${X}"', '      b: $${Y}', "      c: 'p$${Z}q'"),
    ),
  );
  assert.deepEqual(s.agents[0]!.attributes, { a: '${X}', b: '${Y}', c: 'p${Z}q' });
});

void test('every unset variable is reported at once, at the line and column of its ${, naming it', () => {
  const text = spec(
    '    count: ${AGENTS}', // 8
    '    attributes:', // 9
    '      rack: "r-${RACK}-${ROW}"', // 10
    '      ok: ${OK:-fine}', // 11
    '    resources: |', // 12
    '      cpus:${CPUS}', // 13
    '    flags: { work_dir: "/w/${1BAD}", log_dir: "${LOG" }', // 14
  );
  const v = check(text);
  assert.equal(v.spec, undefined);
  assert.deepEqual(
    v.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`),
    [
      '8:12 environment variable AGENTS is not set',
      '10:16 environment variable RACK is not set',
      '10:24 environment variable ROW is not set',
      '13:12 environment variable CPUS is not set',
      "14:28 '1BAD' is not a variable name",
      '14:48 unterminated ${ (no closing })',
    ],
  );
  assert.equal(
    errors(v)[0],
    'c.yaml:8:12: agents[0].count: environment variable AGENTS is not set; set AGENTS in the environment, ' +
      'give a default with ${AGENTS:-value}, or write $${ for a literal ${',
  );
  assert.equal(
    formatDiagnostic(v.diagnostics[1]!).startsWith('c.yaml:10:16: agents[0].attributes.rack: '),
    true,
  );
});

void test('keys are not expanded: a ${ in a key is an error', () => {
  const v = check(spec('    count: 1', '    attributes: { "${K}": v }'), { K: 'k' });
  assert.deepEqual(errors(v), [
    'c.yaml:9:20: agents[0].attributes.${K}: variables are not expanded in keys; write the key itself',
  ]);
});

void test('an interpolated secret is still an inline secret: only env: and file: references are secrets', () => {
  const text = [
    ...HEAD,
    '    count: 1',
    'security:',
    '  authentication:',
    '    frameworks: true',
    '    credentials: [{ principal: fw, secret: "${PW}" }]',
    '',
  ].join('\n');
  const v = check(text, { PW: 'hunter2' });
  assert.match(errors(v).join('\n'), /secrets must be given by reference/);
  assert.doesNotMatch(errors(v).join('\n'), /hunter2/);
  // A variable may choose which reference: the result is checked like any reference.
  valid(check(text, { PW: 'env:MESO_FW_SECRET' }));
});

void test('an anchored value is expanded once and shared by its aliases', () => {
  const s = valid(check(spec('    count: &n ${N:-2}', '  - group: h', '    count: *n')));
  assert.deepEqual(
    s.agents.map((g) => g.hosts.length),
    [2, 2],
  );
});

void test('files without any $ are untouched; the size guard holds for expansion', async () => {
  const dir = tempDir('meso-interp-');
  const file = join(dir, 'c.yaml');
  writeFileSync(file, spec('    count: ${N:-1}', '    attributes: { a: "${BIG}", b: "${BIG}" }'));
  const big = 'x'.repeat(400 * 1024);
  const v = await loadSpecFile(file, { BIG: big });
  assert.deepEqual(
    v.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`),
    ['9:36 the values of the environment variables make the file larger than 640 KiB'],
  );
  assert.equal((await loadSpecFile(file, { BIG: 'small' })).spec?.agents[0]?.hosts.length, 1);
});

void test('meso validate reads the variables from its environment', () => {
  const dir = tempDir('meso-interp-cli-');
  const file = join(dir, 'c.yaml');
  writeFileSync(
    file,
    spec('    count: ${MESO_TEST_AGENTS}', '    attributes: { rack: "${MESO_TEST_RACK:-r1}" }'),
  );
  const env = { ...process.env };
  delete env['MESO_TEST_AGENTS'];
  const unset = spawnMeso(['validate', file], { env });
  assert.equal(unset.code, 1);
  assert.match(
    unset.stderr,
    /c\.yaml:8:12: agents\[0\]\.count: environment variable MESO_TEST_AGENTS is not set/,
  );
  assert.doesNotMatch(unset.stderr, /\n\s+at /);
  const set = spawnMeso(['validate', file], { env: { ...env, MESO_TEST_AGENTS: '5' } });
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /5 agents in 1 group/);
  const plan = spawnMeso(['plan', file, '--offline', '--json'], { env: { ...env, MESO_TEST_AGENTS: '2' } });
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /"host": "g-2"/);
  assert.doesNotMatch(plan.stdout, /"host": "g-3"/);
});

void test('a saved plan is stale when the values of its variables changed', () => {
  const dir = tempDir('meso-interp-plan-');
  const file = join(dir, 'c.yaml');
  // A local cluster whose hosts do not exist plans without SSH or root, and writes no state.
  const name = `interp-${process.pid}`;
  writeFileSync(
    file,
    [
      'apiVersion: meso/v1',
      'kind: Cluster',
      `name: ${name}`,
      'provider: local',
      'install: { method: none }',
      'masters: { count: 1 }',
      'agents:',
      '  - group: w',
      '    count: ${MESO_TEST_N}',
      '',
    ].join('\n'),
  );
  const plan = join(dir, 'plan.json');
  const made = spawnMeso(['plan', file, '--out', plan], { env: { ...process.env, MESO_TEST_N: '1' } });
  assert.equal(made.code, 0, made.stderr);
  const apply = spawnMeso(['apply', plan, '--auto-approve'], { env: { ...process.env, MESO_TEST_N: '2' } });
  assert.equal(apply.code, 1);
  assert.match(
    apply.stderr,
    /^error: Saved plan is stale: the environment variables .*c\.yaml uses have other values/,
  );
});
