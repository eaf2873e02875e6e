import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { initCommand } from '../src/cli/init-cmd.js';
import type { Io } from '../src/cli/io.js';
import { formatDiagnostic } from '../src/spec/diagnostics.js';
import { INIT_DEFAULTS, initSpec, renderInit } from '../src/spec/init.js';
import type { InitOptions } from '../src/spec/init.js';
import { validateText } from '../src/spec/validate.js';
import { isMesoError } from '../src/util/errors.js';
import { ROOT, runMeso, spawnMeso } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const PROVIDERS = ['static', 'local', 'aws'] as const;
const SIZES: readonly (readonly [number, number])[] = [
  [1, 0],
  [1, 1],
  [3, 2],
  [5, 4],
  [7, 12],
];
const options = (provider: string, masters: number, agents: number): InitOptions => ({
  provider,
  masters,
  agents,
  schemaRef: '../schema/cluster.schema.json',
  file: 'cluster.yaml',
});
const noStack = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at |bug in meso/, stderr);
const sink = (): Io & { text: () => string } => {
  let all = '';
  return { out: (t) => void (all += t), err: (t) => void (all += t), isTTY: false, text: () => all };
};

void test('every provider and size: the file passes the validation `meso validate` runs', () => {
  for (const p of PROVIDERS) {
    for (const [m, a] of SIZES) {
      const r = initSpec(options(p, m, a));
      const v = validateText(r.text, 'cluster.yaml', {});
      assert.ok(v.spec !== undefined, `${p} ${m}/${a}:\n${v.diagnostics.map(formatDiagnostic).join('\n')}`);
      assert.equal(v.spec.provider, p);
      assert.equal(v.spec.masters.hosts.length, m, `${p} ${m}/${a}`);
      assert.equal(
        v.spec.agents.reduce((n, g) => n + g.hosts.length, 0),
        a,
        `${p} ${m}/${a}`,
      );
      assert.ok(r.text.startsWith('# yaml-language-server: $schema=../schema/cluster.schema.json\n'));
      assert.deepEqual(r.next, [
        'meso validate cluster.yaml',
        'meso plan cluster.yaml --offline',
        'meso apply cluster.yaml',
      ]);
    }
  }
});

void test('the output is deterministic, and does not depend on the file name', () => {
  for (const p of PROVIDERS) {
    assert.equal(renderInit(options(p, 3, 2)), renderInit(options(p, 3, 2)));
    assert.equal(
      renderInit(options(p, 3, 2)),
      renderInit({ ...options(p, 3, 2), file: '/elsewhere/c.yaml' }),
    );
  }
  // Through the CLI, two directories at the same depth get the same bytes.
  const [a, b] = [tempDir('meso-init-det-'), tempDir('meso-init-det-')];
  for (const d of [a, b])
    assert.equal(spawnMeso(['init', '--provider', 'aws', '--out', join(d, 'c.yaml')]).code, 0);
  assert.deepEqual(readFileSync(join(a, 'c.yaml')), readFileSync(join(b, 'c.yaml')));
});

