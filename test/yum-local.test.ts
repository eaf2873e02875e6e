import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_PACKAGES, ensureImage } from '../src/providers/local/image.js';
import { createHosts, destroyHosts } from '../src/providers/local/lab.js';
import type { LabHost } from '../src/providers/local/lab.js';
import { serveDirectory } from './helpers/apt-repo.js';
import { spawnMesoAsync } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { labSkip, leftovers, sshScript } from './helpers/lab.js';
import { standin } from './helpers/standins.js';
import { buildYumRepo, yumRepoToolsMissing } from './helpers/yum-repo.js';
import type { FakeRpm, YumRepo } from './helpers/yum-repo.js';

/**
 * install.method yum on real hosts, through the real executable: lab hosts (Debian with dnf, rpm and
 * dnf's versionlock plugin) handed to meso as provider static, a yum repository of signed fake RPMs
 * served on the lab bridge, then install, versionlock, status, no changes, upgrade, destroy.
 *
 * The RPMs carry the stand-ins of test/fixtures/standins (see install-local.test.ts): what meso
 * does around them (repository file, key, gpgcheck, dnf, versionlock, units, order) is real.
 */

/** The image: the lab's packages, and dnf with its plugins (versionlock among them). */
const YUM_IMAGE_PACKAGES: readonly string[] = [...DEFAULT_PACKAGES, 'dnf', 'rpm', 'dnf-plugins-core'];

/**
 * Set on every host before meso runs. Debian's dnf-plugins-core enables its `local` plugin, which adds
 * a repository `_dnf_local` (file:///var/lib/dnf/plugins/local) with gpgcheck on and no key: every
 * `dnf install` then fails ("you do not have any GPG public keys installed ... Problem repository:
 * [_dnf_local]"). Fedora and EL ship that plugin separately and do not install it by default.
 */
const DNF_LOCAL_PLUGIN_OFF = "printf '[main]\\nenabled = false\\n' > /etc/dnf/plugins/local.conf";

const dir = mkdtempSync(join(tmpdir(), 'meso-yum-local-'));
const file = join(dir, 'cluster.yaml');
const stateDir = join(dir, 'lab');
const knownHosts = join(dir, 'known_hosts');
const pinned = join(dir, 'pinned_hosts');
const cluster = `yum${process.pid % 10000}`;
const subnet = '198.18.246';

/** The real executable, asynchronously: the repository is served from this process meanwhile. */
const meso = (...args: string[]): Promise<CliResult> => spawnMesoAsync(args);

/** A shell command on a lab host as root, trusting only its pinned key. */
const onHost = (host: LabHost, script: string): Promise<CliResult> => sshScript(host, pinned, script);

const mesosRpm = (version: string): FakeRpm => ({
  name: 'mesos',
  version,
  files: {
    '/usr/sbin/mesos-master': { content: standin('mesos-master', version), mode: 0o755 },
    '/usr/sbin/mesos-agent': { content: standin('mesos-agent', version), mode: 0o755 },
  },
});

const RPMS: FakeRpm[] = [
  mesosRpm('1.11.0-1'),
  mesosRpm('1.11.1-1'),
  {
    name: 'marathon',
    version: '1.11.24-1',
    files: { '/usr/share/marathon/bin/marathon': { content: standin('marathon', '1.11.24'), mode: 0o755 } },
  },
];

function skip(): string | false {
  const lab = labSkip();
  if (lab !== false) return lab;
  // Under CI=true nothing skips: buildYumRepo names the missing tools and the test fails.
  if (process.env['CI'] === 'true') return false;
  const missing = yumRepoToolsMissing();
  return missing.length > 0 ? `missing ${missing.join(', ')} (apt-get install -y rpm createrepo-c)` : false;
}

