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
      const spec = (policy: string, agents: string[], missing = 'warn'): string =>
        [
          'apiVersion: meso/v1',
          'kind: Cluster',
          `name: ${cluster}`,
          'provider: static',
          `ssh: { user: root, privateKeyPath: ${key}, hostKeyPolicy: ${policy}, knownHostsPath: ${knownHosts} }`,
          `install: { method: none, missing: ${missing} }`,
          'masters:',
          '  hosts:',
          ...lab.slice(0, 3).map((h) => `    - { name: ${h.name}, address: ${h.address} }`),
          'agents:',
          '  - group: w',
          '    hosts:',
          ...agents.map((n) => `      - { name: ${n}, address: ${lab.find((h) => h.name === n)!.address} }`),
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
