import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureImage, imageKey, DEFAULT_PACKAGES } from '../src/providers/local/image.js';
import { createHosts, destroyHosts, hostStatus, type LabHost } from '../src/providers/local/lab.js';
import { checkHostAddress, labNames, parseSubnet } from '../src/providers/local/net.js';
import { isMesoError } from '../src/util/errors.js';
import { labSkip, leftovers, ssh } from './helpers/lab.js';

// ---- pure rules: run everywhere ----

void test('lab subnets must lie in 198.18.0.0/15; the bridge takes the first address', () => {
  assert.equal(parseSubnet('198.18.250.0/24').gateway, '198.18.250.1');
  assert.equal(parseSubnet('198.19.0.0/16').gateway, '198.19.0.1');
  for (const bad of [
    '10.0.0.0/24',
    '198.17.255.0/24',
    '198.20.0.0/24',
    '198.18.250.5/24',
    '198.18.0.0/14',
    'x/24',
  ]) {
    assert.throws(
      () => parseSubnet(bad),
      (e) => isMesoError(e, 'LabAddressInvalid'),
      bad,
    );
  }
  const s = parseSubnet('198.18.250.0/24');
  checkHostAddress(s, 'h', '198.18.250.11');
  for (const bad of ['198.18.250.0', '198.18.250.1', '198.18.250.255', '198.18.251.2', '8.8.8.8']) {
    assert.throws(
      () => checkHostAddress(s, 'h', bad),
      (e) => isMesoError(e, 'LabAddressInvalid'),
      bad,
    );
  }
});

void test('lab interface names fit in 15 characters and differ per cluster and host', () => {
  const a = labNames('a-rather-long-cluster-name-that-goes-on');
  const b = labNames('another');
  for (const n of [a.bridge, a.veth('master-1'), a.vethPeer('master-1'), b.bridge])
    assert.ok(n.length <= 15, n);
  assert.notEqual(a.bridge, b.bridge);
  assert.notEqual(a.veth('h1'), a.veth('h2'));
  assert.notEqual(a.veth('h1'), b.veth('h1'));
});

void test('the image key depends on the package set, not its order', () => {
  assert.equal(imageKey(['a', 'b']), imageKey(['b', 'a', 'a']));
  assert.notEqual(imageKey(DEFAULT_PACKAGES), imageKey([...DEFAULT_PACKAGES, 'vim']));
  assert.match(imageKey(DEFAULT_PACKAGES), /^[0-9a-f]{64}$/);
});

// ---- real hosts: root, Linux, mmdebstrap, systemd-nspawn, ssh (never skipped under CI=true) ----

const SUBNET = '198.18.250.0/24';