void describe('install.method yum on lab hosts', { skip: skip(), timeout: 20 * 60_000 }, () => {
  void test('yum: repository, signed install, versionlock, status, upgrade, destroy', async () => {
    let lab: LabHost[] = [];
    let repo: YumRepo | undefined;
    let server: { url: string; close: () => Promise<void> } | undefined;
    let applied = false;
    let passed = false;
    try {
      const image = await ensureImage({ packages: YUM_IMAGE_PACKAGES });
      lab = await createHosts({
        cluster,
        subnet: `${subnet}.0/24`,
        hosts: [
          { name: 'master-1', address: `${subnet}.11` },
          { name: 'w-1', address: `${subnet}.21` },
        ],
        image: image.rootfs,
        stateDir,
      });
      const [master, agent] = lab as [LabHost, LabHost];
      writeFileSync(pinned, lab.map((h) => `${h.address} ${h.hostPublicKey}`).join('\n') + '\n');
      writeFileSync(knownHosts, '');
      for (const h of lab) {
        const setup = await onHost(h, DNF_LOCAL_PLUGIN_OFF);
        assert.equal(setup.code, 0, `${h.name}: ${setup.stderr}`);
      }

      repo = await buildYumRepo(RPMS);
      server = await serveDirectory(repo.dir, `${subnet}.1`);
      const repository = `repository: { baseurl: "${server.url}", key: ${repo.publicKeyPath} }`;
      const spec = (mesosVersion: string): string =>
        [
          'apiVersion: meso/v1',
          'kind: Cluster',
          `name: ${cluster}`,
          'provider: static',
          `ssh: { user: root, privateKeyPath: ${master.sshPrivateKey}, hostKeyPolicy: accept-new, knownHostsPath: ${knownHosts} }`,
          'install:',
          '  method: yum',
          `  ${repository}`,
          '  packages: { mesos: mesos, marathon: marathon }',
          `  versions: { mesos: ${mesosVersion} }`,
          'masters:',
          '  hosts:',
          `    - { name: master-1, address: ${master.address} }`,
          'marathon: { enabled: true }',
          'agents:',
          '  - group: w',
          '    resources: "cpus:1;mem:512"',
          '    hosts:',
          `      - { name: w-1, address: ${agent.address} }`,
          '',
        ].join('\n');

      // The plan: the repository, its key, and the packages, mesos pinned and held.
      writeFileSync(file, spec('1.11.0-1'));
      const planned = await meso('plan', file, '--json');
      assert.equal(planned.code, 0, planned.stderr);
      const changes = (JSON.parse(planned.stdout) as { changes: Record<string, unknown>[] }).changes;
      const pkg = (host: string, n: string): Record<string, unknown> | undefined =>
        changes.find((c) => c['address'] === `host/${host}/package:${n}`);
      assert.deepEqual(
        ['master-1', 'w-1'].map((h) => [
          pkg(h, 'mesos')?.['manager'],
          pkg(h, 'mesos')?.['version'],
          pkg(h, 'mesos')?.['hold'],
        ]),
        [
          ['yum', '1.11.0-1', true],
          ['yum', '1.11.0-1', true],
        ],
      );
      assert.deepEqual(
        [
          pkg('master-1', 'marathon')?.['manager'],
          pkg('master-1', 'marathon')?.['version'],
          pkg('master-1', 'marathon')?.['hold'],
        ],
        ['yum', null, false],
        'marathon is not pinned',
      );
      assert.equal(pkg('w-1', 'marathon'), undefined, 'Marathon runs on the masters only');
      assert.equal(pkg('master-1', 'zookeeper'), undefined, 'ZooKeeper is on the image, not in the repo');
      for (const path of ['/etc/yum.repos.d/meso.repo', '/etc/pki/rpm-gpg/RPM-GPG-KEY-meso'])
        for (const h of ['master-1', 'w-1'])
          assert.ok(
            changes.some((c) => c['address'] === `host/${h}/file:${path}`),
            `${h}: ${path}`,
          );

      const first = await meso('apply', file, '--auto-approve');
      applied = true;
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stderr, /master-1: installing mesos, marathon/);
      assert.doesNotMatch(first.stderr, /no versionlock plugin/, 'the image has the versionlock plugin');
      assert.doesNotMatch(first.stderr, /not waiting for mesos/, 'meso waits for what it installed');
      const repoFile = await onHost(agent, 'cat /etc/yum.repos.d/meso.repo');
      assert.match(repoFile.stdout, /^baseurl=http:\/\/198\.18\.246\.1:\d+\/$/m);
      assert.match(repoFile.stdout, /^gpgcheck=1$/m);
      assert.match(repoFile.stdout, /^gpgkey=file:\/\/\/etc\/pki\/rpm-gpg\/RPM-GPG-KEY-meso$/m);
      for (const h of lab) {
        const q = await onHost(
          h,
          'rpm -q mesos; dnf -q versionlock list; rpm -q gpg-pubkey --qf "%{SUMMARY}\\n"',
        );
        const lines = q.stdout.split('\n');
        assert.equal(lines[0], 'mesos-1.11.0-1.noarch', `${h.name}: ${q.stdout}${q.stderr}`);
        assert.ok(lines.includes('mesos-0:1.11.0-1.*'), `${h.name}: versionlock list: ${q.stdout}`);
        // dnf imported the repository's key into rpm's database: it checked the signatures with it.
        assert.ok(
          lines.some((l) => l.includes('meso test rpms')),
          `${h.name}: the repository key is not in rpm's database: ${q.stdout}`,
        );
      }
      const marathon = await onHost(master, 'rpm -q marathon');
      assert.equal(marathon.stdout.trim(), 'marathon-1.11.24-1.noarch');
      assert.notEqual((await onHost(agent, 'rpm -q marathon')).code, 0, 'no marathon on the agent');

      const status = await meso('status', file, '--json');
      assert.equal(status.code, 0, status.stdout + status.stderr);
      const s = JSON.parse(status.stdout) as {
        healthy: boolean;
        masters: { installed: string[]; leader: string; agents_registered: number };
        marathon: { ping: Record<string, boolean> };
      };
      assert.deepEqual(
        [s.healthy, s.masters.installed, s.masters.leader, s.masters.agents_registered],
        [true, ['master-1'], 'master-1', 1],
        status.stdout,
      );
      assert.deepEqual(s.marathon.ping, { 'master-1': true });
      const again = await meso('plan', file, '--detailed-exitcode');
      assert.equal(again.code, 0, again.stdout + again.stderr);

      // An upgrade: the pinned version changes, the lock moves with it, what runs Mesos restarts.
      writeFileSync(file, spec('1.11.1-1'));
      const upgrade = await meso('plan', file);
      assert.equal(upgrade.code, 0, upgrade.stderr);
      assert.match(upgrade.stdout, /~ package mesos 1\.11\.0-1 -> 1\.11\.1-1 \(yum, held\): change version/);
      assert.match(upgrade.stdout, /↻ service mesos-master\.service/);
      assert.match(upgrade.stdout, /↻ service mesos-agent\.service/);
      const upgraded = await meso('apply', file, '--auto-approve');
      assert.equal(upgraded.code, 0, upgraded.stdout + upgraded.stderr);
      for (const h of lab) {
        const q = await onHost(h, 'rpm -q mesos; dnf -q versionlock list');
        const lines = q.stdout.split('\n');
        assert.equal(lines[0], 'mesos-1.11.1-1.noarch', `${h.name}: ${q.stdout}${q.stderr}`);
        assert.ok(lines.includes('mesos-0:1.11.1-1.*'), `${h.name}: versionlock list: ${q.stdout}`);
        assert.ok(!lines.includes('mesos-0:1.11.0-1.*'), `${h.name}: the old lock is left: ${q.stdout}`);
      }
      const version = await onHost(master, `curl -sf http://${master.address}:5050/meso/version`);
      assert.equal(version.code, 0, version.stderr);
      assert.equal((JSON.parse(version.stdout) as { version: string }).version, '1.11.1-1');
      const settled = await meso('plan', file, '--detailed-exitcode');
      assert.equal(settled.code, 0, settled.stdout + settled.stderr);

      // destroy (provider static): meso's files go, the hosts stay.
      const destroyed = await meso('destroy', file, '--auto-approve');
      applied = false;
      assert.equal(destroyed.code, 0, destroyed.stdout + destroyed.stderr);
      for (const path of [
        '/etc/mesos/zk',
        '/etc/yum.repos.d/meso.repo',
        '/etc/pki/rpm-gpg/RPM-GPG-KEY-meso',
      ]) {
        assert.notEqual((await onHost(master, `test -e ${path}`)).code, 0, `${path} left behind`);
      }
      assert.notEqual(
        (await onHost(master, 'systemctl is-active mesos-master.service')).stdout.trim(),
        'active',
      );
      passed = true;
    } finally {
      await server?.close();
      if (applied) {
        const destroyed = await meso('destroy', file, '--auto-approve');
        if (destroyed.code !== 0) process.stderr.write(`destroy failed too: ${destroyed.stderr}\n`);
      }
      await destroyHosts({ cluster, stateDir });
      const left = leftovers(cluster, stateDir, lab);
      if (repo !== undefined) rmSync(repo.dir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
      // Leftovers fail the test, without hiding why it failed before.
      if (passed) assert.deepEqual(left, [], 'lab leftovers');
      else if (left.length > 0) process.stderr.write(`lab leftovers: ${left.join(', ')}\n`);
    }
  });
});
