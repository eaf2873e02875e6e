import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, spawnMeso } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { freeSubnet, labSkip } from './helpers/lab.js';

/**
 * The meso commands on real local hosts, as an operator or CI runs them: apply from nothing, an
 * empty second plan, status, the ensemble grown 3 -> 5 (killed mid-round, resumed) and shrunk back,
 * a refused unattended apply, a rolling ZooKeeper change, meso killed
 * mid-apply and converging without force-unlock, an agent removed, a wrong host key, destroy.
 */
const dir = mkdtempSync(join(tmpdir(), 'meso-cli-local-'));
const file = join(dir, 'lab.yaml');
const name = `cli${process.pid % 10000}`;
const SUBNET = freeSubnet([249, 236, 237, 238]);
const env = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts') };
const yaml = (tickTime: number, agents: number, masters = 3): string =>
  [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    `local: { subnet: "${SUBNET}" }`,
    'install: { method: none }',
    `zookeeper: { tickTime: ${tickTime} }`,
    `masters: { count: ${masters} }`,
    `agents: [{ group: w, count: ${agents} }]`,
    '',
  ].join('\n');

const meso = (...args: string[]): CliResult => spawnMeso(args, { env, timeoutMs: 600_000 });
const statePath = join(dir, '.meso', `${name}.state.json`);
const state = (): { hosts: Record<string, { provider: { hostPublicKey: string } }> } =>
  JSON.parse(readFileSync(statePath, 'utf8')) as {
    hosts: Record<string, { provider: { hostPublicKey: string } }>;
  };
const events = (out: string): { type: string; message: string }[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; message: string });

