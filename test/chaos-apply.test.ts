import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, spawnMesoAsync } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import {
  freeSubnet,
  labRecordIn,
  mesosSkip,
  MESOS_TARBALL as TARBALL,
  leftovers,
  onLabHost,
} from './helpers/lab.js';
import type { LabHost } from '../src/providers/local/lab.js';
import { tempDir } from './helpers/tmp.js';

/**
 * Chaos on local hosts with a real Apache Mesos (../shared/mesos/, install.method archive): 3 masters
 * with the ZooKeeper ensemble and 1 agent. `meso apply` killed with SIGKILL at 20 points of the
 * bring-up's install and of a rolling change (the file phase and every service wave); a host's link
 * cut and a host rebooted in the middle of apply; two applies started at once. After each, the next
 * apply converges with no force-unlock, no temporary file is left on any host, ZooKeeper has one
 * leader and a Mesos master leads with its registry recovered.
 */
const dir = tempDir('meso-chaos-');
chmodSync(dir, 0o755);
const file = join(dir, 'cluster.yaml');
const name = `ch${process.pid % 10000}`;
const SUBNET = freeSubnet([228, 229, 227, 226]);
const env: NodeJS.ProcessEnv = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts') };
const meso = (...args: string[]): Promise<CliResult> => spawnMesoAsync(args, { env, timeoutMs: 600_000 });
const statePath = join(dir, '.meso', `${name}.state.json`);
const MASTERS = ['master-1', 'master-2', 'master-3'];
const HOSTS = [...MASTERS, 'w-1'];

/** What a flip changes: a ZooKeeper setting, a master flag, an agent flag. */
type Part = 'zk' | 'masters' | 'agent';
const PARTS: readonly Part[] = ['zk', 'masters', 'agent'];

/**
 * The spec in variant `v`: flipping every part writes files on every host and restarts every service,
 * one wave after another (3 ZooKeeper restarts, followers first; 3 masters, the leader last; the
 * agent); flipping one part runs only its waves, which keeps a kill point's cycle short. The masters'
 * short ZooKeeper session (tickTime 1000 lets it be 3 s) keeps the leading master's restart short.
 */
const yaml = (v: Readonly<Record<Part, 0 | 1>>): string =>
  [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    `local: { subnet: "${SUBNET}" }`,
    'install:',
    '  method: archive',
    `  archive: ${JSON.stringify(TARBALL)}`,
    '  packages: [libsasl2-modules]',
    `zookeeper: { tickTime: 1000, settings: { maxClientCnxns: "${60 + v.zk}" } }`,
    `masters: { count: 3, flags: { zk_session_timeout: "3secs", max_completed_frameworks: ${50 + v.masters} } }`,
    'agents:',
    '  - group: w',
    '    count: 1',
    '    resources: "cpus:1;mem:512"',
    `    flags: { max_completed_executors_per_framework: ${150 + v.agent} }`,
    '',
  ].join('\n');

const variant: Record<Part, 0 | 1> = { zk: 0, masters: 0, agent: 0 };
const flip = (parts: readonly Part[] = PARTS): void => {
  for (const p of parts) variant[p] = variant[p] === 0 ? 1 : 0;
  writeFileSync(file, yaml(variant));
};

interface Event {
  type: string;
  message: string;
}

/** A point in apply's `--json` event stream: the `nth` event of `type`, in a change of `parts`. */
interface KillPoint {
  type: string;
  nth: number;
  parts?: readonly Part[];
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number;
  events: Event[];
  stderr: string;
  /** The event at which `onEvent` acted, if it did. */
  hit?: Event;
  ms: number;
}

/**
 * `meso apply FILE --auto-approve --json`, calling `act` on every event; `act` returning true
 * marks the event as the one acted upon (it may kill the process, cut a link, reboot a host).
 */
function applyWatching(act: (e: Event, child: ReturnType<typeof spawn>) => boolean): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/meso.js'), 'apply', file, '--auto-approve', '--json'],
      {
        env,
      },
    );
    const events: Event[] = [];
    let buf = '';
    let stderr = '';
    let hit: Event | undefined;
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as Event;
        events.push(e);
        if (hit === undefined && act(e, child)) hit = e;
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        pid: child.pid ?? -1,
        events,
        stderr,
        ms: Date.now() - t0,
        ...(hit ? { hit } : {}),
      }),
    );
  });
}

