import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildAptRepo, serveDirectory } from './helpers/apt-repo.js';
import type { AptRepo, FakePackage } from './helpers/apt-repo.js';
import { spawnMesoAsync } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { labRecordIn, labSkip, onLabHost, shq } from './helpers/lab.js';
import type { LabRecord } from './helpers/lab.js';
import { standin } from './helpers/standins.js';

/**
 * The install methods on real local hosts, through the real executable: apt from a signed
 * repository served on the lab bridge (install, hold, upgrade), an agent whose resources change
 * (the recovery reset), secrets (never in output, state, `ps` or the journal), an archive
 * (uploaded once, unpacked under /opt/mesos, run with its library path), docker refused where
 * there is no engine.
 *
 * Mesos and Marathon cannot be installed here, so the repository's `mesos` and `marathon`
 * packages carry stand-ins (test/fixtures/standins): a master that answers /metrics/snapshot and
 * counts registered agents, an agent that refuses to recover changed resources as Mesos does, a
 * Marathon that answers /ping. What meso does around them (repository, packages, holds, units,
 * order, gates) is real.
 */
const dir = mkdtempSync(join(tmpdir(), 'meso-install-local-'));
chmodSync(dir, 0o755);
const file = join(dir, 'cluster.yaml');
const name = `ins${process.pid % 10000}`;
const subnet = '198.18.247';
const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
const env = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts'), MESO_TEST_SECRET: secret };

/** The real executable, asynchronously: the repository is served from this process meanwhile. */
const meso = (...args: string[]): Promise<CliResult> => spawnMesoAsync(args, { env });

const statePath = join(dir, '.meso', `${name}.state.json`);
const record = (host: string): LabRecord => labRecordIn(statePath, host);

/** A shell script on a lab host as root, with the host's pinned key. */
const onHost = (host: string, script: string): Promise<CliResult> =>
  onLabHost(statePath, host, script, { timeoutMs: 60_000 });

function mesosPackage(version: string): FakePackage {
  return {
    name: 'mesos',
    version,
    files: {
      '/usr/sbin/mesos-master': { content: standin('mesos-master', version), mode: 0o755 },
      '/usr/sbin/mesos-agent': { content: standin('mesos-agent', version), mode: 0o755 },
      // As the Mesos packages do: their own agent unit, enabled on every host that installs them.
      '/lib/systemd/system/mesos-slave.service': {
        content:
          '[Unit]\nDescription=package agent\n[Service]\nExecStart=/usr/sbin/mesos-agent\n[Install]\nWantedBy=multi-user.target\n',
      },
    },
    postinst: 'systemctl enable mesos-slave.service >/dev/null 2>&1 || true',
  };
}

const PACKAGES: FakePackage[] = [
  mesosPackage('1.11.0-1'),
  mesosPackage('1.11.1-1'),
  {
    name: 'marathon',
    version: '1.11.24-1',
    files: { '/usr/share/marathon/bin/marathon': { content: standin('marathon', '1.11.24'), mode: 0o755 } },
  },
  {
    name: 'libmeso-runtime',
    version: '1.0-1',
    files: { '/usr/share/doc/libmeso-runtime/README': { content: 'a runtime library stand-in\n' } },
  },
];

function spec(
  install: string[],
  opts: { resources?: string; security?: string[]; drain?: string } = {},
): string {
  return [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    `local: { subnet: "${subnet}.0/24" }`,
    'install:',
    ...install.map((l) => `  ${l}`),
    'masters: { count: 1 }',
    'marathon: { enabled: true }',
    `agents: [{ group: w, count: 1, attributes: { rack: r1 }, resources: "${opts.resources ?? 'cpus:1;mem:512'}"${opts.drain === undefined ? '' : `, drain: ${opts.drain}`} }]`,
    ...(opts.security ?? []),
    '',
  ].join('\n');
}

