import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, spawnMesoAsync } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { freeSubnet, labRecordIn, mesosSkip, MESOS_TARBALL as TARBALL, onLabHost } from './helpers/lab.js';
import type { LabRecord } from './helpers/lab.js';
import { tempDir } from './helpers/tmp.js';

/**
 * A real Apache Mesos (the 1.12 build in ../shared/mesos/, installed with install.method archive)
 * on local hosts: 3 masters with the ZooKeeper ensemble and 2 agents. Every gate, status and rolling
 * change meso makes is checked against what Mesos itself says (its HTTP endpoints, asked from this
 * test), with a long-running task that must survive the rolling changes.
 */
const dir = tempDir('meso-mesos-real-');
chmodSync(dir, 0o755);
const file = join(dir, 'cluster.yaml');
const name = `mr${process.pid % 10000}`;
const SUBNET = freeSubnet([245, 240, 241, 242]);
const agentSecret = `a-${randomBytes(12).toString('hex')}`;
const frameworkSecret = `f-${randomBytes(12).toString('hex')}`;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  MESO_LOCAL_DIR: join(dir, 'hosts'),
  MESO_AGENT_SECRET: agentSecret,
  MESO_FRAMEWORK_SECRET: frameworkSecret,
};
const meso = (...args: string[]): Promise<CliResult> => spawnMesoAsync(args, { env, timeoutMs: 600_000 });
/** meso with MESO_TIMINGS=1, and the ms its endpoints block took after the summary line. */
async function mesoTimed(...args: string[]): Promise<CliResult & { blockMs: number | undefined }> {
  const r = await spawnMesoAsync(args, { env: { ...env, MESO_TIMINGS: '1' }, timeoutMs: 600_000 });
  const m = /MESO_TIMINGS (\{.*\})/.exec(r.stderr);
  const t = m === null ? {} : (JSON.parse(m[1]!) as Record<string, number>);
  const ms =
    t['endpoints'] !== undefined && t['summary'] !== undefined ? t['endpoints'] - t['summary'] : undefined;
  return { ...r, blockMs: ms };
}

interface Options {
  archive?: string;
  masterFlags?: Record<string, string | number>;
  agentFlags?: Record<string, string | number>;
  attributes?: Record<string, string>;
  auth?: { agentSecretEnv: string };
  quorum?: number;
  masters?: number;
}

function yaml(o: Options = {}): string {
  const map = (m: Record<string, string | number> | undefined): string =>
    `{ ${Object.entries(m ?? {})
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(', ')} }`;
  return [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    `local: { subnet: "${SUBNET}" }`,
    'install:',
    '  method: archive',
    `  archive: ${JSON.stringify(o.archive ?? TARBALL)}`,
    '  packages: [libsasl2-modules]',
    `masters: { count: ${o.masters ?? 3},${o.quorum === undefined ? '' : ` quorum: ${o.quorum},`} flags: ${map(o.masterFlags)} }`,
    'agents:',
    '  - group: w',
    '    count: 2',
    '    resources: "cpus:2;mem:1024"',
    `    attributes: ${map(o.attributes ?? { rack: 'r1' })}`,
    `    flags: ${map(o.agentFlags)}`,
    '    drain: { gracePeriodSeconds: 5, timeoutSeconds: 120 }',
    ...(o.auth === undefined
      ? []
      : [
          'security:',
          '  authentication:',
          '    frameworks: true',
          '    agents: true',
          '    credentials:',
          '      - { principal: agent, secret: "env:MESO_AGENT_SECRET" }',
          '      - { principal: fw, secret: "env:MESO_FRAMEWORK_SECRET" }',
          `    agent: { principal: agent, secret: "env:${o.auth.agentSecretEnv}" }`,
        ]),
    '',
  ].join('\n');
}

const statePath = join(dir, '.meso', `${name}.state.json`);
const record = (host: string): LabRecord => labRecordIn(statePath, host);
const masterNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `master-${i + 1}`);
/** The masters the spec has now (the membership tests change them). */
let MASTERS = masterNames(3);
const AGENTS = ['w-1', 'w-2'];