void test('every section is explained in a comment, and the commented examples are there', () => {
  for (const p of PROVIDERS) {
    const text = renderInit(options(p, 3, 2));
    for (const section of ['ssh', 'install', 'zookeeper', 'masters', 'agents', 'marathon', 'security']) {
      const at = text.search(new RegExp(`^(# )?${section}:`, 'm'));
      assert.ok(at > 0, `${p}: no ${section}:`);
      assert.match(text.slice(0, at), /#[^\n]*\n$/, `${p}: ${section}: has no comment above it`);
    }
    assert.match(text, /secret: env:/);
  }
});

void test('aws: the values of the account come from the environment, with defaults that validate', () => {
  const { text } = initSpec(options('aws', 3, 2));
  assert.match(text, /ami: "\$\{MESO_AMI:-ami-[0-9a-f]+\}"/);
  const dflt = validateText(text, 'cluster.yaml', {}).spec!;
  assert.equal(dflt.aws['ami'], 'ami-0123456789abcdef0');
  const env = { MESO_AMI: 'ami-0fedcba9876543210', AWS_REGION: 'eu-west-1', MESO_SUBNET: 'subnet-1' };
  const set = validateText(text, 'cluster.yaml', env).spec!;
  assert.equal(set.aws['ami'], 'ami-0fedcba9876543210');
  assert.equal(set.aws['region'], 'eu-west-1');
  assert.deepEqual((set.aws['subnets'] as Record<string, unknown>)['masters'], ['subnet-1']);
});

void test('options the rules refuse are usage errors in the rules own words', () => {
  const refused = (o: Partial<InitOptions>, message: RegExp): void => {
    assert.throws(
      () => initSpec({ ...options('local', 3, 2), ...o }),
      (e: unknown) => isMesoError(e, 'UsageError') && message.test(e.message) && e.hint !== undefined,
    );
  };
  refused({ masters: 2 }, /^--masters 2: 2 masters cannot keep a quorum/);
  refused({ masters: 4 }, /^--masters 4: 4 masters tolerate 1 failure/);
  refused({ masters: 0 }, /^--masters 0: a cluster needs at least one master/);
  refused({ provider: 'foo' }, /^unknown provider 'foo'$/);
  refused({ name: 'Not_A_Name' }, /^--name Not_A_Name: invalid value/);
  refused({ agents: 300 }, /^--agents 300: more than \d+ local hosts/);
  refused({ agents: -1 }, /^--agents -1 is not a number of hosts/);
});

void test('meso init through the real CLI: each provider validates; local plans offline', () => {
  for (const p of PROVIDERS) {
    const dir = tempDir('meso-init-');
    const out = join(dir, 'cluster.yaml');
    const r = spawnMeso(['init', '--provider', p, '--masters', '5', '--agents', '3', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(
      r.stdout,
      new RegExp(`^wrote ${out} \\(provider ${p}\\)\\. Next steps:\\n  meso validate ${out}\\n`),
    );
    // The schema line points at this package's schema, relative to the file.
    const ref = /^# yaml-language-server: \$schema=(\S+)\n/.exec(readFileSync(out, 'utf8'))?.[1];
    assert.ok(ref !== undefined);
    assert.equal(resolve(dirname(out), ref), join(ROOT, 'schema', 'cluster.schema.json'));
    const v = spawnMeso(['validate', out], { env: { PATH: process.env['PATH'] } });
    assert.equal(v.code, 0, v.stderr);
    assert.match(
      v.stdout,
      new RegExp(`valid\\. Cluster \\S+ \\(${p}\\): 5 masters \\(quorum 3\\).* 3 agents in 1 group`),
    );
    if (p === 'local') {
      const plan = spawnMeso(['plan', out, '--offline']);
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(plan.stdout, /Plan: \d+ to create/);
    }
    assert.deepEqual(readdirSync(dir), ['cluster.yaml'], 'no temporary file is left');
  }
});

void test('meso init with no options: cluster.yaml in the current directory, local, 3 masters, 2 agents', () => {
  const dir = tempDir('meso-init-dflt-');
  const r = spawnMeso(['init'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const v = validateText(readFileSync(join(dir, INIT_DEFAULTS.out), 'utf8'), 'cluster.yaml').spec!;
  assert.equal(v.provider, 'local');
  assert.equal(v.masters.hosts.length, 3);
  assert.equal(v.agents[0]!.hosts.length, 2);
  const help = spawnMeso(['init', '--help']);
  assert.match(help.stdout, /--provider <name>[^\n]*\n?[^\n]*\(default: "local"\)/);
  assert.match(help.stdout, /\(default: "cluster\.yaml"\)/);
});

void test('an existing file is never overwritten: a clear error, exit 1, the file byte for byte', async () => {
  const dir = tempDir('meso-init-exists-');
  const out = join(dir, 'cluster.yaml');
  const before = Buffer.from('# mine\nname: keep\n\u0000\xff');
  writeFileSync(out, before);
  const r = spawnMeso(['init', '--out', out]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: .*cluster\.yaml already exists; meso init never overwrites a file\nhint: /);
  noStack(r.stderr);
  assert.deepEqual(readFileSync(out), before);
  assert.deepEqual(readdirSync(dir), ['cluster.yaml'], 'no temporary file is left');
  await assert.rejects(
    initCommand({ out }, sink()),
    (e: unknown) => isMesoError(e, 'OutputExists') && e.hint !== undefined,
  );
  assert.deepEqual(readFileSync(out), before);
});

void test('bad options are one error line and a hint, no stack trace, no file', async () => {
  const dir = tempDir('meso-init-bad-');
  const out = join(dir, 'cluster.yaml');
  for (const [args, message] of [
    [
      ['--masters', '2'],
      /^error: --masters 2: 2 masters cannot keep a quorum through one failure\nhint: use 3 or 5/,
    ],
    [['--provider', 'foo'], /^error: unknown provider 'foo'\nhint: use one of: static, local, aws\n$/],
    [['--provider', 'lcoal'], /^error: unknown provider 'lcoal'\nhint: did you mean local\?/],
    [['--agents', 'two'], /^error: --agents 'two' is not a number of hosts\nhint: /],
  ] as const) {
    const r = spawnMeso(['init', ...args, '--out', out]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, message);
    noStack(r.stderr);
    assert.equal(existsSync(out), false);
    const inProcess = await runMeso('init', ...args, '--out', out);
    assert.equal(inProcess.code, 1);
    assert.match(inProcess.stderr, message);
  }
  const missingDir = await runMeso('init', '--out', join(dir, 'no', 'such', 'dir.yaml'));
  assert.equal(missingDir.code, 1);
  assert.match(missingDir.stderr, /^error: cannot write .*dir\.yaml: no such directory\n/);
});

void test('a warning of the rules is shown, and the file is still written', async () => {
  const dir = tempDir('meso-init-warn-');
  const out = join(dir, 'nine.yaml');
  const r = await runMeso('init', '--masters', '9', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nine\.yaml:\d+:\d+: warning: masters\.count: 9 masters slow every write/);
  assert.ok(existsSync(out));
});
