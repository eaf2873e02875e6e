// Issue 13, chaos specs: 1,000 generated malformed specs through `validate`, `plan --offline` and
// `render`. Every run exits 0 or 1, prints no stack trace, writes nothing outside --out (no .meso/
// state either) and ends within 5 s. Most runs are in this process (main() with a recording Io);
// a sample, with every alias-bomb and deep-nesting case, runs as the real `node bin/meso.js`.
// Reproduce a failure with MESO_CHAOS_SEED=<seed> (and MESO_CHAOS_ONLY=<case id,...>).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/io.js';
import { CANARY, DANGEROUS, chaosCases, prng } from './helpers/chaos.js';
import type { ChaosCase, ChaosClass } from './helpers/chaos.js';
import { ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const SEED = Number(process.env['MESO_CHAOS_SEED'] ?? 13_2026);
const ONLY = process.env['MESO_CHAOS_ONLY']?.split(',').map(Number);
const LIMIT_MS = 5_000;
const SPAWNED_OTHERS = 20;

type Command = 'validate' | 'plan' | 'render';
const COMMANDS: readonly Command[] = ['validate', 'plan', 'render'];
const args = (c: Command): string[] =>
  c === 'validate'
    ? ['validate', 'cluster.yaml']
    : c === 'plan'
      ? ['plan', 'cluster.yaml', '--offline']
      : ['render', 'cluster.yaml', '--out', 'out'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

const STACK = [
  /^\s+at .+/m,
  /TypeError|RangeError|ReferenceError|SyntaxError|Maximum call stack/,
  /bug in meso/i,
];

const root = tempDir('meso-chaos-');
const home = join(root, 'home');
const cache = join(root, 'cache');
const cases = join(root, 'cases');
const saved = { HOME: process.env['HOME'], MESO_CACHE_DIR: process.env['MESO_CACHE_DIR'] };
const env = { ...process.env, HOME: home, MESO_CACHE_DIR: cache, MESO_DEBUG: '' };

before(() => {
  for (const d of [home, cache, cases]) mkdirSync(d);
  process.env['HOME'] = home;
  process.env['MESO_CACHE_DIR'] = cache;
});
after(() => {
  for (const [k, v] of Object.entries(saved))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

function setUp(c: ChaosCase, cmd: Command, how: string): string {
  const dir = join(cases, `${c.id}-${cmd}-${how}`);
  mkdirSync(dir);
  const file = join(dir, 'cluster.yaml');
  if (Buffer.isBuffer(c.content)) writeFileSync(file, c.content);
  else {
    mkdirSync(file);
    for (const [n, t] of Object.entries(c.content.directory)) writeFileSync(join(file, n), t);
  }
  return dir;
}

/** Every path under `dir`, relative, without following links. */
function tree(dir: string, at = ''): string[] {
  return readdirSync(join(dir, at)).flatMap((n) => {
    const rel = at === '' ? n : `${at}/${n}`;
    return lstatSync(join(dir, rel)).isDirectory() ? [rel, ...tree(dir, rel)] : [rel];
  });
}

async function inProcess(dir: string, argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), isTTY: false };
  const cwd = process.cwd();
  process.chdir(dir);
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main(['node', 'meso', ...argv], io),
      new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-2), LIMIT_MS * 2))),
    ]);
    return { code, stdout, stderr, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
    process.chdir(cwd);
  }
}

function spawned(dir: string, argv: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin/meso.js'), ...argv], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: LIMIT_MS * 2,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }));
  });
}

/** What is wrong with one run, or nothing. Removes the case's directory when all is well. */
function check(c: ChaosCase, cmd: Command, dir: string, r: Run): string[] {
  const bad: string[] = [];
  if (r.code !== 0 && r.code !== 1) bad.push(`exit code ${r.code}`);
  const text = `${r.stdout}\n${r.stderr}`;
  for (const re of STACK) if (re.test(text)) bad.push(`output matches ${String(re)}`);
  if (r.ms > LIMIT_MS) bad.push(`took ${r.ms.toFixed(0)} ms`);
  const spec = Buffer.isBuffer(c.content)
    ? ['cluster.yaml']
    : ['cluster.yaml', ...Object.keys(c.content.directory).map((n) => `cluster.yaml/${n}`)];
  const stray = tree(dir).filter(
    (p) => !spec.includes(p) && !(cmd === 'render' && (p === 'out' || p.startsWith('out/'))),
  );
  if (stray.length > 0) bad.push(`wrote outside --out: ${stray.slice(0, 5).join(', ')}`);
  if (tree(dir).some((p) => p.split('/').includes('.meso'))) bad.push('made a .meso/ state directory');
  if (({} as Record<string, unknown>)['polluted'] !== undefined) bad.push('Object.prototype was polluted');
  if (bad.length > 0)
    return [
      `seed ${SEED} case ${c.id} (${c.cls}, ${c.base}: ${c.what}) \`meso ${args(cmd).join(' ')}\` in ${dir}: ${bad.join('; ')}\n` +
        `  stderr: ${r.stderr.slice(0, 600)}`,
    ];
  rmSync(dir, { recursive: true, force: true });
  return [];
}

