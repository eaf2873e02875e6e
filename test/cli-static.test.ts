import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ensureImage } from '../src/providers/local/image.js';
import { createHosts, destroyHosts } from '../src/providers/local/lab.js';
import type { LabHost } from '../src/providers/local/lab.js';
import { ROOT } from './helpers/cli.js';
import { labSkip, ssh } from './helpers/lab.js';
import { labNames } from '../src/providers/local/net.js';

/**
 * provider: static against existing machines (lab hosts made here, then handed to meso by address):
 * strict known_hosts, accept-new pinning into the state, an agent removed over SSH, destroy.
 */
const dir = mkdtempSync(join(tmpdir(), 'meso-static-'));
const file = join(dir, 'static.yaml');
const cluster = `st${process.pid % 10000}`;

function meso(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/meso.js'), ...args], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const statePath = (): string => join(dir, '.meso', `${cluster}.state.json`);
const hostState = (name: string): unknown =>
  (JSON.parse(readFileSync(statePath(), 'utf8')) as { hosts: Record<string, unknown> }).hosts[name];

/**
 * An agent that does not answer (its link cut on this side of the bridge) is skipped within its
 * group's maxUnreachable while the rest of the plan goes on; over it, or with --strict-hosts, or a
 * master unreachable, the run stops as before. `write(agents, extra)` writes the spec.
 */
function unreachableAgents(lab: LabHost[], write: (agents: string[], extra: string[]) => void): void {
  const veth = (host: string): string => labNames(cluster).veth(host);
  const link = (host: string, state: 'up' | 'down'): void => {
    const r = spawnSync('ip', ['link', 'set', veth(host), state], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const zkChange = ['zookeeper: { settings: { maxClientCnxns: 61 } }'];
  const s4Before = JSON.stringify(hostState('s4'));
  link('s4', 'down');
  try {
    write(['s4'], zkChange);
    const text = meso('plan', file, '--detailed-exitcode');
    assert.equal(text.code, 2, text.stderr);
    assert.match(
      text.stdout,
      /\n! host\/s4: unreachable \(cannot connect to 198\.18\.248\.14:22 after \d+ attempts?: /,
    );
    assert.match(text.stdout, /~ .*\/etc\/zookeeper\/conf\/zoo\.cfg/, 'the masters are still planned');
    assert.match(text.stdout, /Skipped: 1 unreachable host/);

    const json = meso('plan', file, '--json');
    assert.equal(json.code, 0, json.stderr);
    const plan = JSON.parse(json.stdout) as { unreachable: { host: string }[]; changes: { host: string }[] };
    assert.deepEqual(
      plan.unreachable.map((u) => u.host),
      ['s4'],
    );
    assert.ok(!plan.changes.some((c) => c.host === 's4'), 'nothing planned for s4');

    const strict = meso('plan', file, '--strict-hosts');
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /s4: cannot connect to 198\.18\.248\.14:22/);

    // apply goes on with the reachable hosts, leaves s4's state entry as it was and names it at the end.
    const applied = meso('apply', file, '--auto-approve');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout + applied.stderr, /skipped \(unreachable\): s4/);
    assert.equal(JSON.stringify(hostState('s4')), s4Before, "s4's state entry untouched");
    const after = meso('plan', file, '--detailed-exitcode');
    assert.equal(after.code, 2, 'still work left: s4');
    assert.doesNotMatch(after.stdout, /zoo\.cfg/, 'the masters converged');

    // Two of the group's two agents (s4 and a host that never existed): over the budget of 1.
    write(['s4', 'ghost'], zkChange);
    const over = meso('plan', file);
    assert.equal(over.code, 1);
    assert.match(
      over.stderr,
      /2 of 2 agents of group w are unreachable \(ghost, s4\), more than its maxUnreachable allows \(1\)/,
    );
    assert.doesNotMatch(over.stderr, /\n\s+at /, 'no stack trace');
    // The group allows it: both skipped, and the plan says there is work left.
    write(['s4', 'ghost'], ['    maxUnreachable: 100%', ...zkChange]);
    const allowed = meso('plan', file, '--detailed-exitcode');
    assert.equal(allowed.code, 2, allowed.stderr);
    assert.match(allowed.stdout, /! host\/ghost: unreachable \(.*\)\n! host\/s4: unreachable/);
    assert.match(allowed.stdout, /No changes on the hosts that answered/);
  } finally {
    link('s4', 'up');
  }
  // A master is never skipped.
  write(['s4'], zkChange);
  link('s1', 'down');
  try {
    const master = meso('plan', file);
    assert.equal(master.code, 1);
    assert.match(master.stderr, /s1: cannot connect to 198\.18\.248\.11:22/);
  } finally {
    link('s1', 'up');
  }
  const back = meso('apply', file, '--auto-approve');
  assert.equal(back.code, 0, back.stderr);
  assert.equal(meso('plan', file, '--detailed-exitcode').code, 0, 's4 converged once it answered');
}

void describe('provider static on existing hosts', { skip: labSkip(), timeout: 20 * 60_000 }, () => {
  void test('strict known_hosts, accept-new pinning, apply, remove an agent, destroy', async () => {
    const image = await ensureImage();
    const stateDir = join(dir, 'lab');
    let lab: LabHost[] = [];
    try {
      lab = await createHosts({
        cluster,
        subnet: '198.18.248.0/24',
        hosts: ['s1', 's2', 's3', 's4'].map((name, i) => ({ name, address: `198.18.248.${11 + i}` })),
        image: image.rootfs,
        stateDir,
      });
      const key = lab[0]!.sshPrivateKey;
      const knownHosts = join(dir, 'known_hosts');
      const spec = (policy: string, agents: string[], missing = 'warn', extra: string[] = []): string =>
        [
          'apiVersion: meso/v1',
          'kind: Cluster',
          `name: ${cluster}`,
          'provider: static',
          `ssh: { user: root, privateKeyPath: ${key}, hostKeyPolicy: ${policy}, knownHostsPath: ${knownHosts}, connectTimeoutSeconds: 4 }`,
          `install: { method: none, missing: ${missing} }`,
          'masters:',
          '  hosts:',
          ...lab.slice(0, 3).map((h) => `    - { name: ${h.name}, address: ${h.address} }`),
          'agents:',
          '  - group: w',
          '    hosts:',
          ...agents.map(
            (n) =>
              `      - { name: ${n}, address: ${lab.find((h) => h.name === n)?.address ?? '198.18.248.99'} }`,
          ),
          ...extra,
          '',
        ].join('\n');

      // strict with an empty known_hosts: refused, naming the host.
      writeFileSync(knownHosts, '');
      writeFileSync(file, spec('strict', ['s4']));
      const unknown = meso('plan', file);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /s\d: .*(not in|unknown|no entry)/i);

      // strict with the right keys in known_hosts: works.
      writeFileSync(knownHosts, lab.map((h) => `${h.address} ${h.hostPublicKey}`).join('\n') + '\n');
      assert.equal(meso('plan', file, '--detailed-exitcode').code, 2);

      // install.method none on hosts without Mesos (the lab image has none): a clear error by default.
      writeFileSync(file, spec('strict', ['s4'], 'error'));
      const missing = meso('plan', file);
      assert.equal(missing.code, 1, missing.stdout);
      assert.match(missing.stderr, /install\.method none, but mesos-master is not on s1, s2, s3/);
      assert.match(missing.stderr, /; mesos-agent \(or mesos-slave\) is not on s4\n/);
      assert.doesNotMatch(missing.stderr, /zookeeper/i, 'ZooKeeper is on the image');
      assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');

      // accept-new with an empty known_hosts: apply pins every key into the state.
      writeFileSync(knownHosts, '');
      writeFileSync(file, spec('accept-new', ['s4']));
      const applied = meso('apply', file, '--auto-approve');
      assert.equal(applied.code, 0, applied.stderr);
      const state = JSON.parse(readFileSync(join(dir, '.meso', `${cluster}.state.json`), 'utf8')) as {
        hosts: Record<string, { hostKey?: string; files: Record<string, unknown> }>;
      };
      for (const h of lab) assert.equal(state.hosts[h.name]?.hostKey, h.hostPublicKey, `${h.name} pinned`);
      assert.equal(meso('plan', file, '--detailed-exitcode').code, 0);

      unreachableAgents(lab, (agents, extra) =>
        writeFileSync(file, spec('accept-new', agents, 'warn', extra)),
      );
      writeFileSync(file, spec('accept-new', ['s4']));
      assert.equal(meso('apply', file, '--auto-approve').code, 0, 'back to the spec of before');

      // The agent removed from the spec: its units are disabled and meso's files removed over SSH.
      const known = join(dir, 'pinned_hosts');
      writeFileSync(known, lab.map((h) => `${h.address} ${h.hostPublicKey}`).join('\n') + '\n');
      const s4 = lab.find((h) => h.name === 's4')!;
      assert.equal(ssh(s4, known, ['test', '-e', '/etc/mesos-slave/ip']).status, 0);
      writeFileSync(file, spec('accept-new', []).replace('agents:\n  - group: w\n    hosts:\n', ''));
      const removed = meso('apply', file, '--auto-approve');
      assert.equal(removed.code, 0, removed.stderr);
      assert.notEqual(ssh(s4, known, ['test', '-e', '/etc/mesos-slave/ip']).status, 0, 'files removed');
      assert.equal(
        ssh(s4, known, ['systemctl', 'is-enabled', 'mesos-agent.service']).stdout.trim() === 'enabled',
        false,
      );

      // destroy: nothing meso wrote is left on the masters; the data directory stays.
      const destroyed = meso('destroy', file, '--auto-approve');
      assert.equal(destroyed.code, 0, destroyed.stderr);
      const s1 = lab[0]!;
      for (const path of [
        '/etc/mesos/zk',
        '/etc/zookeeper/conf/zoo.cfg',
        '/etc/systemd/system/zookeeper.service',
        '/usr/local/lib/meso/mesos-run',
      ]) {
        assert.notEqual(ssh(s1, known, ['test', '-e', path]).status, 0, `${path} left behind`);
      }
      assert.equal(
        ssh(s1, known, ['test', '-d', '/var/lib/zookeeper']).status,
        0,
        'data kept without --purge-data',
      );
      assert.notEqual(
        ssh(s1, known, ['systemctl', 'is-active', 'zookeeper.service']).stdout.trim(),
        'active',
      );
    } finally {
      await destroyHosts({ cluster, stateDir });
    }
  });
});