void describe('install methods on local hosts', { skip: labSkip(), timeout: 25 * 60_000 }, () => {
  void test('apt (install, hold, upgrade), agent reset, secrets, archive, docker refused', async () => {
    let repo: AptRepo | undefined;
    let server: { url: string; close: () => Promise<void> } | undefined;
    let passed = false;
    try {
      // The hosts first (and with them the bridge the repository is served on).
      writeFileSync(file, spec(['method: none']));
      const created = await meso('apply', file, '--auto-approve');
      assert.equal(created.code, 0, created.stderr);
      assert.match(
        created.stderr,
        /install\.method none: mesos-master is not on master-1; its unit is left to systemd/,
      );

      repo = await buildAptRepo(PACKAGES);
      server = await serveDirectory(repo.dir, `${subnet}.1`);
      const repository = `repository: { url: "${server.url}", suite: ${repo.suite}, components: [main], key: ${repo.publicKeyPath} }`;

      // apt: the repository, the key, the pins, the packages, as changes.
      writeFileSync(file, spec(['method: apt', repository, 'versions: { mesos: 1.11.0-1 }']));
      const planned = await meso('plan', file, '--json');
      assert.equal(planned.code, 0, planned.stderr);
      const changes = (JSON.parse(planned.stdout) as { changes: Record<string, unknown>[] }).changes;
      const pkg = (host: string, n: string): Record<string, unknown> | undefined =>
        changes.find((c) => c['address'] === `host/${host}/package:${n}`);
      assert.deepEqual(
        [
          pkg('master-1', 'mesos')?.['version'],
          pkg('master-1', 'mesos')?.['hold'],
          pkg('w-1', 'mesos')?.['version'],
        ],
        ['1.11.0-1', true, '1.11.0-1'],
      );
      assert.equal(pkg('master-1', 'marathon')?.['version'], null, 'marathon is not pinned');
      assert.equal(pkg('w-1', 'marathon'), undefined, 'Marathon runs on the masters only');
      assert.equal(pkg('master-1', 'zookeeper'), undefined, 'ZooKeeper is on the image already, unpinned');
      for (const path of [
        '/etc/apt/sources.list.d/meso.sources',
        '/etc/apt/keyrings/meso.asc',
        '/etc/apt/preferences.d/meso',
      ])
        assert.ok(
          changes.some((c) => c['address'] === `host/w-1/file:${path}`),
          path,
        );

      const applied = await meso('apply', file, '--auto-approve');
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(applied.stderr, /master-1: installing mesos, marathon/);
      // The hosts reach only this repository: the full update fails and meso says how it went on.
      assert.match(
        applied.stderr,
        /master-1: apt-get update (failed for some sources \(.+\); using meso's repository alone|could not fetch every source \(W: .+\))/,
      );
      assert.doesNotMatch(applied.stderr, /not waiting for mesos/, 'meso waits for what it installed');
      for (const host of ['master-1', 'w-1']) {
        const q = await onHost(
          host,
          "dpkg-query -W -f='${Version} ${Status}' mesos; echo; systemctl is-enabled mesos-slave.service || true",
        );
        assert.equal(q.stdout.split('\n')[0], '1.11.0-1 hold ok installed', host);
        assert.equal(
          q.stdout.split('\n')[1],
          'disabled',
          `${host}: the package's own agent unit is disabled`,
        );
      }
      const status = await meso('status', file, '--json');
      assert.equal(status.code, 0, status.stdout + status.stderr);
      const s = JSON.parse(status.stdout) as {
        masters: { installed: string[]; leader: string; agents_registered: number };
        marathon: { ping: Record<string, boolean> };
      };
      assert.deepEqual(
        [s.masters.installed, s.masters.leader, s.masters.agents_registered],
        [['master-1'], 'master-1', 1],
      );
      assert.deepEqual(s.marathon.ping, { 'master-1': true });
      const again = await meso('plan', file, '--detailed-exitcode');
      assert.equal(again.code, 0, again.stdout + again.stderr);

      // An upgrade is a change of the pinned version, and restarts what runs Mesos.
      writeFileSync(file, spec(['method: apt', repository, 'versions: { mesos: 1.11.1-1 }']));
      const upgrade = await meso('plan', file);
      assert.match(upgrade.stdout, /~ package mesos 1\.11\.0-1 -> 1\.11\.1-1 \(apt, held\): change version/);
      assert.match(upgrade.stdout, /↻ service mesos-master\.service/);
      assert.match(upgrade.stdout, /↻ service mesos-agent\.service/);
      const upgraded = await meso('apply', file, '--auto-approve');
      assert.equal(upgraded.code, 0, upgraded.stderr);
      const m = record('master-1').address;
      const version = await onHost('master-1', `curl -sf http://${m}:5050/meso/version`);
      assert.equal((JSON.parse(version.stdout) as { version: string }).version, '1.11.1-1');
      assert.match(
        (await onHost('w-1', "dpkg-query -W -f='${Version} ${Status}' mesos")).stdout,
        /^1\.11\.1-1 hold/,
      );

      // Changed resources: the agent would refuse its checkpoint, so the plan resets its recovery.
      writeFileSync(
        file,
        spec(['method: apt', repository, 'versions: { mesos: 1.11.1-1 }'], { resources: 'cpus:2;mem:512' }),
      );
      const reset = await meso('plan', file);
      assert.match(
        reset.stdout,
        /↻ service mesos-agent\.service: resources or attributes changed, which Mesos refuses to recover: stop, remove \/var\/lib\/mesos\/meta\/slaves\/latest, start/,
      );
      assert.match(reset.stdout, /\(its tasks are lost; agents\[\]\.drain drains first\)/);
      // With agents[].drain, the master drains it first (DRAIN_AGENT, until DRAINED).
      writeFileSync(
        file,
        spec(['method: apt', repository, 'versions: { mesos: 1.11.1-1 }'], {
          resources: 'cpus:2;mem:512',
          drain: '{ gracePeriodSeconds: 5, timeoutSeconds: 60 }',
        }),
      );
      const drained = await meso('plan', file);
      assert.match(drained.stdout, /drain it through the master \(grace period 5 s\), stop, remove/);
      const before = (await onHost('w-1', 'readlink /var/lib/mesos/meta/slaves/latest')).stdout.trim();
      const resetDone = await meso('apply', file, '--auto-approve');
      assert.equal(resetDone.code, 0, resetDone.stderr);
      const oldId = before.split('/').pop()!;
      assert.ok(resetDone.stderr.includes(`w-1: w-1 (${oldId}) drained`), resetDone.stderr);
      assert.match(resetDone.stderr, /w-1: the agent's resources or attributes changed/);
      const drainCalls = await onHost('master-1', `curl -sf http://${m}:5050/meso/drained`);
      assert.deepEqual(JSON.parse(drainCalls.stdout), [oldId]);
      const after = (
        await onHost('w-1', 'readlink /var/lib/mesos/meta/slaves/latest; systemctl is-active mesos-agent')
      ).stdout.split('\n');
      assert.notEqual(after[0], before, 'the agent started as a new agent');
      assert.equal(after[1], 'active');

      // Secrets: read at apply time, 0600 root on the hosts, nowhere else.
      const agentSecret = join(dir, 'agent.secret');
      writeFileSync(agentSecret, `${secret}-agent\n`, { mode: 0o600 });
      const security = [
        'security:',
        '  authentication:',
        '    frameworks: true',
        '    agents: true',
        '    credentials: [{ principal: marathon, secret: env:MESO_TEST_SECRET }, { principal: agent, secret: "file:' +
          agentSecret +
          '" }]',
        '    agent: { principal: agent, secret: "file:' + agentSecret + '" }',
        '    marathon: { principal: marathon, secret: env:MESO_TEST_SECRET }',
      ];
      writeFileSync(
        file,
        spec(['method: apt', repository, 'versions: { mesos: 1.11.1-1 }'], {
          resources: 'cpus:2;mem:512',
          security,
        }),
      );
      const secured = await meso('apply', file, '--auto-approve');
      assert.equal(secured.code, 0, secured.stderr);
      assert.match(secured.stdout, /\/etc\/mesos\/credentials\.json +root:root 0600 +\(sensitive\)/);
      const creds = await onHost(
        'master-1',
        'stat -c "%U %a" /etc/mesos/credentials.json /etc/marathon/mesos-secret; cat /etc/mesos/credentials.json',
      );
      assert.match(creds.stdout, /^root 600\nroot 600\n/);
      assert.ok(creds.stdout.includes(`"secret": "${secret}"`), 'the master reads the real secret');
      const marathonEnv = await onHost('master-1', `curl -sf http://${m}:8080/meso/env`);
      assert.equal(
        (JSON.parse(marathonEnv.stdout) as { secret_file_has_content: boolean }).secret_file_has_content,
        true,
      );
      const changed = await meso('plan', file, '--detailed-exitcode');
      assert.equal(changed.code, 0, 'the same secrets: no change');
      env.MESO_TEST_SECRET = `${secret}-rotated`;
      const rotated = await meso('plan', file, '--detailed-exitcode');
      assert.equal(rotated.code, 2, 'a changed secret is a changed file');
      assert.match(rotated.stdout, /~ \/etc\/mesos\/credentials\.json +root:root 0600 +\(sensitive\)/);
      assert.match(rotated.stdout, /~ \/etc\/marathon\/mesos-secret +root:root 0600 +\(sensitive\)/);
      const leaks = [
        ['apply output', secured.stdout + secured.stderr],
        ['plan output', rotated.stdout + rotated.stderr],
        ['state', readFileSync(statePath, 'utf8')],
        ['ps on master-1', (await onHost('master-1', 'ps -eo args')).stdout],
        ['ps on w-1', (await onHost('w-1', 'ps -eo args')).stdout],
        ['journal on master-1', (await onHost('master-1', 'journalctl --no-pager -q')).stdout],
      ];
      for (const [where, text] of leaks) assert.ok(!text!.includes(secret), `the secret is in the ${where}`);
      env.MESO_TEST_SECRET = secret;

      // archive: uploaded once, unpacked under /opt/mesos, run with its library path; its runtime
      // library comes from the (same) repository.
      const build = join(dir, 'build', 'mesos-1.11.2');
      mkdirSync(join(build, 'sbin'), { recursive: true });
      mkdirSync(join(build, 'lib'), { recursive: true });
      const needsLib = (p: string): string =>
        standin(p, 'archive-1.11.2').replace(
          'os.environ.get("MESO_STANDIN_REQUIRE_LIB")',
          '"libmesos-1.11.2.so"',
        );
      writeFileSync(join(build, 'sbin', 'mesos-master'), needsLib('mesos-master'), { mode: 0o755 });
      writeFileSync(join(build, 'sbin', 'mesos-agent'), standin('mesos-agent', 'archive-1.11.2'), {
        mode: 0o755,
      });
      writeFileSync(join(build, 'lib', 'libmesos-1.11.2.so'), 'not really a library\n');
      const tarball = join(dir, 'mesos-1.11.2.tar.gz');
      const tar = await new Promise<Error | null>((res) =>
        execFile('tar', ['-czf', tarball, '-C', join(dir, 'build'), 'mesos-1.11.2'], (e) => res(e)),
      );
      assert.equal(tar, null);
      const archive = ['method: archive', `archive: ${tarball}`, repository, 'packages: [libmeso-runtime]'];
      writeFileSync(file, spec(archive, { resources: 'cpus:2;mem:512', security }));
      const archived = await meso('apply', file, '--auto-approve');
      assert.equal(archived.code, 0, archived.stderr);
      assert.match(
        archived.stdout,
        /\+ archive \/opt\/mesos = sha256:[0-9a-f]{12}: upload and unpack under \/opt\/mesos/,
      );
      assert.match(
        archived.stderr,
        /master-1: uploading the archive \(\d+ bytes\) to unpack under \/opt\/mesos/,
      );
      const run = JSON.parse((await onHost('master-1', `curl -sf http://${m}:5050/meso/version`)).stdout) as {
        version: string;
        ld_library_path: string;
      };
      assert.deepEqual([run.version, run.ld_library_path], ['archive-1.11.2', '/opt/mesos/lib']);
      assert.match(
        (await onHost('w-1', "ls /opt/mesos/sbin; dpkg-query -W -f='${Status}' libmeso-runtime")).stdout,
        /^mesos-agent\nmesos-master\ninstall ok installed$/,
      );
      const noUpload = await meso('plan', file, '--detailed-exitcode');
      assert.equal(noUpload.code, 0, `uploaded once: ${noUpload.stdout}`);

      // docker: these hosts have no Docker engine, and meso says so before changing anything.
      writeFileSync(file, spec(['method: docker']));
      const docker = await meso('plan', file);
      assert.equal(docker.code, 1);
      assert.match(
        docker.stderr,
        /install\.method docker needs the Docker engine, which is not on master-1, w-1/,
      );
      // What can be checked without an engine: the rendered docker units are valid systemd units
      // on these hosts, given docker's binary path and unit (stand-ins: nothing runs them).
      const out = join(dir, 'docker-render');
      const rendered = await meso('render', file, '--out', out);
      assert.equal(rendered.code, 0, rendered.stderr);
      for (const host of ['master-1', 'w-1']) {
        const units = ['zookeeper', 'mesos-master', 'marathon', 'mesos-agent'].filter((u) =>
          existsSync(join(out, host, 'etc/systemd/system', `${u}.service`)),
        );
        const copy = units
          .map((u) => {
            const text = readFileSync(join(out, host, 'etc/systemd/system', `${u}.service`), 'utf8');
            assert.match(text, /ExecStart=\/usr\/bin\/docker run --rm --name meso-\S+ --net=host/);
            return `printf %s ${shq(text)} > /tmp/docker-units/${u}.service`;
          })
          .join('; ');
        const verify = await onHost(
          host,
          `set -e; mkdir -p /tmp/docker-units; ${copy}; ` +
            "printf '#!/bin/sh\\nexit 0\\n' > /usr/local/bin/docker-stand-in; chmod 0755 /usr/local/bin/docker-stand-in; " +
            'test -e /usr/bin/docker || ln -s /usr/local/bin/docker-stand-in /usr/bin/docker; ' +
            "printf '[Service]\\nExecStart=/bin/true\\n' > /run/systemd/system/docker.service; " +
            'systemctl daemon-reload; systemd-analyze verify /tmp/docker-units/*.service; ' +
            'rm -f /usr/bin/docker /run/systemd/system/docker.service; systemctl daemon-reload',
        );
        assert.equal(verify.code, 0, `${host}: ${verify.stdout}${verify.stderr}`);
        assert.equal(verify.stderr.trim(), '', `${host}: systemd-analyze verify has findings`);
      }
      passed = true;
    } finally {
      await server?.close();
      const destroyed = await meso('destroy', file, '--auto-approve');
      // A failed destroy fails the test, without hiding why the test failed before it.
      if (passed) assert.equal(destroyed.code, 0, destroyed.stderr);
      else if (destroyed.code !== 0) process.stderr.write(`destroy failed too: ${destroyed.stderr}\n`);
      if (repo !== undefined) rmSync(repo.dir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test(
    'docker units on hosts with a Docker engine',
    {
      skip: 'the lab hosts have no Docker engine and no image can be pulled here; the docker units are checked by render and plan tests',
    },
    () => {},
  );
});
