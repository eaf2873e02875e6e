// Runs the host-side launch wrappers (templates/*-run.sh) against a fake root and checks the exact argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compiled to dist/test/*.js, so the templates are two levels up.
const MESOS_RUN = fileURLToPath(new URL('../../templates/mesos-run.sh', import.meta.url));
const MARATHON_RUN = fileURLToPath(new URL('../../templates/marathon-run.sh', import.meta.url));

/** Creates a temp root; keys are root-relative paths, a trailing '/' makes an empty directory. */
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'meso-wrappers-'));
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    if (rel.endsWith('/')) {
      mkdirSync(path, { recursive: true });
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
  }
  return root;
}

/** Runs a wrapper with a minimal environment so nothing leaks in from the developer's shell. */
function run(script: string, args: string[], root: string, env: Record<string, string> = {}) {
  return spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MESO_ROOT: root, ...env },
  });
}

/** What --print must output for argv: bash's own printf %q, space-joined. */
function quoted(argv: string[]): string {
  const out = execFileSync('bash', ['-c', 'printf "%q " "$@"', '_', ...argv], { encoding: 'utf8' });
  return out.replace(/ $/, '') + '\n';
}

function printed(script: string, args: string[], root: string, env: Record<string, string> = {}): string {
  const r = run(script, [...args, '--print'], root, env);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  return r.stdout;
}

/** A fake binary that reports JAVA_OPTS, its open-files limit and argv (NUL-separated), for exec-mode checks. */
function fakeBinary(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '#!/bin/bash\nprintf "%s\\0" "JAVA_OPTS=${JAVA_OPTS:-}" "nofile=$(ulimit -n)" "$@"\n');
  chmodSync(path, 0o755);
}

