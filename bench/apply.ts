// npm run bench:apply: what the user waits for, the `meso` process's wall clock, next to the
// physical floor for the same work. On real local hosts (systemd-nspawn, sshd, systemd, ZooKeeper
// on the masters) of 5 and 20 hosts: the no-op apply and plan against hosts that match, where
// their time goes (from MESO_TIMINGS), and one SSH login + one command to every host in parallel.
// Then validate, --version and offline plans of 3 masters + 1,000 / 5,000 / 10,000 agents (wall
// and peak RSS). Needs root, Linux and the lab packages (see README). A benchmark, not a test: it
// prints figures and exits 0.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClusterYaml } from './grid.js';
import { breakdown, median, meso, must, run, s, sshFloor } from './lab.js';

const RUNS = 5;
const SIZES = (process.env['BENCH_SIZES'] ?? '5,20').split(',').filter(Boolean).map(Number);
const AGENT_COUNTS = (process.env['BENCH_AGENTS'] ?? '1000,5000,10000')
  .split(',')
  .filter(Boolean)
  .map(Number);

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
    const floor = await sshFloor(dir, state, RUNS);
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
