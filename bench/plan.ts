/**
 * `npm run bench:plan`: how long validate + topology + render + offline plan + text and JSON take for
 * 3 masters and 1,000 agents, in-process (per stage) and through the real CLI (wall time, peak RSS).
 * Goal (from the issue): under 1.5 s and 300 MB. A benchmark, not a test: it exits 0 either way.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { deriveTopology } from '../src/model/topology.js';
import { planToJson } from '../src/plan/json.js';
import { buildPlan } from '../src/plan/plan.js';
import { renderDesiredState } from '../src/render/render.js';
import { planToText } from '../src/report/plan-text.js';
import { formatDiagnostic } from '../src/spec/diagnostics.js';
import { hasErrors, validateText } from '../src/spec/validate.js';
import { loadTemplates } from '../src/templates.js';
import { AGENTS, generateClusterYaml, GROUPS, MASTERS } from './grid.js';

const GOAL_SECONDS = 1.5;
const GOAL_MB = 300;
const WARM_RUNS = 5;
const CLI_RUNS = 3;

const STAGES = ['validate', 'topology', 'render', 'plan', 'text', 'json'] as const;
type Stage = (typeof STAGES)[number];

interface RunResult {
  total: number;
  stages: Record<Stage, number>;
  changes: number;
  textBytes: number;
  jsonBytes: number;
}

/** One end-to-end run, as `meso plan FILE --offline` chains it (templates read once, up front). */
function runOnce(text: string, file: string, templates: ReturnType<typeof loadTemplates>): RunResult {
  const stages = {} as Record<Stage, number>;
  const t0 = performance.now();
  let t = t0;
  const lap = (stage: Stage): void => {
    const now = performance.now();
    stages[stage] = now - t;
    t = now;
  };
  const v = validateText(text, file);
  lap('validate');
  if (v.spec === undefined || hasErrors(v.diagnostics)) {
    for (const d of v.diagnostics) console.error(formatDiagnostic(d));
    throw new Error('the generated cluster file is invalid: this is a bug in bench/plan.ts');
  }
  const spec = v.spec;
  const topology = deriveTopology(spec);
  lap('topology');
  const desired = renderDesiredState(spec, topology, templates);
  lap('render');
  const plan = buildPlan(desired, new Map(), true);
  lap('plan');
  const planText = planToText(plan);
  lap('text');
  const json = `${JSON.stringify(planToJson(plan), null, 2)}\n`;
  lap('json');
  return {
    total: t - t0,
    stages,
    changes: plan.changes.length,
    textBytes: Buffer.byteLength(planText),
    jsonBytes: Buffer.byteLength(json),
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const sec = (x: number): string => `${(x / 1000).toFixed(2)} s`;
const mb = (kb: number): string => `${Math.round(kb / 1024)} MB`;

function stageLine(label: string, r: Pick<RunResult, 'stages' | 'total'>): string {
  const parts = STAGES.map((s) => `${s} ${ms(r.stages[s])}`);
  return `${label}: total ${ms(r.total)} = ${parts.join(', ')}`;
}

interface CliResult {
  wallMs: number;
  /** Peak resident set size of the CLI process, in kilobytes. */
  maxRssKb: number;
  code: number | null;
  stdoutBytes: number;
}

const TIME = '/usr/bin/time';

/**
 * Without GNU time, a wrapper runs the CLI in its own process and reports that process's peak RSS
 * (`process.resourceUsage().maxRSS`, in kilobytes) on stderr when it exits.
 */
const WRAPPER = `
import { writeSync } from 'node:fs';
const [bin, ...args] = process.argv.slice(1);
process.on('exit', () => writeSync(2, '\\nBENCH_MAXRSS_KB ' + process.resourceUsage().maxRSS + '\\n'));
process.argv = [process.argv[0], bin, ...args];
await import(bin);
`;

function runCli(root: string, file: string, useTime: boolean): Promise<CliResult> {
  const bin = join(root, 'bin', 'meso.js');
  const args = ['plan', file, '--offline', '--json'];
  const [cmd, argv] = useTime
    ? [TIME, ['-v', process.execPath, bin, ...args]]
    : [process.execPath, ['--input-type=module', '-e', WRAPPER, bin, ...args]];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdoutBytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      const m = useTime
        ? /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)
        : /BENCH_MAXRSS_KB (\d+)/.exec(stderr);
      if (m === null) {
        reject(new Error(`could not read the peak RSS of the CLI; its stderr was:\n${stderr}`));
        return;
      }
      if (code !== 0) process.stderr.write(stderr);
      resolve({ wallMs, maxRssKb: Number(m[1]), code, stdoutBytes });
    });
  });
}

