// npm run bench:apply: meso's observe → plan → apply on real local hosts (systemd-nspawn, sshd,
// systemd, ZooKeeper), 3 and 10 hosts. Prints cold and no-op apply wall time, SSH connections and
// round trips per host, and the baseline the no-op goal is measured against (one SSH login plus
// one command). Needs root, Linux and the lab packages (see README). A benchmark, not a test.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyPlan } from '../src/apply/apply.js';
import { secretReader } from '../src/apply/secrets.js';
import { deriveTopology } from '../src/model/topology.js';
import { observeCluster } from '../src/observe/cluster.js';
import { buildPlan } from '../src/plan/plan.js';
import type { Plan } from '../src/plan/types.js';
import { ensureImage } from '../src/providers/local/image.js';
import { createHosts, destroyHosts, labSshTarget } from '../src/providers/local/lab.js';
import type { LabHost } from '../src/providers/local/lab.js';
import { renderDesiredState } from '../src/render/render.js';
import { validateText } from '../src/spec/validate.js';
import { loadTemplates } from '../src/templates.js';
import { connectSsh } from '../src/transport/ssh.js';
import type { SshConnection } from '../src/transport/ssh.js';
import { TransportStats } from '../src/transport/stats.js';
import { makeGate } from '../src/verify/gates.js';

const templates = loadTemplates();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function benchOne(total: number, subnetIndex: number): Promise<void> {
  const cluster = `bench${total}x${process.pid % 1000}`;
  const subnet = `198.18.${subnetIndex}.0/24`;
  const agents = total - 3;
  const yaml = [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${cluster}`,
    'provider: local',
    `local: { subnet: "${subnet}" }`,
    'install: { method: none }',
    'masters: { count: 3 }',
    ...(agents > 0 ? [`agents: [{ group: w, count: ${agents} }]`] : []),
    '',
  ].join('\n');
  const spec = validateText(yaml, 'bench.yaml').spec!;
  const names = deriveTopology(spec).hosts.map((h) => h.name);
  const stateDir = mkdtempSync(join(tmpdir(), 'meso-bench-'));
  const image = await ensureImage();
  let lab: LabHost[] = [];
  try {
    const t0 = performance.now();
    lab = await createHosts({
      cluster,
      subnet,
      hosts: names.map((name, i) => ({ name, address: `198.18.${subnetIndex}.${11 + i}` })),
      image: image.rootfs,
      stateDir,
    });
    const bootMs = performance.now() - t0;
    const known = new Map(lab.map((h) => [h.name, { address: h.address }]));
    const topology = deriveTopology(spec, known);
    const desired = renderDesiredState(spec, topology, templates);

    /** One meso run: its own connections (one per host), observe, plan, apply. */
    const oneRun = async (filesOnly: boolean): Promise<{ ms: number; stats: TransportStats; plan: Plan }> => {
      const stats = new TransportStats();
      const conns = new Map<string, Promise<SshConnection>>();
      const connection = (name: string): Promise<SshConnection> => {
        let c = conns.get(name);
        if (c === undefined) {
          const h = lab.find((x) => x.name === name)!;
          c = connectSsh(labSshTarget(h), { stats });
          conns.set(name, c);
        }
        return c;
      };
      const start = performance.now();
      const seen = await observeCluster({
        desired,
        state: undefined,
        connection,
        templates,
        zkPort: 2181,
        masterQuorum: 2,
        parallelism: 16,
      });
      let plan = buildPlan(desired, seen.observed, false);
      // Mesos is not on the lab image, so its units cannot stay up; the no-op run applies files only.
      if (filesOnly) plan = { ...plan, changes: plan.changes.filter((c) => c.kind === 'file') };
      const zkGate = makeGate({
        topology,
        connection,
        templates,
        zkPort: 2181,
        masterPort: 5050,
        marathonPort: 8080,
        timeoutMs: 60_000,
        intervalMs: 250,
      });
      await applyPlan(plan, desired, seen.live, {
        connection,
        templates,
        secrets: secretReader({}),
        gate: (w) => (w.gate === 'zk-leader' ? zkGate(w) : Promise.resolve()),
        onHostApplied: () => Promise.resolve(),
        onEvent: () => undefined,
        signal: new AbortController().signal,
        parallelism: 16,
      });
      const ms = performance.now() - start;
      for (const c of conns.values()) await (await c).close();
      return { ms, stats, plan };
    };

    const cold = await oneRun(false);
    const noops = [];
    for (let i = 0; i < 3; i++) noops.push(await oneRun(true));
    const noop = noops.sort((a, b) => a.ms - b.ms)[1]!;

    // Baseline: a new SSH login plus one command, to one host.
    const base: number[] = [];
    for (let i = 0; i < 5; i++) {
      const h = lab[0]!;
      const t = performance.now();
      const c = await connectSsh(labSshTarget(h));
      await c.exec('true');
      base.push(performance.now() - t);
      await c.close();
    }
    const per = (st: TransportStats, k: 'connections' | 'execs'): string => {
      const v = Object.values(st.snapshot()).map((x) => x[k]);
      return `${Math.min(...v)}-${Math.max(...v)}`;
    };
    const baseline = median(base);
    console.log(`${total} hosts (3 masters with ZooKeeper, ${agents} agents): boot ${s(bootMs)}`);
    console.log(
      `  cold apply: ${s(cold.ms)}, ${cold.plan.summary.create} creates; per host: ${per(cold.stats, 'connections')} connection(s), ${per(cold.stats, 'execs')} round trips`,
    );
    console.log(
      `  no-op apply (median of 3): ${s(noop.ms)}, ${noop.plan.changes.length} changes; per host: ${per(noop.stats, 'connections')} connection(s), ${per(noop.stats, 'execs')} round trip(s)`,
    );
    console.log(`  baseline, one SSH login + one command: ${s(baseline)} (median of 5)`);
    console.log(
      `  goal: no-op within 2x baseline (${s(2 * baseline)}): ${noop.ms <= 2 * baseline ? 'met' : 'NOT met'}`,
    );
  } finally {
    await destroyHosts({ cluster, stateDir });
  }
}

await benchOne(3, 252);
await benchOne(10, 253);