/** Apply, killed with SIGKILL as soon as the kill point's event is seen. */
function applyKilledAt(point: KillPoint): Promise<Run> {
  const seen = new Map<string, number>();
  return applyWatching((e, child) => {
    const n = (seen.get(e.type) ?? 0) + 1;
    seen.set(e.type, n);
    if (e.type !== point.type || n !== point.nth) return false;
    child.kill('SIGKILL');
    return true;
  });
}

/** The first `error:` line apply printed. */
const errorLine = (stderr: string): string =>
  stderr.split('\n').find((l) => l.startsWith('error:')) ?? '(no error line)';

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * Temporary files meso's writers leave only when stopped half-way: write-files.sh's `.meso.XXXXXXXX`
 * beside each file, unpack-archive.sh's `<prefix>.meso-XXXXXX`, and `.<hex>.meso-tmp` (state, caches).
 */
const LEFTOVERS =
  "find /etc /var/lib/zookeeper /var/lib/mesos /usr/local/lib/meso /opt -xdev \\( -name '.meso.*' -o -name '*.meso-tmp' -o -name '*.meso-??????' \\) -print 2>/dev/null; true";

async function assertNoLeftovers(hosts: readonly string[] = HOSTS): Promise<void> {
  for (const h of hosts) {
    const r = await onLabHost(statePath, h, LEFTOVERS, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${h}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), '', `${h}: temporary files left behind`);
  }
  const local = readdirSync(join(dir, '.meso')).filter((f) => f.endsWith('.meso-tmp'));
  assert.deepEqual(local, [], 'no temporary state file left beside the state');
}

interface Status {
  healthy: boolean;
  zookeeper: { members: Record<string, string> };
  masters: { leader?: string; registry_recovered: boolean; agents: Record<string, boolean> };
}

