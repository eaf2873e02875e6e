// npm run bench:mesos: the `meso` executable, timed as a user waits for it (wall clock, module loading
// included), on a real Apache Mesos (the build in ../shared/mesos/) on 3 masters and 2 agents on local
// hosts: cold apply, no-op apply, a rolling master change. Each figure is printed next to its
// physical floor, as a ratio:
// - no-op apply: one SSH login + one command on every host, in parallel (the system ssh client);
// - the longest time without an elected master during the rolling change: the ZooKeeper session
//   timeout (Mesos' --zk_session_timeout, 10 s), since a stopped master's session must expire.
// Needs root, Linux, the lab packages and the tarball. A benchmark, not a test.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TARBALL = join(ROOT, '..', 'shared', 'mesos', 'mesos-1.12.0-bookworm-amd64.tar.gz');
const dir = mkdtempSync(join(tmpdir(), 'meso-bench-mesos-'));
const file = join(dir, 'cluster.yaml');
const name = `bm${process.pid % 10000}`;
const env = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts') };
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const yaml = (masterFlags: string): string =>
  [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    'local: { subnet: "198.18.244.0/24" }',
    `install: { method: archive, archive: ${JSON.stringify(TARBALL)} }`,
    `masters: { count: 3, flags: { ${masterFlags} } }`,
    'agents: [{ group: w, count: 2, resources: "cpus:2;mem:1024" }]',
    '',
  ].join('\n');

/** The meso executable, wall clock from spawn to exit. */
function meso(...args: string[]): Promise<{ ms: number; code: number; stderr: string }> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'meso.js'), ...args], { env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.on('close', (code) => resolve({ ms: performance.now() - t, code: code ?? -1, stderr }));
  });
}

type Lab = { address: string; hostPublicKey: string; sshPrivateKey: string };
const hosts = (): Record<string, { provider: Lab }> =>
  (
    JSON.parse(readFileSync(join(dir, '.meso', `${name}.state.json`), 'utf8')) as {
      hosts: Record<string, { provider: Lab }>;
    }
  ).hosts;

/** The floor of a no-op apply: a new SSH login and one command on every host, in parallel. */
async function sshFloor(): Promise<number> {
  const all = Object.entries(hosts());
  const known = join(dir, 'known_hosts');
  writeFileSync(known, all.map(([, h]) => `${h.provider.address} ${h.provider.hostPublicKey}\n`).join(''));
  const t = performance.now();
  await Promise.all(
    all.map(
      ([, h]) =>
        new Promise<void>((resolve) => {
          const c = spawn('ssh', [
            '-F',
            '/dev/null',
            '-i',
            h.provider.sshPrivateKey,
            '-o',
            'IdentitiesOnly=yes',
            '-o',
            'BatchMode=yes',
            '-o',
            'StrictHostKeyChecking=yes',
            '-o',
            `UserKnownHostsFile=${known}`,
            '-o',
            'GlobalKnownHostsFile=/dev/null',
            `root@${h.provider.address}`,
            'true',
          ]);
          c.on('close', () => resolve());
        }),
    ),
  );
  return performance.now() - t;
}

/** Polls every master's /metrics/snapshot until `done`; the longest time none was elected. */
async function watchLeader(done: () => boolean): Promise<number> {
  const masters = Object.entries(hosts()).filter(([n]) => n.startsWith('master-'));
  let longest = 0;
  let since: number | undefined;
  while (!done()) {
    const t = performance.now();
    const elected = await Promise.all(
      masters.map(async ([, h]) => {
        try {
          const r = await fetch(`http://${h.provider.address}:5050/metrics/snapshot`, {
            signal: AbortSignal.timeout(1000),
          });
          return ((await r.json()) as Record<string, number>)['master/elected'] === 1;
        } catch {
          return false;
        }
      }),
    );
    if (!elected.includes(true)) since ??= t;
    else if (since !== undefined) {
      longest = Math.max(longest, t - since);
      since = undefined;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return since === undefined ? longest : Math.max(longest, performance.now() - since);
}

async function main(): Promise<void> {
  if (!existsSync(TARBALL)) {
    console.log(`bench:mesos: no Mesos build at ${TARBALL}; nothing measured`);
    return;
  }
  writeFileSync(file, yaml(''));
  try {
    const cold = await meso('apply', file, '--auto-approve');
    if (cold.code !== 0) throw new Error(`cold apply failed:\n${cold.stderr}`);
    const noops: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await meso('apply', file, '--auto-approve');
      if (r.code !== 0) throw new Error(`no-op apply failed:\n${r.stderr}`);
      noops.push(r.ms);
    }
    const floors: number[] = [];
    for (let i = 0; i < 5; i++) floors.push(await sshFloor());
    writeFileSync(file, yaml('max_completed_frameworks: 60'));
    let finished = false;
    const watcher = watchLeader(() => finished);
    const rolling = await meso('apply', file, '--auto-approve');
    finished = true;
    const gap = await watcher;
    if (rolling.code !== 0) throw new Error(`rolling change failed:\n${rolling.stderr}`);

    const noop = median(noops);
    const floor = median(floors);
    console.log(
      'Apache Mesos 1.12 (archive) on 3 masters + 2 agents, local hosts; the meso process, wall clock:',
    );
    console.log(`  cold apply (5 hosts created, tarball uploaded to each, all healthy): ${s(cold.ms)}`);
    console.log(
      `  no-op apply (median of 5): ${s(noop)}; floor, one SSH login + one command on every host in parallel: ${s(floor)}; ratio ${(noop / floor).toFixed(1)}x`,
    );
    console.log(
      `  rolling master change (3 masters, leader last): ${s(rolling.ms)}; longest without an elected master ${s(gap)}; floor, the ZooKeeper session timeout: 10.00 s; ratio ${(gap / 10_000).toFixed(2)}x`,
    );
  } finally {
    const d = await meso('destroy', file, '--auto-approve');
    if (d.code !== 0) console.log(`destroy failed:\n${d.stderr}`);
    spawnSync('rm', ['-rf', dir]);
  }
}

await main();
