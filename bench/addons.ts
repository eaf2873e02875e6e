// npm run bench:addons: the add-ons (etcd, HAProxy, dnsmasq on Debian packages) timed as the user
// waits for them, the `meso` process's wall clock, next to the physical floor for the same work, on
// real local hosts (systemd-nspawn; 3 masters, a public agent pub-1 and an agent w-1, as
// test/addons-lab.test.ts): the no-op plan and apply (and plan of the same spec without add-ons),
// a HAProxy reload, and an etcd rolling restart. Needs root, Linux and the lab packages (see README).
// A benchmark, not a test: it prints figures and exits 0.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { breakdown, interleaved, labSsh, meso, must, s, sshAll } from './lab.js';
import type { LabHost, Run } from './lab.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const SUBNET = '198.18.252.0/24';
const NAME = 'baddons';
const MASTERS = ['master-1', 'master-2', 'master-3'];

interface Knobs {
  addons: boolean;
  heartbeat: 100 | 150;
  balance?: 'roundrobin' | 'leastconn';
}

function spec(state: string, k: Knobs): string {
  const balance = k.balance === undefined ? '' : `, balance: ${k.balance}`;
  return [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${NAME}`,
    'provider: local',
    `local: { subnet: "${SUBNET}" }`,
    'install: { method: none }',
    'masters: { count: 3 }',
    'agents: [{ group: pub, public: true, count: 1 }, { group: w, count: 1 }]',
    `state: { backend: local, path: ${state} }`,
    ...(k.addons
      ? [
          'addons:',
          `  - { preset: etcd, env: { ETCD_HEARTBEAT_INTERVAL: ${k.heartbeat} } }`,
          '  - preset: haproxy',
          '    backends:',
          `      - { name: web, port: 8000, servers: ["w-1:8001"]${balance} }`,
          '      - { name: raw, port: 9001, mode: tcp, servers: ["w-1:9002"], check: false }',
          '  - preset: dnsmasq',
        ]
      : []),
    '',
  ].join('\n');
}

/** One TCP connection to host:port that opens (retried until it does, as a health check waits). */
async function tcpOpen(host: string, port: number, timeoutMs = 30_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, host);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > until) throw new Error(`${host}:${port} never opened`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Restart etcd on one member and wait (polling every 50 ms) until its /health says true. */
const etcdRestart = (address: string): string =>
  `systemctl restart etcd && for i in $(seq 600); do curl -fsS http://${address}:2379/health 2>/dev/null | grep -q '"health":"true"' && exit 0; sleep 0.05; done; exit 1`;

interface Row {
  work: string;
  meso: number;
  floor: number;
}

function table(rows: Row[]): string {
  const head = ['work', 'meso (median)', 'floor (median)', 'ratio', 'runs'];
  const cells = rows.map((r) => [
    r.work,
    s(r.meso),
    s(r.floor),
    `${(r.meso / r.floor).toFixed(2)}x`,
    `${RUNS} + ${RUNS} interleaved`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

/** From an `apply --json` run: seconds between its progress events (where the apply time goes). */
function steps(r: Run): string {
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { time: string; message?: string });
  if (events.length === 0) return '(no events)';
  const t0 = Date.parse(events[0]!.time);
  return events
    .map((e) => `      +${((Date.parse(e.time) - t0) / 1000).toFixed(2)} s  ${e.message ?? ''}`)
    .join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meso-bench-addons-'));
  const file = join(dir, 'cluster.yaml');
  const bare = join(dir, 'cluster-no-addons.yaml');
  const state = join(dir, 'state.json');
  const env = { MESO_LOCAL_DIR: join(dir, 'hosts') };
  const rows: Row[] = [];
  let knobs: Knobs = { addons: true, heartbeat: 100 };
  const write = (k: Knobs): void => {
    knobs = k;
    writeFileSync(file, spec(state, k));
  };
  write(knobs);
  try {
    const cold = must(await meso(['apply', file, '--auto-approve'], env), 'cold apply');
    console.log(`cold apply (creates the 5 hosts, starts etcd, HAProxy, dnsmasq): ${s(cold.ms)}`);
    const { hosts, ssh } = labSsh(dir, state);
    const host = (n: string): LabHost => hosts.find((h) => h.name === n)!;

    // Each meso figure and its floor are run in turn (interleaved), so they see the same load.
    // 1. No-op plan and apply against hosts that match; plan of the same spec without add-ons.
    writeFileSync(bare, spec(state, { addons: false, heartbeat: 100 }));
    const [noop, plan, planBare, floor] = await interleaved(RUNS, [
      async () => {
        const r = must(await meso(['apply', file, '--auto-approve'], env), 'apply');
        if (!/no changes/.test(r.stderr)) throw new Error(`the no-op apply changed something:\n${r.stderr}`);
        return r;
      },
      async () => must(await meso(['plan', file, '--detailed-exitcode'], env), 'plan'),
      async () => must(await meso(['plan', bare], env), 'plan without add-ons'),
      sshAll(dir, state),
    ]);
    must(await meso(['plan', file, '--detailed-exitcode'], env), 'plan after the plan without add-ons');
    rows.push(
      { work: 'no-op apply, with add-ons', meso: noop!.ms, floor: floor!.ms },
      { work: 'no-op plan, with add-ons', meso: plan!.ms, floor: floor!.ms },
      { work: 'plan, same hosts, spec without add-ons', meso: planBare!.ms, floor: floor!.ms },
    );
    console.log(
      `no-op apply: ${breakdown(noop!.phases, noop!.ms)}; peak RSS ${Math.round(noop!.rssKb / 1024)} MB`,
    );
    console.log(`no-op plan: ${breakdown(plan!.phases, plan!.ms)}`);
    console.log(`plan without add-ons: ${breakdown(planBare!.phases, planBare!.ms)}`);

    // 2. A HAProxy reload: the web backend's balance alternates, one config change per apply.
    const balances = ['leastconn', 'roundrobin'] as const;
    const pub = host('pub-1');
    const [reload, reloadFloor] = await interleaved(RUNS, [
      async (i) => {
        write({ ...knobs, balance: balances[i % 2]! });
        const r = must(await meso(['apply', file, '--auto-approve'], env), 'apply (HAProxy reload)');
        const out = r.stdout + r.stderr;
        if (!/reload haproxy on pub-1/.test(out) || /restart (etcd|haproxy)/.test(out))
          throw new Error(`not one HAProxy reload:\n${out}`);
        return r;
      },
      async () => {
        const t0 = performance.now();
        const r = must(await ssh(pub, 'systemctl reload haproxy'), 'ssh systemctl reload haproxy');
        await tcpOpen(pub.address, 8000);
        return { ...r, ms: performance.now() - t0 };
      },
    ]);
    rows.push({ work: 'HAProxy reload (pub-1)', meso: reload!.ms, floor: reloadFloor!.ms });
    console.log(`HAProxy reload apply: ${breakdown(reload!.phases, reload!.ms)}`);

    // 3. An etcd rolling restart: ETCD_HEARTBEAT_INTERVAL alternates 150 / 100.
    const beats = [150, 100] as const;
    // The floor in meso's order: followers first, the leader last (asked before, not timed).
    const leaderOf = async (): Promise<string> => {
      for (const m of MASTERS) {
        const a = host(m).address;
        const r = await ssh(host(m), `curl -fsS http://${a}:2379/metrics`);
        if (/^etcd_server_is_leader 1$/m.test(r.stdout)) return m;
      }
      throw new Error('no etcd leader');
    };
    const [restart, restartFloor] = await interleaved(RUNS, [
      async (i) => {
        write({ ...knobs, heartbeat: beats[i % 2]! });
        const r = must(await meso(['apply', file, '--auto-approve'], env), 'apply (etcd rolling restart)');
        const n = [...(r.stdout + r.stderr).matchAll(/restart etcd on master-\d \(/g)].length;
        if (n !== 3) throw new Error(`not a rolling restart of 3 members:\n${r.stdout + r.stderr}`);
        return r;
      },
      async () => {
        const leader = await leaderOf();
        const order = [...MASTERS.filter((m) => m !== leader), leader];
        const t0 = performance.now();
        let last: Run | undefined;
        for (const m of order)
          last = must(await ssh(host(m), etcdRestart(host(m).address)), `etcd restart on ${m}`);
        return { ...last!, ms: performance.now() - t0 };
      },
    ]);
    rows.push({ work: 'etcd rolling restart (3 members)', meso: restart!.ms, floor: restartFloor!.ms });
    console.log(`etcd rolling restart apply: ${breakdown(restart!.phases, restart!.ms)}`);

    // Where an apply's time goes, step by step: one more run of each, with --json (not in the medians).
    write({ ...knobs, balance: knobs.balance === 'leastconn' ? 'roundrobin' : 'leastconn' });
    const reloadJson = must(await meso(['apply', file, '--auto-approve', '--json'], env), 'apply --json');
    console.log(
      `  one more HAProxy reload apply, --json (${s(reloadJson.ms)}), its events:\n${steps(reloadJson)}`,
    );
    write({ ...knobs, heartbeat: knobs.heartbeat === 100 ? 150 : 100 });
    const restartJson = must(await meso(['apply', file, '--auto-approve', '--json'], env), 'apply --json');
    console.log(
      `  one more etcd rolling restart apply, --json (${s(restartJson.ms)}), its events:\n${steps(restartJson)}`,
    );

    console.log('');
    console.log(table(rows));
    console.log('');
    console.log(`runs: ${RUNS} of meso and ${RUNS} of its floor, in turn; the median of each`);
    console.log("floors (OpenSSH, the hosts' keys pinned; medians):");
    console.log('  no-op rows: one SSH login + `true` on all 5 hosts in parallel');
    console.log(
      '  HAProxy reload: one SSH login to pub-1 running `systemctl reload haproxy`, then one TCP connect to pub-1:8000',
    );
    console.log(
      '  etcd rolling restart: per member in turn (followers first, the leader last), one SSH login running `systemctl restart etcd` then polling `curl -fsS http://<addr>:2379/health` every 50 ms until "health":"true"',
    );
  } finally {
    const down = await meso(['destroy', file, '--auto-approve'], env);
    if (down.code === 0) rmSync(dir, { recursive: true, force: true });
    else console.log(`destroy exited ${down.code}, ${dir} kept:\n${down.stderr.slice(-2000)}`);
  }
}

await main().catch((e: unknown) => {
  console.log(`bench:addons stopped: ${e instanceof Error ? e.message : String(e)}`);
});