void test('mesos-run master: env-derived flags first, then config files in byte order', (t) => {
  const root = fakeRoot({
    'etc/mesos/zk': 'zk://10.0.0.1:2181,10.0.0.2:2181/mesos\n',
    'etc/default/mesos': 'LOGS=/var/log/mesos\nULIMIT="-n 8192"\n',
    'etc/default/mesos-master':
      'ZK="$(cat "$MESO_ROOT/etc/mesos/zk")"\nIP=10.0.0.1\nPORT=5050\nCLUSTER="prod east"\n',
    'etc/mesos-master/work_dir': '/var/lib/mesos\n\n',
    'etc/mesos-master/quorum': '2\n',
    'etc/mesos-master/?no-hostname_lookup': '',
    'etc/mesos-master/hostname': 'master one\n',
    'etc/mesos-master/subdir/': '',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // en_US collation would ignore the '?' and put --no-hostname_lookup after --hostname; C order must win.
  assert.equal(
    printed(MESOS_RUN, ['master'], root, { LANG: 'en_US.UTF-8' }),
    quoted([
      'mesos-master',
      '--zk=zk://10.0.0.1:2181,10.0.0.2:2181/mesos',
      '--ip=10.0.0.1',
      '--port=5050',
      '--cluster=prod east',
      '--log_dir=/var/log/mesos',
      '--no-hostname_lookup',
      '--hostname=master one',
      '--quorum=2',
      '--work_dir=/var/lib/mesos',
    ]),
  );
});

void test('mesos-run agent: attributes and resources directories are joined, sorted by name', (t) => {
  const root = fakeRoot({
    'etc/mesos/zk': 'zk://10.0.0.1:2181/mesos\n',
    'etc/default/mesos-slave':
      'MASTER="$(cat "$MESO_ROOT/etc/mesos/zk")"\nISOLATION=cgroups/cpu,cgroups/mem\n',
    'etc/mesos-slave/containerizers': 'docker,mesos\n',
    'etc/mesos-slave/?no-switch_user': '',
    'etc/mesos-slave/attributes/rack': 'r1\n',
    'etc/mesos-slave/attributes/az': 'us-east-1a\n',
    'etc/mesos-slave/attributes/empty': '',
    'etc/mesos-slave/resources/ports(*)': '[31000-32000]\n',
    'etc/mesos-slave/resources/cpus': '4\n',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(
    printed(MESOS_RUN, ['agent'], root),
    quoted([
      'mesos-agent',
      '--master=zk://10.0.0.1:2181/mesos',
      '--isolation=cgroups/cpu,cgroups/mem',
      '--no-switch_user',
      '--containerizers=docker,mesos',
      '--attributes=az:us-east-1a;rack:r1',
      '--resources=cpus:4;ports(*):[31000-32000]',
    ]),
  );
});

void test('mesos-run: missing defaults files and empty directories add nothing', (t) => {
  const root = fakeRoot({ 'etc/mesos-slave/attributes/': '', 'etc/mesos-slave/resources/': '' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  assert.equal(printed(MESOS_RUN, ['agent'], root), quoted(['mesos-agent']));
  assert.equal(printed(MESOS_RUN, ['master'], root), quoted(['mesos-master']));
});

void test('mesos-run exec mode without a binary exits 127 with a hint', (t) => {
  const root = fakeRoot({ 'etc/mesos-slave/containerizers': 'mesos\n' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = run(MESOS_RUN, ['agent'], root);
  assert.equal(r.status, 127);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^mesos-run: no mesos-agent binary found in .*; install Mesos \(meso install\.method\) or set MESO_MESOS_SBIN\n$/,
  );
});

void test('mesos-run exec mode passes each argument through intact', (t) => {
  const root = fakeRoot({
    'etc/default/mesos': 'ULIMIT="-n 100"\n',
    'etc/mesos-slave/work_dir': '/var/lib/mesos a*b\n',
    'etc/mesos-slave/resources/ports(*)': '[31000-32000]\n',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // Only mesos-slave exists (pre-1.0 name); MESO_MESOS_SBIN is searched first.
  fakeBinary(join(root, 'sbin-override/mesos-slave'));
  const r = run(MESOS_RUN, ['agent'], root, { MESO_MESOS_SBIN: join(root, 'sbin-override') });
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), [
    'JAVA_OPTS=',
    'nofile=100',
    '--work_dir=/var/lib/mesos a*b',
    '--resources=ports(*):[31000-32000]',
  ]);
});

void test('mesos-run --print names the installed binary when there is one', (t) => {
  const root = fakeRoot({});
  t.after(() => rmSync(root, { recursive: true, force: true }));
  fakeBinary(join(root, 'usr/local/sbin/mesos-master'));
  assert.equal(printed(MESOS_RUN, ['master'], root), quoted([join(root, 'usr/local/sbin/mesos-master')]));
});

void test('mesos-run rejects an unknown role', (t) => {
  const root = fakeRoot({});
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = run(MESOS_RUN, ['slave', '--print'], root);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: mesos-run master\|agent/);
});

void test('marathon-run: conf files become "--name value" pairs; MARATHON_* and JAVA_OPTS stay env', (t) => {
  const root = fakeRoot({
    'etc/default/marathon':
      'MARATHON_MASTER=zk://10.0.0.1:2181/mesos\nMARATHON_ZK=zk://10.0.0.1:2181/marathon\nJAVA_OPTS="-Xmx512m -Dx=1"\n',
    'etc/marathon/conf/hostname': 'marathon one\n',
    'etc/marathon/conf/?checkpoint': '',
    'etc/marathon/conf/event_subscriber': 'http_callback\n',
    'etc/marathon/conf/http_port': '8080\n',
    'etc/marathon/conf/plugins/': '',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out = printed(MARATHON_RUN, [], root);
  assert.equal(
    out,
    quoted([
      'marathon',
      '--checkpoint',
      '--event_subscriber',
      'http_callback',
      '--hostname',
      'marathon one',
      '--http_port',
      '8080',
    ]),
  );
  assert.doesNotMatch(out, /Xmx|MARATHON_|--master|--zk/);

  // Exec mode: the defaults file reaches Marathon as environment (allexport), not as arguments.
  fakeBinary(join(root, 'usr/share/marathon/bin/marathon'));
  const r = run(MARATHON_RUN, [], root);
  const nofile = execFileSync('bash', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  assert.equal(r.status, 0);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), [
    'JAVA_OPTS=-Xmx512m -Dx=1',
    `nofile=${nofile}`,
    '--checkpoint',
    '--event_subscriber',
    'http_callback',
    '--hostname',
    'marathon one',
    '--http_port',
    '8080',
  ]);
});

void test('marathon-run exec mode without a binary exits 127 with a hint', (t) => {
  const root = fakeRoot({});
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = run(MARATHON_RUN, [], root);
  assert.equal(r.status, 127);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /^marathon-run: no marathon binary found in .*; install Marathon \(meso install\.method\) or set MESO_MARATHON_BIN\n$/,
  );
  assert.equal(printed(MARATHON_RUN, [], root), quoted(['marathon']));
});
