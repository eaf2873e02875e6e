// What the lab benchmarks (bench:apply, bench:addons) share: the `meso` process timed as the user
// waits for it (wall clock, peak RSS, MESO_TIMINGS phases), medians, and OpenSSH to the lab hosts
// with their own keys pinned (the physical floor of the work meso does over SSH).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MESO = join(ROOT, 'bin', 'meso.js');

/** At exit, the child prints its peak RSS (so no /usr/bin/time is needed). */
const RSS_PRELOAD = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => process.stderr.write('\\nBENCH_MAX_RSS_KB ' + process.resourceUsage().maxRSS + '\\n'));",
)}`;

export interface Run {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  rssKb: number;
  phases: Record<string, number>;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
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

export const meso = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  run(process.execPath, ['--import', RSS_PRELOAD, MESO, ...args], { MESO_TIMINGS: '1', ...env });

/** The median run of `times` (by wall clock); `i` is the run's index, for work that alternates. */
export async function median(times: number, f: (i: number) => Promise<Run>): Promise<Run> {
  const runs: Run[] = [];
  for (let i = 0; i < times; i++) runs.push(await f(i));
  return runs.sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
}

/**
 * The median run of each of `fs`, run in turn `times` times (f0, f1, ..., f0, f1, ...): on a busy
 * machine each figure and its floor see the same load.
 */
export async function interleaved(times: number, fs: ((i: number) => Promise<Run>)[]): Promise<Run[]> {
  const runs: Run[][] = fs.map(() => []);
  for (let i = 0; i < times; i++) for (const [k, f] of fs.entries()) runs[k]!.push(await f(i));
  return runs.map((r) => r.sort((a, b) => a.ms - b.ms)[Math.floor(r.length / 2)]!);
}

export const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr.slice(-2000)}`);
  return r;
}

const PHASES: [string, string][] = [
  ['boot', 'node + CLI start'],
  ['modules', 'command modules'],
  ['spec', 'spec (YAML, schema, rules)'],
  ['lock', 'state lock'],
  ['state', 'state read + provider'],
  ['prepare', 'topology + render'],
  ['connect', 'SSH connect (last host)'],
  ['observe', 'observe (one command per host)'],
  ['plan', 'compare'],
  ['summary', 'apply steps + verify'],
  ['endpoints', 'endpoints'],
  ['exit', 'unlock, close, print'],
];

/** Phase ends (ms since the process started) as durations, in order. */
export function breakdown(phases: Record<string, number>, total: number): string {
  let prev = 0;
  const parts: string[] = [];
  for (const [k, name] of PHASES) {
    const t = phases[k];
    if (t === undefined) continue;
    parts.push(`${name} ${Math.max(0, t - prev)} ms`);
    prev = t;
  }
  parts.push(`process exit ${Math.max(0, Math.round(total - prev))} ms`);
  return parts.join(', ');
}

export interface LabHost {
  name: string;
  address: string;
  hostKey: string;
  provider: { sshPrivateKey: string };
}

/** The hosts of a local cluster's state file, and OpenSSH to them (their host keys pinned in `dir`). */
export function labSsh(
  dir: string,
  state: string,
): { hosts: LabHost[]; ssh: (h: LabHost, command: string) => Promise<Run> } {
  const st = JSON.parse(readFileSync(state, 'utf8')) as { hosts: Record<string, Omit<LabHost, 'name'>> };
  const hosts = Object.entries(st.hosts).map(([name, h]) => ({ ...h, name }));
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(''));
  const ssh = (h: LabHost, command: string): Promise<Run> =>
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
      command,
    ]);
  return { hosts, ssh };
}

/** One SSH login + `true` on every host at once, with OpenSSH. */
export function sshAll(dir: string, state: string): () => Promise<Run> {
  const { hosts, ssh } = labSsh(dir, state);
  return async () => {
    const t0 = performance.now();
    const all = await Promise.all(hosts.map((h) => ssh(h, 'true')));
    for (const r of all) must(r, 'ssh');
    return { ...all[0]!, ms: performance.now() - t0 };
  };
}

/** Median of `runs`: one SSH login + `true` on every host at once, with OpenSSH. */
export async function sshFloor(dir: string, state: string, runs: number): Promise<number> {
  return (await median(runs, sshAll(dir, state))).ms;
}