/** A shell script on a lab host as root, trusting only its pinned key. */
const onHost = (host: string, script: string, input?: string): Promise<CliResult> =>
  onLabHost(statePath, host, script, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function getJson(url: string): Promise<unknown> {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

/** Each master's own word: elected, registry recovered (undefined when it does not answer). */
async function mastersNow(): Promise<Map<string, { elected: boolean; recovered: boolean } | undefined>> {
  const out = new Map<string, { elected: boolean; recovered: boolean } | undefined>();
  await Promise.all(
    MASTERS.map(async (m) => {
      try {
        const s = (await getJson(`http://${record(m).address}:5050/metrics/snapshot`)) as Record<
          string,
          number
        >;
        out.set(m, {
          elected: s['master/elected'] === 1,
          recovered: s['registrar/state_fetch_ms'] !== undefined,
        });
      } catch {
        out.set(m, undefined);
      }
    }),
  );
  return out;
}

async function leaderNow(): Promise<string | undefined> {
  for (const [m, h] of await mastersNow()) if (h?.elected === true && h.recovered) return m;
  return undefined;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

interface MesosState {
  leader_info?: { hostname?: string };
  slaves?: { id: string; hostname: string; active: boolean }[];
  frameworks?: { name: string; tasks: { id: string; name: string; state: string; slave_id: string }[] }[];
}

/** /master/state asked of a standby: Mesos answers 307 to the leader, which fetch follows. */
async function mesosState(): Promise<MesosState> {
  const leader = await waitFor('an elected master', leaderNow);
  const standby = MASTERS.find((m) => m !== leader)!;
  const direct = await fetch(`http://${record(standby).address}:5050/master/state`, {
    redirect: 'manual',
    signal: AbortSignal.timeout(3000),
  });
  assert.equal(direct.status, 307, 'a standby master redirects /master/state to the leader');
  return (await getJson(`http://${record(standby).address}:5050/master/state`)) as MesosState;
}

async function task(taskName: string): Promise<{ id: string; state: string; slave_id: string } | undefined> {
  const s = await mesosState();
  for (const f of s.frameworks ?? []) for (const t of f.tasks) if (t.name === taskName) return t;
  return undefined;
}

/**
 * mesos-execute from the tarball, on master-1, in the background (a framework lives as long as its
 * scheduler): its log goes to /root/<task>.log. Credentials come from the environment, never argv.
 */
async function launch(taskName: string, command: string, principal?: string): Promise<void> {
  const creds =
    principal === undefined ? '' : `MESOS_PRINCIPAL=${principal} MESOS_SECRET=$(cat /root/fw-secret) `;
  const r = await onHost(
    'master-1',
    `cd /root && (setsid nohup env ${creds}LD_LIBRARY_PATH=/opt/mesos/lib /opt/mesos/bin/mesos-execute --master="$(cat /etc/mesos/zk)" --name=${taskName} --checkpoint --command='${command}' >/root/${taskName}.log 2>&1 </dev/null &)`,
  );
  assert.equal(r.code, 0, r.stderr);
}

const taskLog = async (taskName: string): Promise<string> =>
  (await onHost('master-1', `cat /root/${taskName}.log`)).stdout;

/** Apply, recording from this test (every 250 ms) the longest time no master was elected. */
async function applyWatchingLeader(): Promise<{ result: CliResult; longestNoLeaderMs: number }> {
  let done = false;
  let longest = 0;
  let since: number | undefined;
  const watcher = (async () => {
    while (!done) {
      const t = Date.now();
      const leader = await leaderNow();
      if (leader === undefined) since ??= t;
      else if (since !== undefined) {
        longest = Math.max(longest, t - since);
        since = undefined;
      }
      await sleep(250);
    }
    if (since !== undefined) longest = Math.max(longest, Date.now() - since);
  })();
  const result = await meso('apply', file, '--auto-approve');
  done = true;
  await watcher;
  return { result, longestNoLeaderMs: longest };
}

const steps = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => / step \d+\/\d+: /.test(l))
    .map((l) => l.replace(/^\[[^\]]*\] /, ''));

void describe('a real Apache Mesos on local hosts', { skip: mesosSkip(), timeout: 30 * 60_000 }, () => {
  const figures: string[] = [];
  let upgraded: string | undefined;

  before(() => {
    assert.ok(existsSync(TARBALL), `the Mesos build ${TARBALL} is missing (CI=true: it must be there)`);
  });

  after(async () => {
    const d = await meso('destroy', file, '--auto-approve');
    if (d.code !== 0) process.stderr.write(`destroy failed: ${d.stderr}\n`);
    for (const f of figures) process.stdout.write(`# mesos-real: ${f}\n`);
  });

  void test('bring-up: archive installed, gates wait for the real signals, status agrees with Mesos', async () => {
    writeFileSync(file, yaml());
    const t0 = Date.now();
    const r = await mesoTimed('apply', file, '--auto-approve');
    figures.push(
      `cold apply (hosts created, archive uploaded, all healthy): ${((Date.now() - t0) / 1000).toFixed(1)} s; its endpoints block ${r.blockMs} ms`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /not waiting/);
    assert.match(
      r.stderr,
      /Mesos: leader: master-\d \(registry recovered\), 2 agents active; agents registered: 2 of 2/,
    );

    const s = await mesosState();
    const leader = await leaderNow();
    assert.equal(s.leader_info?.hostname, record(leader!).address);
    assert.deepEqual(
      (s.slaves ?? [])
        .filter((a) => a.active)
        .map((a) => a.hostname)
        .sort(),
      AGENTS.map((a) => record(a).address).sort(),
    );

    const status = await meso('status', file, '--json');
    assert.equal(status.code, 0, status.stderr);
    const j = JSON.parse(status.stdout) as {
      healthy: boolean;
      masters: {
        leader: string;
        agents_registered: number;
        registry_recovered: boolean;
        agents: Record<string, boolean>;
      };
    };
    assert.equal(j.healthy, true);
    assert.equal(j.masters.leader, leader);
    assert.equal(j.masters.registry_recovered, true);
    assert.deepEqual(j.masters.agents, { 'w-1': true, 'w-2': true });
    const text = await meso('status', file);
    assert.match(
      text.stdout,
      new RegExp(`Mesos masters: healthy \\(leader: ${leader}; agents registered: 2 of 2\\)`),
    );

    // meso endpoints names the leader Mesos itself names (leader_info of /master/state, asked
    // above through a standby's redirect), and the agents that master lists as active.
    const mesosLeader = MASTERS.find((m) => record(m).address === s.leader_info?.hostname);
    assert.ok(mesosLeader !== undefined, JSON.stringify(s.leader_info));
    const leaderUrl = `http://${record(mesosLeader).address}:5050`;
    const leaderLine = new RegExp(`\\nleader {4}= ${leaderUrl.replace(/[.]/g, '\\.')}\\n`);
    const te = Date.now();
    const ep = await meso('endpoints', file, '--json');
    figures.push(`meso endpoints --json: ${Date.now() - te} ms`);
    assert.equal(ep.code, 0, ep.stderr);
    const e = JSON.parse(ep.stdout) as {
      masters: { host: string; url: string; leader: boolean; reachable: boolean }[];
      leader: string | null;
      agents: { host: string; registered: boolean }[];
    };
    assert.equal(e.leader, leaderUrl);
    assert.deepEqual(
      e.masters.filter((m) => m.leader).map((m) => m.host),
      [mesosLeader],
    );
    assert.ok(
      e.masters.every((m) => m.reachable),
      ep.stdout,
    );
    assert.deepEqual(
      e.agents.map((a) => [a.host, a.registered]),
      AGENTS.map((a) => [a, true]),
    );
    // The block that ended the bring-up apply said the same, from what its verify saw.
    assert.match(r.stdout, leaderLine);
    assert.match(r.stdout, /\nagents {4}= w-1 +\S+ +registered\n +w-2 +\S+ +registered\n$/);

    const t1 = Date.now();
    const again = await mesoTimed('apply', file, '--auto-approve');
    figures.push(
      `no-op apply: ${((Date.now() - t1) / 1000).toFixed(2)} s; its endpoints block (one probe per master) ${again.blockMs} ms`,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, leaderLine);
    const plan = await meso('plan', file, '--detailed-exitcode');
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /No changes/);
  });

  void test('tasks run: the executor finds the archive libraries; a long task keeps running', async () => {
    await launch('hello', 'echo hello from mesos');
    await waitFor('TASK_FINISHED', async () =>
      (await taskLog('hello')).includes('TASK_FINISHED') ? true : undefined,
    );
    await launch('sleeper', 'sleep 3600');
    const t = await waitFor('the sleeper running', async () => {
      const x = await task('sleeper');
      return x?.state === 'TASK_RUNNING' ? x : undefined;
    });
    assert.ok(t.id);
  });

  void test('failover: stopping the leader elects another; status names it; apply starts it again', async () => {
    const old = await waitFor('a leader', leaderNow);
    const stop = await onHost(old, 'systemctl stop mesos-master.service');
    assert.equal(stop.code, 0, stop.stderr);
    const t0 = Date.now();
    const next = await waitFor('a new leader', async () => {
      const l = await leaderNow();
      return l !== undefined && l !== old ? l : undefined;
    });
    figures.push(`failover after stopping the leading master: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const status = await meso('status', file, '--json');
    assert.equal((JSON.parse(status.stdout) as { masters: { leader: string } }).masters.leader, next);

    const plan = await meso('plan', file);
    assert.match(plan.stdout, new RegExp(`# ${old} [\\s\\S]*service mesos-master\\.service: start`));
    const r = await meso('apply', file, '--auto-approve');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      steps(r.stderr).some((l) => l.includes(`start mesos-master on ${old}`)),
      r.stderr,
    );
    const all = await mastersNow();
    for (const m of MASTERS) assert.notEqual(all.get(m), undefined, `${m} answers again`);
  });

  /** The ids of the active agents, as the leading master lists them. */
  const agentIds = async (): Promise<string[]> =>
    ((await mesosState()).slaves ?? [])
      .filter((a) => a.active)
      .map((a) => a.id)
      .sort();

  /** After a membership change: healthy, the task and the agents kept, every member's files as planned. */
  async function checkKept(
    sleeper: { id: string; slave_id: string },
    ids: string[],
    masters: number,
  ): Promise<void> {
    const status = await meso('status', file, '--json');
    assert.equal(status.code, 0, status.stdout + status.stderr);
    const j = JSON.parse(status.stdout) as { zookeeper: { members: Record<string, string> } };
    const modes = Object.values(j.zookeeper.members).sort();
    assert.equal(modes.length, masters);
    assert.equal(modes.filter((m) => m === 'leader').length, masters === 1 ? 0 : 1, JSON.stringify(modes));
    for (const m of MASTERS) {
      const r = await onHost(
        m,
        'grep -c "^server\\." /etc/zookeeper/conf/zoo.cfg; cat /etc/mesos-master/quorum',
      );
      assert.deepEqual(
        r.stdout.trim().split('\n'),
        [String(masters), String(Math.floor(masters / 2) + 1)],
        m,
      );
    }
    assert.deepEqual(
      await agentIds(),
      ids,
      'every agent still registered under its id: the registry was kept',
    );
    const t = await waitFor('the sleeper', () => task('sleeper'));
    assert.equal(t.id, sleeper.id);
    assert.equal(t.state, 'TASK_RUNNING');
    const plan = await meso('plan', file, '--detailed-exitcode');
    assert.equal(plan.code, 0, `a second plan is empty: ${plan.stdout}`);
  }

  void test("membership: 3 -> 5 -> 3 masters (and ZooKeeper members) in the guide's order, the task and every agent kept", async () => {
    const sleeper = (await task('sleeper'))!;
    const ids = await agentIds();
    assert.equal(ids.length, 2);
    writeFileSync(file, yaml({ masters: 5 }));
    const plan = await meso('plan', file, '--json');
    assert.equal(plan.code, 0, plan.stderr);
    const m = (
      JSON.parse(plan.stdout) as {
        membership: {
          zookeeper: { method: string; steps: { host: string; action: string; round: number }[] };
          masters: { quorum_from: number; quorum_to: number; steps: { host: string; action: string }[] };
        };
      }
    ).membership;
    assert.equal(m.zookeeper.method, 'static');
    assert.deepEqual(
      m.zookeeper.steps.filter((s) => s.action === 'start').map((s) => `${s.host}@${s.round}`),
      ['master-4@1', 'master-5@2'],
      'one new member per round',
    );
    assert.equal(m.zookeeper.steps.length, 9, '1 start + 3 restarts, then 1 start + 4 restarts');
    assert.deepEqual([m.masters.quorum_from, m.masters.quorum_to], [2, 3]);
    assert.deepEqual(
      m.masters.steps.map((s) => s.action),
      ['restart', 'restart', 'restart', 'start', 'start'],
      'the running masters get the new quorum before the new ones start',
    );
    MASTERS = masterNames(5);
    let t0 = Date.now();
    const grow = await applyWatchingLeader();
    figures.push(
      `masters 3 -> 5 (ZooKeeper 3 -> 5): ${((Date.now() - t0) / 1000).toFixed(1)} s, longest time without an elected master ${(grow.longestNoLeaderMs / 1000).toFixed(1)} s`,
    );
    assert.equal(grow.result.code, 0, grow.result.stderr);
    await checkKept(sleeper, ids, 5);

    writeFileSync(file, yaml());
    const shrinkPlan = await meso('plan', file);
    assert.equal(shrinkPlan.code, 0, shrinkPlan.stderr);
    assert.match(shrinkPlan.stdout, /stop mesos-master on master-4 \(removed first/);
    t0 = Date.now();
    const shrink = await applyWatchingLeader();
    figures.push(
      `masters 5 -> 3 (ZooKeeper 5 -> 3): ${((Date.now() - t0) / 1000).toFixed(1)} s, longest time without an elected master ${(shrink.longestNoLeaderMs / 1000).toFixed(1)} s`,
    );
    assert.equal(shrink.result.code, 0, shrink.result.stderr);
    const order = steps(shrink.result.stderr).filter((l) => l.includes('mesos-master'));
    assert.match(order[0]!, /stop mesos-master on master-4/);
    assert.match(order[1]!, /stop mesos-master on master-5/);
    MASTERS = masterNames(3);
    await checkKept(sleeper, ids, 3);
  });

  void test('replace: a master whose host was destroyed by hand comes back empty, its replica catches up, nothing else restarts', async () => {
    const sleeper = (await task('sleeper'))!;
    const ids = await agentIds();
    const lab = (await import(join(ROOT, 'dist', 'src', 'providers', 'local', 'lab.js'))) as {
      destroyHosts: (o: { cluster: string; stateDir: string; hosts: string[] }) => Promise<void>;
    };
    const victim = MASTERS.find((m) => m !== 'master-1')!;
    await lab.destroyHosts({ cluster: name, stateDir: join(dir, 'hosts', name), hosts: [victim] });
    const plan = await meso('plan', file);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`\\+ host ${victim}`));
    const t0 = Date.now();
    const r = await applyWatchingLeader();
    figures.push(
      `replace a destroyed master: ${((Date.now() - t0) / 1000).toFixed(1)} s, longest time without an elected master ${(r.longestNoLeaderMs / 1000).toFixed(1)} s`,
    );
    assert.equal(r.result.code, 0, r.result.stderr);
    assert.deepEqual(
      steps(r.result.stderr).map((l) => l.replace(/^step \d+\/\d+: /, '').replace(/ \(.*$/, '')),
      [`start zookeeper on ${victim}`, `start mesos-master on ${victim}`],
      'only the new host starts; nothing else restarts',
    );
    const health = (await getJson(`http://${record(victim).address}:5050/metrics/snapshot`)) as Record<
      string,
      number
    >;
    assert.equal(health['registrar/log/recovered'], 1, 'its empty replica caught up');
    await checkKept(sleeper, ids, 3);
  });

  void test('a master flag change rolls standbys first, the leader last, the task keeps running', async () => {
    const before = (await task('sleeper'))!;
    const leader = (await leaderNow())!;
    writeFileSync(file, yaml({ masterFlags: { max_completed_frameworks: 60 } }));
    const t0 = Date.now();
    const { result, longestNoLeaderMs } = await applyWatchingLeader();
    figures.push(
      `rolling master change: ${((Date.now() - t0) / 1000).toFixed(1)} s, longest time without an elected master ${(longestNoLeaderMs / 1000).toFixed(1)} s`,
    );
    assert.equal(result.code, 0, result.stderr);
    const order = steps(result.stderr);
    assert.equal(order.length, 3, result.stderr);
    assert.match(order[2]!, new RegExp(`restart mesos-master on ${leader} \\(the leading master last\\)`));
    assert.match(order[0]!, /standby masters first/);
    assert.ok(await leaderNow(), 'a master is elected when apply exits 0');
    assert.match(
      result.stderr,
      /Mesos: leader: master-\d \(registry recovered\), \d+ agents active; agents registered: 2 of 2/,
    );
    const status = await meso('status', file);
    assert.equal(status.code, 0, `healthy as soon as apply exits: ${status.stdout}`);
    const afterwards = await waitFor('the sleeper', () => task('sleeper'));
    assert.equal(afterwards.id, before.id);
    assert.equal(afterwards.state, 'TASK_RUNNING');
  });

  void test('an agent flag change restarts agents in batches and keeps the task', async () => {
    const before = (await task('sleeper'))!;
    writeFileSync(
      file,
      yaml({
        masterFlags: { max_completed_frameworks: 60 },
        agentFlags: { executor_shutdown_grace_period: '10secs' },
      }),
    );
    const r = await meso('apply', file, '--auto-approve');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      steps(r.stderr).map((l) => l.replace(/^step \d+\/\d+: /, '')),
      ['restart mesos-agent on w-1 (batches of 1)', 'restart mesos-agent on w-2 (batches of 1)'],
    );
    const t = (await task('sleeper'))!;
    assert.equal(t.id, before.id);
    assert.equal(t.state, 'TASK_RUNNING');
    assert.equal(t.slave_id, before.slave_id, 'the agent recovered: same agent id');
  });

  void test('an attribute change with drain: drained through the operator API, reset, registered anew', async () => {
    const before = await mesosState();
    const oldIds = new Set((before.slaves ?? []).map((s) => s.id));
    writeFileSync(
      file,
      yaml({
        masterFlags: { max_completed_frameworks: 60 },
        agentFlags: { executor_shutdown_grace_period: '10secs' },
        attributes: { rack: 'r2' },
      }),
    );
    const r = await meso('apply', file, '--auto-approve');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /w-1: w-1 \([^)]+\) drained/);
    assert.match(r.stderr, /w-2: w-2 \([^)]+\) drained/);
    const s = await mesosState();
    const active = (s.slaves ?? []).filter((a) => a.active);
    assert.equal(active.length, 2);
    for (const a of active) assert.ok(!oldIds.has(a.id), `${a.hostname} registered with a new id`);
    // Draining killed the sleeper (its framework then ended); start another for the upgrade.
    assert.match(await taskLog('sleeper'), /TASK_KILLED/);
    await launch('sleeper2', 'sleep 3600');
    await waitFor('sleeper2 running', async () =>
      (await task('sleeper2'))?.state === 'TASK_RUNNING' ? true : undefined,
    );
  });

  void test('upgrade: a new tarball rolls masters (leader last) then agents; the task survives', async () => {
    // The same build repacked with a marker file: another sha256, another archive.
    const work = join(dir, 'repack');
    mkdirSync(work);
    upgraded = join(dir, 'mesos-1.12.0-marked.tar.gz');
    const x = spawnSync('tar', ['-xzf', TARBALL, '-C', work]);
    assert.equal(x.status, 0, String(x.stderr));
    writeFileSync(join(work, 'mesos', 'MESO_UPGRADE_MARKER'), 'marked\n');
    const c = spawnSync('sh', ['-c', 'tar -C "$1" -cf - mesos | gzip -1 > "$2"', 'repack', work, upgraded]);
    assert.equal(c.status, 0, String(c.stderr));

    const before = (await task('sleeper2'))!;
    const leader = (await leaderNow())!;
    writeFileSync(
      file,
      yaml({
        archive: upgraded,
        masterFlags: { max_completed_frameworks: 60 },
        agentFlags: { executor_shutdown_grace_period: '10secs' },
        attributes: { rack: 'r2' },
      }),
    );
    const plan = await meso('plan', file);
    assert.match(plan.stdout, /~ archive \/opt\/mesos/);
    const t0 = Date.now();
    const r = await meso('apply', file, '--auto-approve');
    figures.push(
      `upgrade to a new tarball (5 uploads, 3 masters and 2 agents rolled): ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    assert.equal(r.code, 0, r.stderr);
    const order = steps(r.stderr).map((l) => l.replace(/^step \d+\/\d+: /, ''));
    assert.equal(order.length, 5, r.stderr);
    assert.match(order[2]!, new RegExp(`restart mesos-master on ${leader} \\(the leading master last\\)`));
    assert.deepEqual(order.slice(3), [
      'restart mesos-agent on w-1 (batches of 1)',
      'restart mesos-agent on w-2 (batches of 1)',
    ]);
    for (const h of [...MASTERS, ...AGENTS]) {
      const m = await onHost(h, 'cat /opt/mesos/MESO_UPGRADE_MARKER');
      assert.equal(m.stdout, 'marked\n', `${h} runs the new build`);
    }
    const t = (await task('sleeper2'))!;
    assert.equal(t.id, before.id);
    assert.equal(t.state, 'TASK_RUNNING');
  });

  void test('authentication: a wrong agent secret is reported at once; the right one registers; tasks authenticate', async () => {
    const base = {
      archive: upgraded!,
      masterFlags: { max_completed_frameworks: 60 },
      agentFlags: { executor_shutdown_grace_period: '10secs' },
      attributes: { rack: 'r2' },
    };
    writeFileSync(file, yaml({ ...base, auth: { agentSecretEnv: 'MESO_WRONG_SECRET' } }));
    const wrongEnv = { ...env, MESO_WRONG_SECRET: `wrong-${randomBytes(6).toString('hex')}` };
    const t0 = Date.now();
    const wrong = await spawnMesoAsync(['apply', file, '--auto-approve'], { env: wrongEnv });
    const failedIn = (Date.now() - t0) / 1000;
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /mesos-agent\.service on w-1 keeps exiting/);
    assert.match(wrong.stderr, /refused authentication/);
    assert.ok(
      failedIn < 100,
      `reported while the agent crash-loops (${failedIn} s), not after the 120 s gate`,
    );
    for (const s of [agentSecret, frameworkSecret, wrongEnv['MESO_WRONG_SECRET']])
      assert.ok(!wrong.stdout.includes(s) && !wrong.stderr.includes(s), 'no secret in the output');
    const status = await spawnMesoAsync(['status', file, '--json'], { env: wrongEnv });
    assert.equal(status.code, 1);
    assert.equal(
      (JSON.parse(status.stdout) as { masters: { agents: Record<string, boolean> } }).masters.agents['w-1'],
      false,
    );

    writeFileSync(file, yaml({ ...base, auth: { agentSecretEnv: 'MESO_AGENT_SECRET' } }));
    const right = await meso('apply', file, '--auto-approve');
    assert.equal(right.code, 0, right.stderr);
    const ok = await meso('status', file, '--json');
    assert.deepEqual(
      (JSON.parse(ok.stdout) as { masters: { agents: Record<string, boolean> } }).masters.agents,
      {
        'w-1': true,
        'w-2': true,
      },
    );
    // The secret goes over ssh's stdin, not its command line.
    const write = await onHost('master-1', 'umask 077 && cat > /root/fw-secret', frameworkSecret);
    assert.equal(write.code, 0, write.stderr);
    await launch('authed', 'echo authenticated', 'fw');
    await waitFor('the authenticated task to finish', async () =>
      (await taskLog('authed')).includes('TASK_FINISHED') ? true : undefined,
    );
  });

  void test('a flag value Mesos rejects: the rollout stops after that master, with its journal', async () => {
    const leader = (await leaderNow())!;
    const good = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      good.replace('max_completed_frameworks: 60', 'max_completed_frameworks: 60, registry: "bogus"'),
    );
    const t0 = Date.now();
    const r = await meso('apply', file, '--auto-approve');
    const failedIn = (Date.now() - t0) / 1000;
    assert.equal(r.code, 1, r.stderr);
    const order = steps(r.stderr);
    assert.equal(order.length, 1, `only the first master was restarted: ${r.stderr}`);
    const failed = /restart mesos-master on (master-\d)/.exec(order[0]!)![1]!;
    assert.notEqual(failed, leader, 'a standby first');
    assert.match(r.stderr, new RegExp(`mesos-master\\.service on ${failed} keeps exiting`));
    assert.match(r.stderr, /bogus/, 'the journal line that says why');
    assert.ok(failedIn < 100, `reported at once (${failedIn} s)`);
    assert.equal(await leaderNow(), leader, 'the others kept running, the leader still leads');

    writeFileSync(file, good);
    const back = await meso('apply', file, '--auto-approve');
    assert.equal(back.code, 0, back.stderr);
    assert.ok(steps(back.stderr)[0]?.includes(`on ${failed}`), 'the failed master first');
    assert.equal((await meso('status', file)).code, 0);
  });

  void test('one master: 3 -> 1 (the moments without a ZooKeeper majority marked), 1 -> 3 only with --allow-registry-reset', async () => {
    const three = readFileSync(file, 'utf8');
    const one = three.replace(/masters: \{ count: 3,/, 'masters: { count: 1,');
    assert.notEqual(one, three);
    writeFileSync(file, one);
    const plan = await meso('plan', file);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /ZooKeeper membership: 3 -> 1 members/);
    assert.match(
      plan.stdout,
      /! the ensemble has no majority during this step \(an ensemble of 1 cannot keep one\)/,
    );
    let t0 = Date.now();
    const down = await applyWatchingLeader();
    figures.push(
      `masters 3 -> 1: ${((Date.now() - t0) / 1000).toFixed(1)} s, longest time without an elected master ${(down.longestNoLeaderMs / 1000).toFixed(1)} s`,
    );
    assert.equal(down.result.code, 0, down.result.stderr);
    MASTERS = masterNames(1);
    assert.equal(await waitFor('master-1 leading', leaderNow), 'master-1');
    assert.equal((await meso('plan', file, '--detailed-exitcode')).code, 0);

    writeFileSync(file, three);
    const refused = await meso('apply', file, '--auto-approve');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /the masters go from one to 3: .*the registry is lost/);
    assert.match(refused.stderr, /hint: .*--allow-registry-reset/);
    const shown = await meso('plan', file);
    assert.match(shown.stdout, /! .*the registry is lost/);
    assert.match(shown.stdout, /stop mesos-master on master-1 \(the replicated log starts anew/);
    MASTERS = masterNames(3);
    t0 = Date.now();
    const r = await meso('apply', file, '--auto-approve', '--allow-registry-reset');
    figures.push(`masters 1 -> 3 with a registry reset: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await waitFor('a leader', leaderNow));
    const log = await onHost('master-1', 'ls -d /var/lib/mesos/replicated_log.removed-*');
    assert.equal(log.code, 0, 'the old log was moved aside, not deleted');
    const status = await meso('status', file, '--json');
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.equal((await meso('plan', file, '--detailed-exitcode')).code, 0);
  });
});