void test(
  'local lab: 2 Debian hosts boot, talk over SSH with pinned keys, and leave nothing behind',
  {
    skip: labSkip(),
    timeout: 15 * 60_000,
  },
  async (t) => {
    let t0 = Date.now();
    const image = await ensureImage({ onEvent: (m) => t.diagnostic(m) });
    t.diagnostic(
      `image ${image.key.slice(0, 12)} ${image.built ? 'built' : 'cached'}: ${Date.now() - t0} ms (build took ${image.buildMs} ms)`,
    );

    const cluster = `lab-${process.pid}-${Date.now().toString(36)}`;
    const work = mkdtempSync(join(tmpdir(), 'meso-lab-'));
    const stateDir = join(work, 'state');
    let hosts: LabHost[] = [];
    let destroyed = false;
    try {
      t0 = Date.now();
      // On failure the outer finally destroys whatever was created (destroyHosts finds it on the machine).
      hosts = await createHosts({
        cluster,
        subnet: SUBNET,
        image: image.rootfs,
        stateDir,
        hosts: [
          { name: 'h1', address: '198.18.250.11' },
          { name: 'h2', address: '198.18.250.12' },
        ],
        onEvent: (m) => t.diagnostic(m),
        bootTimeoutMs: 120_000,
      });
      t.diagnostic(`2 hosts booted until sshd answers: ${Date.now() - t0} ms`);
      const [h1, h2] = hosts;
      assert.ok(h1 !== undefined && h2 !== undefined);
      assert.match(h1.hostPublicKey, /^ssh-ed25519 [A-Za-z0-9+/=]+$/);
      assert.notEqual(h1.hostPublicKey, h2.hostPublicKey, 'each host has its own host key');

      // known_hosts holding ONLY the pinned keys.
      const knownHosts = join(work, 'known_hosts');
      writeFileSync(knownHosts, hosts.map((h) => `${h.address} ${h.hostPublicKey}\n`).join(''));

      await t.test('systemd is up on every host', () => {
        for (const h of hosts) {
          const r = ssh(h, knownHosts, ['systemctl', 'is-system-running', '--wait']);
          const state = r.stdout.trim();
          assert.ok(state === 'running' || state === 'degraded', `${h.name}: ${state} ${r.stderr}`);
          t.diagnostic(`${h.name}: systemctl is-system-running: ${state}`);
          if (state === 'degraded')
            t.diagnostic(ssh(h, knownHosts, ['systemctl', '--failed', '--no-legend']).stdout);
        }
      });

      await t.test('host 1 reaches host 2 over the bridge', () => {
        const py =
          'import socket,sys; socket.create_connection((sys.argv[1], 22), timeout=5).close(); print("ok")';
        const r = ssh(h1, knownHosts, ['python3', '-c', py, h2.address]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), 'ok');
        assert.equal(ssh(h1, knownHosts, ['hostname']).stdout.trim(), 'h1');
      });

      await t.test('ZooKeeper is baked into the image', () => {
        const r = ssh(h2, knownHosts, ['test', '-x', '/usr/share/zookeeper/bin/zkServer.sh']);
        assert.equal(r.status, 0, r.stderr);
      });

      await t.test('a wrong pinned host key makes ssh refuse', () => {
        // h2's key pinned for h1's address.
        const wrong = join(work, 'known_hosts.wrong');
        writeFileSync(wrong, `${h1.address} ${h2.hostPublicKey}\n`);
        const r = ssh(h1, wrong, ['true']);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /Host key verification failed/);
      });

      await t.test('another cluster cannot take the same subnet', async () => {
        const other = `${cluster}-other`;
        const otherDir = join(work, 'other');
        await assert.rejects(
          createHosts({
            cluster: other,
            subnet: SUBNET,
            image: image.rootfs,
            stateDir: otherDir,
            hosts: [{ name: 'h9', address: '198.18.250.19' }],
          }),
          (e) => isMesoError(e, 'LabAddressInvalid') && /overlaps/.test(e.message),
        );
        assert.deepEqual(leftovers(other, otherDir, []), []);
        assert.equal(existsSync(otherDir), false);
      });

      await t.test('a host whose sshd does not answer in time fails naming it and its log', async () => {
        const other = `${cluster}-slow`;
        const otherDir = join(work, 'slow');
        try {
          await assert.rejects(
            createHosts({
              cluster: other,
              subnet: '198.18.249.0/24',
              image: image.rootfs,
              stateDir: otherDir,
              hosts: [{ name: 'slow', address: '198.18.249.10' }],
              bootTimeoutMs: 1, // no host boots in 1 ms
            }),
            (e) =>
              isMesoError(e, 'LabBootFailed') &&
              e.message.includes('host slow') &&
              e.message.includes(join(otherDir, 'hosts', 'slow', 'console.log')),
          );
        } finally {
          await destroyHosts({ cluster: other, stateDir: otherDir });
        }
        assert.deepEqual(leftovers(other, otherDir, []), []);
      });

      await t.test('hostStatus sees both hosts running', async () => {
        const st = await hostStatus({ cluster, stateDir });
        assert.deepEqual(
          st.map((s) => [s.name, s.state, s.sshReady]),
          [
            ['h1', 'running', true],
            ['h2', 'running', true],
          ],
        );
      });

      t0 = Date.now();
      await destroyHosts({ cluster, stateDir, onEvent: (m) => t.diagnostic(m) });
      t.diagnostic(`2 hosts destroyed: ${Date.now() - t0} ms`);
      destroyed = true;
      assert.deepEqual(leftovers(cluster, stateDir, hosts), []);
      // Idempotent: a second call finds nothing and succeeds.
      await destroyHosts({ cluster, stateDir });
      assert.deepEqual(await hostStatus({ cluster, stateDir }), []);
    } finally {
      if (!destroyed) {
        // Show why before the evidence goes: the tail of each host's console log.
        for (const name of existsSync(join(stateDir, 'hosts')) ? readdirSync(join(stateDir, 'hosts')) : []) {
          const log = join(stateDir, 'hosts', name, 'console.log');
          if (existsSync(log)) t.diagnostic(`${name} console:\n${readFileSync(log, 'utf8').slice(-4000)}`);
        }
        // The test already failed; a cleanup error must not hide why.
        await destroyHosts({ cluster, stateDir }).catch((e: unknown) =>
          t.diagnostic(`cleanup failed: ${String(e)}`),
        );
      }
      rmSync(work, { recursive: true, force: true });
    }
  },
);