/** `meso status`: ZooKeeper serves with one leader, a master leads with its registry, the agent is active. */
async function assertHealthy(): Promise<Status> {
  const r = await meso('status', file, '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Status;
  assert.deepEqual(Object.values(s.zookeeper.members).sort(), ['follower', 'follower', 'leader'], r.stdout);
  assert.ok(s.masters.leader !== undefined && MASTERS.includes(s.masters.leader), r.stdout);
  assert.equal(s.masters.registry_recovered, true, r.stdout);
  assert.deepEqual(s.masters.agents, { 'w-1': true }, r.stdout);
  assert.equal(s.healthy, true, r.stdout);
  return s;
}

/** The next apply, run as an operator would after the failure: no force-unlock. Then converged. */
async function converge(what: string, killed?: number): Promise<number> {
  const t0 = Date.now();
  const r = await meso('apply', file, '--auto-approve');
  const ms = Date.now() - t0;
  assert.equal(r.code, 0, `${what}: the next apply converges without force-unlock:\n${r.stderr}`);
  // The killed apply's lock is taken over, and apply says so in one line.
  if (killed !== undefined) assert.match(r.stderr, new RegExp(`took over the state lock of pid ${killed} `));
  const plan = await meso('plan', file, '--detailed-exitcode');
  assert.equal(plan.code, 0, `${what}: converged, nothing left to do:\n${plan.stdout}${plan.stderr}`);
  await assertNoLeftovers();
  await assertHealthy();
  return ms;
}

const hostRecord = (h: string): { veth: string } => labRecordIn(statePath, h) as unknown as { veth: string };

/** The plan's changes, as `meso plan --json` lists them. */
async function planChanges(): Promise<{ kind: string; host: string; action: string; path?: string }[]> {
  const r = await meso('plan', file, '--json');
  assert.equal(r.code, 0, r.stderr);
  return (
    JSON.parse(r.stdout) as { changes: { kind: string; host: string; action: string; path?: string }[] }
  ).changes;
}

/** Every host but `down` runs its services and ZooKeeper keeps a leader among the others. */
async function othersUp(down: string): Promise<void> {
  for (const h of HOSTS.filter((x) => x !== down)) {
    const units = h.startsWith('master-') ? 'zookeeper mesos-master' : 'mesos-agent';
    const r = await onLabHost(statePath, h, `systemctl is-active ${units}`, { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${h}: ${r.stdout}${r.stderr}`);
  }
  const modes: string[] = [];
  for (const h of MASTERS.filter((x) => x !== down)) {
    const r = await onLabHost(
      statePath,
      h,
      `exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && sed -n 's/^Mode: //p' <&3`,
      { timeoutMs: 30_000 },
    );
    modes.push(r.stdout.trim());
  }
  assert.ok(modes.includes('leader'), `ZooKeeper keeps a leader among the others: ${modes.join(', ')}`);
}

/**
 * The 19 kill points of a rolling change: the file phase of a change to every host, then each wave's
 * step and its gate, in a change of only that wave's service (3 ZooKeeper waves, 3 master waves,
 * the agent's), then the final verify.
 */
const ROLLING: KillPoint[] = [
  { type: 'files', nth: 1 },
  { type: 'files', nth: 4 },
  { type: 'files-done', nth: 1 },
  { type: 'files-done', nth: 4 },
  ...(
    [
      ['zk', 3],
      ['masters', 3],
      ['agent', 1],
    ] as const
  ).flatMap(([part, waves]) =>
    Array.from({ length: waves }, (_, i) => [
      { type: 'wave', nth: i + 1, parts: [part] },
      { type: 'gate', nth: i + 1, parts: [part] },
    ]).flat(),
  ),
  { type: 'verify', nth: 1, parts: ['agent'] },
];

void describe(
  'chaos: apply killed, a link cut, a host rebooted, two applies at once',
  {
    skip: mesosSkip(),
    timeout: 45 * 60_000,
  },
  () => {
    const figures: string[] = [];
    const killPoints: string[] = [];
    const converges: number[] = [];

    before(() => {
      assert.ok(existsSync(TARBALL), `the Mesos build ${TARBALL} is missing (CI=true: it must be there)`);
    });

    const suiteStart = Date.now();

    after(async () => {
      let records: LabHost[] = [];
      try {
        records = Object.values(
          (JSON.parse(readFileSync(statePath, 'utf8')) as { hosts: Record<string, { provider?: LabHost }> })
            .hosts,
        ).flatMap((h) => (h.provider === undefined ? [] : [h.provider]));
      } catch {
        // no state: no host was made
      }
      const d = await meso('destroy', file, '--auto-approve');
      for (const [i, k] of killPoints.entries()) process.stdout.write(`# chaos: kill ${i + 1}: ${k}\n`);
      for (const f of figures) process.stdout.write(`# chaos: ${f}\n`);
      if (converges.length > 0) {
        const sorted = [...converges].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)]!;
        process.stdout.write(
          `# chaos: recovery applies: ${sorted.length}, ${secs(sorted[0]!)} to ${secs(sorted.at(-1)!)}, median ${secs(median)}\n`,
        );
      }
      process.stdout.write(`# chaos: the suite, destroy included: ${secs(Date.now() - suiteStart)}\n`);
      assert.equal(d.code, 0, d.stderr);
      assert.deepEqual(leftovers(name, join(dir, 'hosts', name), records), [], 'nothing of the lab is left');
    });

    void test("kill -9 during the bring-up's install: the next apply converges", async () => {
      const t0 = Date.now();
      writeFileSync(file, yaml(variant));
      const point = { type: 'archive', nth: 1 };
      const run = await applyKilledAt(point);
      assert.equal(run.signal, 'SIGKILL', `apply reached the install: ${run.stderr}`);
      killPoints.push(`bring-up: ${point.type}#${point.nth}: ${run.hit!.message}`);
      converges.push(await converge('after a kill during the install', run.pid));
      figures.push(`bring-up killed during the install, then converged: ${secs(Date.now() - t0)}`);
    });

    void test('kill -9 at 19 points of a rolling change: each next apply converges', async () => {
      const t0 = Date.now();
      for (const point of ROLLING) {
        flip(point.parts);
        const run = await applyKilledAt(point);
        assert.equal(run.signal, 'SIGKILL', `apply reached ${point.type}#${point.nth}: ${run.stderr}`);
        killPoints.push(
          `${point.type}#${point.nth} of ${point.parts?.join('+') ?? 'all'}: ${run.hit!.message}`,
        );
        converges.push(await converge(`after a kill at ${point.type}#${point.nth}`, run.pid));
      }
      figures.push(`19 rolling changes killed and converged: ${secs(Date.now() - t0)}`);
    });

    void test('two applies at once on the same state: one runs, the other names the lock holder', async () => {
      const t0 = Date.now();
      flip(['agent']);
      const [a, b] = await Promise.all([applyWatching(() => false), applyWatching(() => false)]);
      const winner = [a, b].filter((r) => r.code === 0);
      const loser = [a, b].filter((r) => r.code !== 0);
      assert.equal(winner.length, 1, `exactly one apply runs:\n${a.stderr}\n${b.stderr}`);
      assert.equal(loser.length, 1);
      assert.match(
        loser[0]!.stderr,
        new RegExp(
          `locked by pid ${winner[0]!.pid} of \\S+@\\S+ \\(\`meso apply ${file.replace(/[.]/g, '\\.')}\``,
        ),
      );
      const plan = await meso('plan', file, '--detailed-exitcode');
      assert.equal(plan.code, 0, plan.stdout);
      await assertHealthy();
      figures.push(`two applies at once: ${secs(Date.now() - t0)}`);
    });

    void test("a host's link cut mid-apply: apply names it, the others stay consistent, the next apply converges", async () => {
      const t0 = Date.now();
      flip(['masters']);
      let cut: string | undefined;
      const run = await applyWatching((e) => {
        const m = /^waiting for master-healthy on (master-\d)$/.exec(e.message);
        if (e.type !== 'gate' || m === null) return false;
        cut = m[1]!;
        const r = spawnSync('ip', ['link', 'set', hostRecord(cut).veth, 'down'], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return true;
      });
      try {
        assert.ok(cut !== undefined, 'apply reached a master step');
        assert.notEqual(run.code, 0, 'apply fails');
        assert.match(run.stderr, new RegExp(`${cut}\\b`), `the error names ${cut}: ${run.stderr}`);
        figures.push(
          `link of ${cut} cut at "${run.hit!.message}": apply failed after ${secs(run.ms)}: ${errorLine(run.stderr)}`,
        );
        await othersUp(cut);
      } finally {
        if (cut !== undefined) spawnSync('ip', ['link', 'set', hostRecord(cut).veth, 'up']);
      }
      const changes = await planChanges();
      assert.deepEqual(
        changes.filter((c) => c.kind === 'file'),
        [],
        'every file was written before the waves: only restarts are left',
      );
      converges.push(await converge(`after the link of ${cut} was cut`));
      figures.push(`link cut: ${secs(Date.now() - t0)} in all`);
    });

    void test('a host rebooted mid-apply: apply names it, the others stay consistent, the next apply converges', async () => {
      const t0 = Date.now();
      flip(['masters']);
      let rebooted: string | undefined;
      let reboot: Promise<unknown> | undefined;
      const run = await applyWatching((e) => {
        const m = /^waiting for master-healthy on (master-\d)$/.exec(e.message);
        if (e.type !== 'gate' || m === null) return false;
        rebooted = m[1]!;
        reboot = onLabHost(statePath, rebooted, 'systemctl reboot', { timeoutMs: 30_000 });
        return true;
      });
      await reboot;
      assert.ok(rebooted !== undefined, 'apply reached a master step');
      figures.push(
        `${rebooted} rebooted at "${run.hit!.message}": apply exited ${run.code} after ${secs(run.ms)}: ${errorLine(run.stderr)}`,
      );
      assert.notEqual(run.code, 0, `apply fails: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`${rebooted}\\b`), `the error names ${rebooted}: ${run.stderr}`);
      await othersUp(rebooted);
      // The host comes back by itself, as a machine does.
      const back = Date.now();
      for (;;) {
        const r = await onLabHost(statePath, rebooted, 'systemctl is-system-running --wait', {
          timeoutMs: 30_000,
        });
        if (r.code === 0 || /degraded/.test(r.stdout)) break;
        assert.ok(Date.now() - back < 120_000, `${rebooted} is back: ${r.stdout}${r.stderr}`);
        await new Promise((res) => setTimeout(res, 1000));
      }
      const changes = await planChanges();
      assert.deepEqual(
        changes.filter((c) => c.kind === 'file'),
        [],
        'only restarts are left',
      );
      converges.push(await converge(`after ${rebooted} rebooted`));
      figures.push(`reboot: ${secs(Date.now() - t0)} in all`);
    });
  },
);
