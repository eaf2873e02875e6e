import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnMeso } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { freeSubnet, labSkip, onLabHost } from './helpers/lab.js';

/**
 * `--target` on real local hosts (3 masters with ZooKeeper, 2 agents): a change every host would
 * get is applied to one host of five while the other four keep their old file; a ZooKeeper change
 * targeted at one member restarts that member alone; a saved targeted plan is applied as saved.
 */
const dir = mkdtempSync(join(tmpdir(), 'meso-cli-target-'));
const file = join(dir, 'lab.yaml');
const name = `tgt${process.pid % 10000}`;
const SUBNET = freeSubnet([234, 235]);
const env = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts') };
const HOSTS = ['master-1', 'master-2', 'master-3', 'w-1', 'w-2'];
const yaml = (o: { logging?: string; tickTime?: number } = {}): string =>
  [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    `local: { subnet: "${SUBNET}" }`,
    'install: { method: none }',
    `zookeeper: { tickTime: ${o.tickTime ?? 2000} }`,
    `masters: { count: 3${o.logging === undefined ? '' : `, flags: { logging_level: ${o.logging} }`} }`,
    `agents: [{ group: w, count: 2${o.logging === undefined ? '' : `, flags: { logging_level: ${o.logging} }`} }]`,
    '',
  ].join('\n');

const meso = (...args: string[]): CliResult => spawnMeso(args, { env, timeoutMs: 600_000 });
const statePath = join(dir, '.meso', `${name}.state.json`);

/** What a script prints on every host, by host. */
async function everywhere(script: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of HOSTS) {
    const r = await onLabHost(statePath, h, script);
    assert.equal(r.code, 0, r.stderr);
    out[h] = r.stdout.trim();
  }
  return out;
}
/** When ZooKeeper last started on a host (systemd's monotonic start stamp). */
async function zkStarted(host: string): Promise<string> {
  const r = await onLabHost(
    statePath,
    host,
    'systemctl show -p ActiveEnterTimestampMonotonic zookeeper.service',
  );
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

void describe('meso plan/apply --target on local hosts', { skip: labSkip(), timeout: 20 * 60_000 }, () => {
  void test('one host of five changes; one ZooKeeper member restarts; a saved targeted plan', async () => {
    try {
      writeFileSync(file, yaml());
      const first = meso('apply', file, '--auto-approve');
      assert.equal(first.code, 0, first.stderr);
      const LEVEL =
        'for f in /etc/mesos-master/logging_level /etc/mesos-slave/logging_level; do [ -f $f ] && cat $f; done; true';
      const levelBefore = await everywhere(LEVEL);
      assert.ok(
        Object.values(levelBefore).every((v) => v === ''),
        JSON.stringify(levelBefore),
      );

      // A logging level for the masters and the agents: a new flag file on all five hosts.
      writeFileSync(file, yaml({ logging: 'WARNING' }));
      const full = meso('plan', file, '--json');
      assert.equal(full.code, 0, full.stderr);
      const fullPlan = JSON.parse(full.stdout) as { partial: boolean; changes: { address: string }[] };
      assert.equal(fullPlan.partial, false);
      assert.deepEqual(
        HOSTS.filter((h) => fullPlan.changes.some((c) => c.address.startsWith(`host/${h}/file:/etc/mesos-`))),
        HOSTS,
      );

      const partial = meso('plan', file, '--target', 'host/w-1', '--detailed-exitcode');
      assert.equal(partial.code, 2, partial.stdout + partial.stderr);
      assert.match(partial.stdout, /Partial plan \(--target host\/w-1\)/);
      assert.doesNotMatch(partial.stdout, /^# (master-|w-2)/m);
      assert.match(partial.stdout, /^ {2}3\. mesos-agent +on w-1, w-2/m);
      assert.doesNotMatch(partial.stdout, /^ +1\. zookeeper/m);

      const applied = meso('apply', file, '--target', 'host/w-1', '--auto-approve');
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(
        applied.stderr,
        /applied: 1 created, 0 updated, 0 deleted, 1 restarted; partial \(--target host\/w-1\)/,
      );
      const after = await everywhere(LEVEL);
      assert.equal(after['w-1'], 'WARNING');
      for (const h of HOSTS.filter((x) => x !== 'w-1')) assert.equal(after[h], '', `${h} kept no level file`);
      // What was left is still planned: the four other hosts, not w-1.
      const rest = JSON.parse(meso('plan', file, '--json').stdout) as { changes: { host: string }[] };
      assert.deepEqual(
        [...new Set(rest.changes.map((c) => c.host))].sort(),
        HOSTS.filter((h) => h !== 'w-1'),
      );

      // Back to no level on w-1 alone: nothing else was ever touched, so the plan is empty.
      writeFileSync(file, yaml());
      assert.equal(meso('apply', file, '--target', 'host/w-1', '--auto-approve').code, 0);
      const empty = meso('plan', file, '--detailed-exitcode');
      assert.equal(empty.code, 0, empty.stdout);

      // A ZooKeeper change targeted at one member: its zoo.cfg and its restart, no one else's.
      const started: Record<string, string> = {};
      for (const h of HOSTS.slice(0, 3)) started[h] = await zkStarted(h);
      writeFileSync(file, yaml({ tickTime: 2500 }));
      const saved = join(dir, 'target.json');
      const out = meso(
        'plan',
        file,
        '--target',
        'host/master-2/file:/etc/zookeeper/conf/zoo.cfg',
        '--out',
        saved,
      );
      assert.equal(out.code, 0, out.stderr);
      const savedPlan = JSON.parse(readFileSync(saved, 'utf8')) as {
        partial: boolean;
        targets: string[];
        changes: { address: string }[];
      };
      assert.equal(savedPlan.partial, true);
      assert.deepEqual(
        savedPlan.changes.map((c) => c.address),
        ['host/master-2/file:/etc/zookeeper/conf/zoo.cfg', 'host/master-2/service:zookeeper'],
      );
      const both = meso('apply', saved, '--target', 'host/master-1');
      assert.equal(both.code, 1);
      assert.match(both.stderr, /--target goes with a cluster file, not with a saved plan/);
      const fromSaved = meso('apply', saved);
      assert.equal(fromSaved.code, 0, fromSaved.stderr);
      assert.match(fromSaved.stderr, /ZooKeeper: leader: master-\d; followers/);
      const cfg = await everywhere('cat /etc/zookeeper/conf/zoo.cfg 2>/dev/null; true');
      assert.match(cfg['master-2']!, /^tickTime=2500$/m);
      assert.match(cfg['master-1']!, /^tickTime=2000$/m);
      assert.match(cfg['master-3']!, /^tickTime=2000$/m);
      assert.notEqual(await zkStarted('master-2'), started['master-2']);
      assert.equal(await zkStarted('master-1'), started['master-1']);
      assert.equal(await zkStarted('master-3'), started['master-3']);

      const typo = meso('plan', file, '--target', 'host/master-9');
      assert.equal(typo.code, 1);
      assert.match(typo.stderr, /--target: host\/master-9: the cluster has no host master-9/);
      assert.doesNotMatch(typo.stderr, /at .*\.js:\d+/);

      const rest2 = meso('apply', file, '--auto-approve');
      assert.equal(rest2.code, 0, rest2.stderr);
      assert.equal(meso('plan', file, '--detailed-exitcode').code, 0);
    } finally {
      const destroyed = meso('destroy', file, '--auto-approve');
      assert.equal(destroyed.code, 0, destroyed.stderr);
    }
  });
});