interface Tally {
  runs: number;
  codes: Record<string, number>;
  maxMs: number;
  totalMs: number;
}
const tally = (): Tally => ({ runs: 0, codes: {}, maxMs: 0, totalMs: 0 });
function count(t: Tally, r: Run): void {
  t.runs++;
  t.codes[r.code] = (t.codes[r.code] ?? 0) + 1;
  t.maxMs = Math.max(t.maxMs, r.ms);
  t.totalMs += r.ms;
}
const show = (t: Tally): string =>
  `${t.runs} runs, exit ${JSON.stringify(t.codes)}, max ${t.maxMs.toFixed(0)} ms, avg ${(t.totalMs / Math.max(1, t.runs)).toFixed(1)} ms`;

const all = chaosCases(SEED).filter((c) => ONLY === undefined || ONLY.includes(c.id));
const inProcessCodes = new Map<string, number>();

void test(`chaos specs (seed ${SEED}): ${all.length} malformed specs x validate, plan --offline, render in process`, async (t) => {
  const failures: string[] = [];
  const perCommand = Object.fromEntries(COMMANDS.map((c) => [c, tally()])) as Record<Command, Tally>;
  const perClass: Partial<Record<ChaosClass, number>> = {};
  const t0 = performance.now();
  for (const c of all) {
    perClass[c.cls] = (perClass[c.cls] ?? 0) + 1;
    for (const cmd of COMMANDS) {
      const dir = setUp(c, cmd, 'in');
      const r = await inProcess(dir, args(cmd));
      count(perCommand[cmd], r);
      inProcessCodes.set(`${c.id}/${cmd}`, r.code);
      failures.push(...check(c, cmd, dir, r));
    }
  }
  t.diagnostic(`chaos specs, seed ${SEED}, in process: ${JSON.stringify(perClass)}`);
  for (const cmd of COMMANDS) t.diagnostic(`  ${cmd}: ${show(perCommand[cmd])}`);
  t.diagnostic(`  total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failing runs (seed ${SEED})`);
});

void test(`chaos specs (seed ${SEED}): every alias bomb and deep nesting and ${SPAWNED_OTHERS} others as real processes`, async (t) => {
  const r = prng(SEED);
  const others = all.filter((c) => !DANGEROUS.includes(c.cls));
  const sample = [
    ...all.filter((c) => DANGEROUS.includes(c.cls)),
    ...others.filter(() => r() < SPAWNED_OTHERS / Math.max(1, others.length)),
  ];
  // The dangerous ones through every command, the others through one each.
  const jobs = sample.flatMap((c, i) =>
    DANGEROUS.includes(c.cls) ? COMMANDS.map((cmd) => ({ c, cmd })) : [{ c, cmd: COMMANDS[i % 3]! }],
  );
  const failures: string[] = [];
  const runs = tally();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      const dir = setUp(job.c, job.cmd, 'spawned');
      const run = await spawned(dir, args(job.cmd));
      count(runs, run);
      const same = inProcessCodes.get(`${job.c.id}/${job.cmd}`);
      if (same !== undefined && same !== run.code)
        failures.push(
          `seed ${SEED} case ${job.c.id} ${job.cmd}: exit ${run.code} as a process, ${same} in process`,
        );
      failures.push(...check(job.c, job.cmd, dir, run));
    }
  };
  // At most two at once: more only measures the contention of a busy machine.
  await Promise.all(Array.from({ length: Math.min(2, availableParallelism()) }, worker));
  t.diagnostic(
    `chaos specs, seed ${SEED}, as processes: ${sample.length} cases, ${show(runs)}, total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failing runs (seed ${SEED})`);
});

void test('chaos specs: nothing appeared outside the cases, the home and cache hold no stray file', () => {
  assert.deepEqual(readdirSync(root).sort(), ['cache', 'cases', 'home']);
  assert.deepEqual(tree(home), []);
  for (const f of tree(cache)) assert.match(f, /^(schema-[0-9a-f]{16}\.cjs|sha256\.json)$/);
  for (const p of [join('/tmp', CANARY), join(root, CANARY), join(cases, CANARY)])
    assert.ok(!existsSync(p), `${p} exists`);
});
