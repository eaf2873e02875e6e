// npm run bench:apply: what the user waits for, the `meso` process's wall clock, next to the
// physical floor for the same work. On real local hosts (systemd-nspawn, sshd, systemd, ZooKeeper
// on the masters) of 5 and 20 hosts: the no-op apply and plan against hosts that match, where
// their time goes (from MESO_TIMINGS), and one SSH login + one command to every host in parallel.
// Then validate, --version and offline plans of 3 masters + 1,000 / 5,000 / 10,000 agents (wall
// and peak RSS). Needs root, Linux and the lab packages (see README). A benchmark, not a test: it
// prints figures and exits 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateClusterYaml } from './grid.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MESO = join(ROOT, 'bin', 'meso.js');
const RUNS = 5;
const SIZES = (process.env['BENCH_SIZES'] ?? '5,20').split(',').filter(Boolean).map(Number);
const AGENT_COUNTS = (process.env['BENCH_AGENTS'] ?? '1000,5000,10000')
  .split(',')
  .filter(Boolean)
  .map(Number);

/** At exit, the child prints its peak RSS (so no /usr/bin/time is needed). */
const RSS_PRELOAD = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => process.stderr.write('\\nBENCH_MAX_RSS_KB ' + process.resourceUsage().maxRSS + '\\n'));",
)}`;

interface Run {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  rssKb: number;
  phases: Record<string, number>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      const rss = /BENCH_MAX_RSS_KB (\d+)/.exec(stderr);
      const t = /MESO_TIMINGS (\{.*\})/.exec(stderr);
      resolve({
        ms,
        code: code ?? -1,
        stdout,
        stderr,
        rssKb: rss === null ? 0 : Number(rss[1]),
        phases: t === null ? {} : (JSON.parse(t[1]!) as Record<string, number>),
      });
    });
  });
}

const meso = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  run(process.execPath, ['--import', RSS_PRELOAD, MESO, ...args], { MESO_TIMINGS: '1', ...env });

async function median(times: number, f: () => Promise<Run>): Promise<Run> {
  const runs: Run[] = [];
  for (let i = 0; i < times; i++) runs.push(await f());
  return runs.sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr.slice(-2000)}`);
  return r;
}

/** Phase ends (ms since the process started) as durations, in order. */
function breakdown(phases: Record<string, number>, total: number): string {
  const order = ['boot', 'modules', 'spec', 'lock', 'state', 'prepare', 'connect', 'observe', 'plan', 'exit'];
  const names: Record<string, string> = {
    boot: 'node + CLI start',
    modules: 'command modules',
    spec: 'spec (YAML, schema, rules)',
    lock: 'state lock',
    state: 'state read + provider',
    prepare: 'topology + render',
    connect: 'SSH connect (last host)',
    observe: 'observe (one command per host)',
    plan: 'compare',
    exit: 'unlock, close, print',
  };
  let prev = 0;
  const parts: string[] = [];
  for (const k of order) {
    const t = phases[k];
    if (t === undefined) continue;
    parts.push(`${names[k]} ${Math.max(0, t - prev)} ms`);
    prev = t;
  }
  parts.push(`process exit ${Math.max(0, Math.round(total - prev))} ms`);
  return parts.join(', ');
}

/** One SSH login + `true` on every host at once, with OpenSSH, the hosts' own keys pinned. */
async function sshFloor(dir: string, state: string): Promise<number> {
  const st = JSON.parse(readFileSync(state, 'utf8')) as {
    hosts: Record<string, { address: string; hostKey: string; provider: { sshPrivateKey: string } }>;
  };
  const hosts = Object.values(st.hosts);
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(''));
  const once = async (): Promise<Run> => {
    const t0 = performance.now();
    const all = await Promise.all(
      hosts.map((h) =>
        run('ssh', [
          '-o',
          'BatchMode=yes',
          '-o',
          `UserKnownHostsFile=${knownHosts}`,
          '-o',
          'StrictHostKeyChecking=yes',
          '-i',
          h.provider.sshPrivateKey,
          `root@${h.address}`,
          'true',
        ]),
      ),
    );
    for (const r of all) must(r, 'ssh');
    return { ...all[0]!, ms: performance.now() - t0 };
  };
  return (await median(RUNS, once)).ms;
}

async function benchHosts(total: number, subnetIndex: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meso-bench-apply-'));
  const file = join(dir, 'cluster.yaml');
  const state = join(dir, 'state.json');
  const name = `bapply${total}`;
  writeFileSync(
    file,
    [
      'apiVersion: meso/v1',
      'kind: Cluster',
      `name: ${name}`,
      'provider: local',
      `local: { subnet: "198.18.${subnetIndex}.0/24" }`,
      'install: { method: none }',
      'masters: { count: 3 }',
      `agents: [{ group: w, count: ${total - 3} }]`,
      `state: { backend: local, path: ${state} }`,
      '',
    ].join('\n'),
  );
  try {
    const cold = must(await meso(['apply', file, '--auto-approve']), 'cold apply');
    const noop = await median(RUNS, async () => must(await meso(['apply', file, '--auto-approve']), 'apply'));
    if (!/no changes/.test(noop.stderr)) throw new Error(`the second apply was not a no-op:\n${noop.stderr}`);
    const plan = await median(RUNS, async () => must(await meso(['plan', file]), 'plan'));
    const floor = await sshFloor(dir, state);
    console.log(`${total} local hosts (3 masters with ZooKeeper, ${total - 3} agents):`);
    console.log(`  cold apply (creates the hosts): ${s(cold.ms)}`);
    console.log(
      `  no-op meso apply: ${s(noop.ms)} (median of ${RUNS}), peak RSS ${Math.round(noop.rssKb / 1024)} MB`,
    );
    console.log(`    where the time goes: ${breakdown(noop.phases, noop.ms)}`);
    console.log(`  meso plan: ${s(plan.ms)} (median of ${RUNS})`);
    console.log(`  floor, one OpenSSH login + \`true\` on all ${total} hosts in parallel: ${s(floor)}`);
    console.log(
      `  ratio no-op apply / floor: ${(noop.ms / floor).toFixed(2)}x; plan / floor: ${(plan.ms / floor).toFixed(2)}x`,
    );
  } finally {
    await meso(['destroy', file, '--auto-approve']);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchOffline(): Promise<void> {
  const v = await median(RUNS, async () => must(await meso(['validate', 'clusters/ha.yaml']), 'validate'));
  const ver = await median(RUNS, async () => must(await meso(['--version']), '--version'));
  const bare = await median(RUNS, () => run(process.execPath, ['-e', '0']));
  console.log(
    `meso validate clusters/ha.yaml: ${s(v.ms)}; meso --version: ${s(ver.ms)}; floor, node -e 0: ${s(bare.ms)}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'meso-bench-offline-'));
  try {
    for (const agents of AGENT_COUNTS) {
      const file = join(dir, `grid-${agents}.yaml`);
      writeFileSync(file, generateClusterYaml(agents));
      const r = must(await meso(['plan', file, '--offline', '--json']), 'plan --offline');
      console.log(
        `meso plan --offline, 3 masters + ${agents} agents: ${s(r.ms)}, peak RSS ${Math.round(r.rssKb / 1024)} MB, ${(r.stdout.length / 1e6).toFixed(0)} MB of JSON`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await benchOffline();
for (const [i, n] of SIZES.entries()) await benchHosts(n, 232 + i);