void describe('meso commands on local hosts', { skip: labSkip(), timeout: 20 * 60_000 }, () => {
  void test('apply, plan, status, change, kill and converge, remove an agent, host keys, destroy', async () => {
    try {
      writeFileSync(file, yaml(2000, 2));
      const first = meso('apply', file, '--auto-approve');
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /ZooKeeper: leader: master-\d; followers: master-\d, master-\d/);
      assert.deepEqual(Object.keys(state().hosts).sort(), ['master-1', 'master-2', 'master-3', 'w-1', 'w-2']);

      const again = meso('plan', file, '--detailed-exitcode');
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /No changes/);

      const status = meso('status', file, '--json');
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout) as {
        healthy: boolean;
        zookeeper: { members: Record<string, string> };
        masters: { installed: string[] };
        units: Record<string, Record<string, string>>;
      };
      assert.equal(s.healthy, true);
      assert.deepEqual(s.masters.installed, [], 'Mesos is not on the lab image, and status says so');
      assert.equal(s.units['master-1']?.['zookeeper.service'], 'active');
      assert.equal(s.units['w-1']?.['mesos-agent.service'], 'activating');
      assert.match(meso('status', file).stdout, /Mesos masters: not installed on any master/);
      assert.deepEqual(Object.values(s.zookeeper.members).sort(), ['follower', 'follower', 'leader']);

      // Growing the running ensemble 3 -> 5, one member per round, meso killed (SIGKILL) inside a
      // round: after force-unlock the next plan finishes that round first (round 0), then the rest.
      writeFileSync(file, yaml(2000, 2, 5));
      const growPlan = meso('plan', file, '--json');
      assert.equal(growPlan.code, 0, growPlan.stderr);
      const zk = (
        JSON.parse(growPlan.stdout) as {
          membership: {
            zookeeper: {
              method: string;
              steps: {
                host: string;
                action: string;
                round: number;
                servers: Record<string, string> | null;
              }[];
            };
          };
        }
      ).membership.zookeeper;
      assert.equal(zk.method, 'static');
      assert.deepEqual(
        zk.steps.filter((x) => x.action === 'start').map((x) => `${x.host}@${x.round}`),
        ['master-4@1', 'master-5@2'],
      );
      assert.deepEqual(
        Object.keys(zk.steps[0]!.servers!),
        ['1', '2', '3', '4'],
        'the new member joins with 4',
      );
      await new Promise<void>((resolve) => {
        const child = spawn(
          process.execPath,
          [join(ROOT, 'bin/meso.js'), 'apply', file, '--auto-approve', '--json'],
          {
            env,
          },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if ((out.match(/"type":"wave"/g) ?? []).length >= 3) child.kill('SIGKILL');
        });
        child.on('close', () => resolve());
      });
      assert.equal(meso('force-unlock', file).code, 0);
      const resumePlan = meso('plan', file);
      assert.equal(resumePlan.code, 0, resumePlan.stderr);
      assert.match(resumePlan.stdout, /round 0: /, 'the half-done round comes first');
      const grown = meso('apply', file, '--auto-approve');
      assert.equal(grown.code, 0, grown.stderr);
      const modes = (): string[] =>
        Object.values(
          (
            JSON.parse(meso('status', file, '--json').stdout) as {
              zookeeper: { members: Record<string, string> };
            }
          ).zookeeper.members,
        ).sort();
      assert.deepEqual(modes(), ['follower', 'follower', 'follower', 'follower', 'leader']);
      assert.equal(meso('plan', file, '--detailed-exitcode').code, 0, 'converged: nothing left');

      // And back to 3: the leaving members stop once the others run without them; their hosts go.
      writeFileSync(file, yaml(2000, 2));
      const shrunk = meso('apply', file, '--auto-approve');
      assert.equal(shrunk.code, 0, shrunk.stderr);
      assert.match(shrunk.stderr, /stop zookeeper on master-5/);
      assert.deepEqual(modes(), ['follower', 'follower', 'leader']);
      assert.deepEqual(Object.keys(state().hosts).sort(), ['master-1', 'master-2', 'master-3', 'w-1', 'w-2']);
      // 3 -> 1 passes through 2 members: planned with its moments without a majority marked.
      writeFileSync(file, yaml(2000, 2, 1));
      const toOne = meso('plan', file);
      assert.equal(toOne.code, 0, toOne.stderr);
      assert.match(toOne.stdout, /! the ensemble has no majority during this step/);
      writeFileSync(file, yaml(2000, 2));
      assert.equal(
        meso('plan', file, '--detailed-exitcode').code,
        0,
        'back to the running spec: nothing to do',
      );

      // Without a terminal and without --auto-approve, nothing is changed.
      writeFileSync(file, yaml(2500, 2));
      const refused = meso('apply', file);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /refusing to change hosts without confirmation/);
      const pending = meso('plan', file).stdout;
      assert.match(pending, /~ \/etc\/zookeeper\/conf\/zoo\.cfg/);
      assert.match(pending, /^ +-tickTime=2000$/m);
      assert.match(pending, /^ +\+tickTime=2500$/m);

      // A rolling change: followers first, the leader last, as the JSON events show.
      // Asked now: the membership changes above moved the leadership.
      const leader = Object.entries(
        (
          JSON.parse(meso('status', file, '--json').stdout) as {
            zookeeper: { members: Record<string, string> };
          }
        ).zookeeper.members,
      ).find(([, m]) => m === 'leader')?.[0];
      const rolled = meso('apply', file, '--auto-approve', '--json');
      assert.equal(rolled.code, 0, rolled.stderr);
      const restarts = events(rolled.stdout)
        .filter((e) => e.type === 'wave' && / restart zookeeper on /.test(e.message))
        .map((e) => /on (\S+) \(/.exec(e.message)?.[1]);
      assert.equal(restarts.length, 3);
      assert.equal(restarts[2], leader, 'the leader restarts last');

      // A saved plan applies as it was shown, and is refused once the world moved on.
      writeFileSync(file, yaml(2600, 2));
      const planFile = join(dir, 'plan.json');
      const planned = meso('plan', file, '--out', planFile);
      assert.equal(planned.code, 0, planned.stderr);
      const staleFile = join(dir, 'stale.json');
      writeFileSync(staleFile, readFileSync(planFile, 'utf8'));
      const applied = meso('apply', planFile);
      assert.equal(applied.code, 0, applied.stderr);
      assert.equal(meso('plan', file, '--detailed-exitcode').code, 0);
      const stale = meso('apply', staleFile);
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /Saved plan is stale/);
      const offline = join(dir, 'offline.json');
      assert.equal(meso('plan', file, '--offline', '--out', offline).code, 0);
      assert.match(meso('apply', offline).stderr, /not a plan saved by `meso plan FILE --out`/);

      // Ctrl-C mid-apply: the step in flight finishes, no new one starts, the lock is released,
      // the exit is non-zero, and the next apply finishes the job.
      writeFileSync(file, yaml(2700, 2));
      const interrupted = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [join(ROOT, 'bin/meso.js'), 'apply', file, '--auto-approve', '--json'],
          { env },
        );
        let out = '';
        let sent = false;
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (!sent && out.includes('"type":"wave"')) {
            sent = true;
            child.kill('SIGINT');
          }
        });
        child.on('close', (code) => resolve({ code, out }));
      });
      assert.notEqual(interrupted.code, 0);
      const evs = events(interrupted.out);
      assert.ok(
        evs.some((e) => e.type === 'interrupt'),
        'the interrupt is reported',
      );
      assert.ok(evs.filter((e) => e.type === 'wave').length < 3, 'no new steps after the interrupt');
      const resumed = meso('apply', file, '--auto-approve');
      assert.equal(resumed.code, 0, `the lock was released and apply finishes: ${resumed.stderr}`);
      assert.equal(meso('plan', file, '--detailed-exitcode').code, 0);

      // meso killed mid-apply: no force-unlock needed, the next apply converges.
      writeFileSync(file, yaml(3000, 2));
      await new Promise<void>((resolve) => {
        const child = spawn(
          process.execPath,
          [join(ROOT, 'bin/meso.js'), 'apply', file, '--auto-approve', '--json'],
          { env },
        );
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('"type":"wave"')) child.kill('SIGKILL');
        });
        child.on('close', () => resolve());
      });
      // The killed run's lock dies with it: the next apply takes it over, says so, and converges.
      const converged = meso('apply', file, '--auto-approve');
      assert.equal(converged.code, 0, converged.stderr);
      assert.match(
        converged.stdout + converged.stderr,
        /took over the state lock of pid \d+ .*which is no longer running/,
      );
      assert.equal(meso('plan', file, '--detailed-exitcode').code, 0);

      // An agent removed from the spec: its host is retired.
      writeFileSync(file, yaml(3000, 1));
      const removed = meso('apply', file, '--auto-approve');
      assert.equal(removed.code, 0, removed.stderr);
      assert.deepEqual(Object.keys(state().hosts).sort(), ['master-1', 'master-2', 'master-3', 'w-1']);

      // A host presenting another key than the pinned one stops the run.
      const saved = readFileSync(statePath, 'utf8');
      const other = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')], {
        encoding: 'utf8',
      });
      assert.equal(other.status, 0);
      const st = state();
      st.hosts['master-2']!.provider.hostPublicKey = readFileSync(join(dir, 'other.pub'), 'utf8')
        .split(' ')
        .slice(0, 2)
        .join(' ');
      writeFileSync(statePath, JSON.stringify(st));
      const mismatch = meso('plan', file);
      assert.equal(mismatch.code, 1);
      assert.match(
        mismatch.stderr,
        /master-2: host key for 198\.18\.\d+\.\d+ does not match: expected ssh-ed25519 SHA256:\S+ .* presented ssh-ed25519 SHA256:/,
      );
      writeFileSync(statePath, saved);
    } finally {
      const destroyed = meso('destroy', file, '--auto-approve');
      assert.equal(destroyed.code, 0, destroyed.stderr);
    }
    assert.deepEqual(state().hosts, {});
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.equal(netns.includes(name), false, netns);
    assert.equal(readFileSync('/proc/mounts', 'utf8').includes(dir), false);
  });
});