async function main(): Promise<void> {
  // Compiled to dist/bench/plan.js; the package root (bin/, templates/) is two levels up.
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const text = generateClusterYaml();
  const file = 'bench-cluster.yaml';
  console.log(
    `machine: ${availableParallelism()} CPUs, node ${process.version}, ${process.platform}/${process.arch}`,
  );
  console.log(
    `spec: ${MASTERS} masters, ${AGENTS} agents in ${GROUPS.length} groups, marathon on; ${text.split('\n').length} lines, ${Math.round(Buffer.byteLength(text) / 1024)} KB of YAML`,
  );

  // In-process. Templates are read once, as the CLI does, outside the timed pipeline.
  const templates = loadTemplates();
  const cold = runOnce(text, file, templates);
  const warm: RunResult[] = [];
  for (let i = 0; i < WARM_RUNS; i++) warm.push(runOnce(text, file, templates));
  const warmMedian: Pick<RunResult, 'stages' | 'total'> = {
    total: median(warm.map((r) => r.total)),
    stages: Object.fromEntries(STAGES.map((s) => [s, median(warm.map((r) => r.stages[s]))])) as Record<
      Stage,
      number
    >,
  };
  console.log(
    `plan: ${cold.changes} changes, text ${Math.round(cold.textBytes / 1024)} KB, json ${Math.round(cold.jsonBytes / 1024)} KB`,
  );
  console.log(`in-process cold ${sec(cold.total)} (first run, no warm-up)`);
  console.log(`in-process warm ${sec(warmMedian.total)} (median of ${WARM_RUNS})`);
  console.log(stageLine('cold stages', cold));
  console.log(stageLine(`warm stages (median of ${WARM_RUNS} each)`, warmMedian));
  console.log(`in-process peak RSS ${mb(process.resourceUsage().maxRSS)} (this benchmark process)`);

  // The real CLI, as a user runs it.
  const dir = mkdtempSync(join(tmpdir(), 'meso-bench-'));
  try {
    const yamlFile = join(dir, 'cluster.yaml');
    writeFileSync(yamlFile, text);
    const useTime = existsSync(TIME);
    const how = useTime ? `${TIME} -v` : 'a node wrapper (process.resourceUsage().maxRSS)';
    console.log(
      `cli: node bin/meso.js plan <${AGENTS + MASTERS}-host file> --offline --json, measured by ${how}`,
    );
    const runs: CliResult[] = [];
    for (let i = 0; i < CLI_RUNS; i++) {
      const r = await runCli(root, yamlFile, useTime);
      runs.push(r);
      console.log(
        `cli run ${i + 1}: wall ${sec(r.wallMs)}, peak RSS ${mb(r.maxRssKb)}, exit ${String(r.code)}, stdout ${Math.round(r.stdoutBytes / 1024)} KB`,
      );
    }
    const wall = median(runs.map((r) => r.wallMs));
    const rss = median(runs.map((r) => r.maxRssKb));
    console.log(`cli wall ${sec(wall)} (median of ${CLI_RUNS}), peak RSS ${mb(rss)}`);
    const ok = runs.every((r) => r.code === 0) && wall < GOAL_SECONDS * 1000 && rss < GOAL_MB * 1024;
    console.log(`goal: < ${GOAL_SECONDS} s and < ${GOAL_MB} MB: ${ok ? 'met' : 'NOT met'}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
