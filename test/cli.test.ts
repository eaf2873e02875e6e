import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT, spawnMeso } from './helpers/cli.js';
import { deadHolder, holder } from './helpers/lock-race.js';

const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'meso-cli-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const noStack = (s: string): void =>
  assert.doesNotMatch(s, /\n\s+at .+:\d+:\d+\)?/, 'a stack trace was printed');

void describe('meso validate', () => {
  void test('exits 0 with a one-line summary for a valid file', () => {
    const r = spawnMeso(['validate', 'clusters/ha.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(r.stdout, /clusters\/ha\.yaml: valid\. .*3 masters \(quorum 2\)/);
  });

  void test('exits 1 and reports every error as FILE:LINE:COL on stderr', () => {
    const dir = tmp();
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: meso/v1',
        'kind: Cluster',
        'name: bad',
        'provider: static',
        'masters:',
        '  quorum: 1',
        '  flags: { work_dri: /x }',
        '  hosts:',
        '    - { name: m1, address: 10.0.0.1 }',
        '    - { name: m2, address: 10.0.0.2 }',
        '    - { name: m3, address: 10.0.0.3 }',
        '',
      ].join('\n'),
    );
    const r = spawnMeso(['validate', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(`^${file}:6:11: masters\\.quorum: quorum 1 is not a majority of 3 masters`, 'm'),
    );
    assert.match(
      r.stderr,
      new RegExp(`^${file}:7:12: masters\\.flags\\.work_dri: .*did you mean 'work_dir'\\?`, 'm'),
    );
    assert.match(r.stderr, /error: .*bad\.yaml has 2 errors/);
    noStack(r.stderr);
  });

  void test('invalid YAML, an empty file and a missing file are clear errors without stack traces', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'syntax.yaml'), 'apiVersion: meso/v1\nmasters: [a, b\n');
    writeFileSync(join(dir, 'empty.yaml'), '');
    const syntax = spawnMeso(['validate', join(dir, 'syntax.yaml')]);
    assert.equal(syntax.code, 1);
    assert.match(syntax.stderr, /syntax\.yaml:\d+:\d+: invalid YAML/);
    const empty = spawnMeso(['validate', join(dir, 'empty.yaml')]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /empty\.yaml:1:1: the file is empty/);
    const missing = spawnMeso(['validate', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.yaml: no such file/);
    for (const r of [syntax, empty, missing]) noStack(r.stderr);
  });

  void test('warnings alone keep exit 0', () => {
    const dir = tmp();
    const file = join(dir, 'w.yaml');
    const hosts = Array.from({ length: 9 }, (_, i) => `    - { name: m${i}, address: 10.0.0.${i + 1} }`);
    writeFileSync(
      file,
      [
        'apiVersion: meso/v1',
        'kind: Cluster',
        'name: w',
        'provider: static',
        'masters:',
        '  hosts:',
        ...hosts,
        '',
      ].join('\n'),
    );
    const r = spawnMeso(['validate', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: masters\.hosts: 9 masters/);
    assert.match(r.stderr, /warning: agents: no agents/);
  });
});

void describe('meso usage errors', () => {
  void test('an unknown flag or command exits 1 with a message, not a stack', () => {
    const flag = spawnMeso(['plan', 'clusters/ha.yaml', '--ofline']);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /unknown option '--ofline'/);
    assert.match(flag.stderr, /Did you mean --offline\?/);
    const cmd = spawnMeso(['plann', 'clusters/ha.yaml']);
    assert.equal(cmd.code, 1);
    assert.match(cmd.stderr, /unknown command 'plann'/);
    noStack(flag.stderr + cmd.stderr);
  });

  void test('--help and --version exit 0', () => {
    const help = spawnMeso(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /validate <file>/);
    assert.match(help.stdout, /plan \[options\] <file>/);
    const version = spawnMeso(['--version']);
    assert.equal(version.code, 0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);
  });
});

void describe('meso plan --offline', () => {
  void test('--json prints the documented shape, and --out saves the same document', () => {
    const out = join(tmp(), 'plan.json');
    const r = spawnMeso(['plan', 'clusters/ha.yaml', '--offline', '--json', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as {
      format_version: string;
      summary: Record<string, number>;
      changes: { address: string; action: string; host: string; path: string | null; reason: string }[];
    };
    assert.equal(plan.format_version, '1');
    assert.deepEqual(Object.keys(plan.summary).sort(), ['create', 'delete', 'restart', 'update']);
    assert.equal(plan.summary['create'], plan.changes.length);
    for (const c of plan.changes) {
      assert.equal(c.action, 'create');
      assert.equal(typeof c.address, 'string');
      assert.equal(typeof c.reason, 'string');
      assert.ok(c.address.startsWith(`host/${c.host}/`), c.address);
    }
    assert.ok(plan.changes.some((c) => c.path === '/var/lib/zookeeper/myid' && c.host === 'master-2'));
    assert.equal(readFileSync(out, 'utf8'), r.stdout);
  });

  void test('the start order puts every ZooKeeper start before any master, and masters before agents', () => {
    const r = spawnMeso(['plan', 'clusters/ha.yaml', '--offline', '--json']);
    const plan = JSON.parse(r.stdout) as { changes: { address: string }[] };
    const services = plan.changes.map((c) => c.address).filter((a) => a.includes('/service:'));
    const last = (s: string): number => services.map((a) => a.endsWith(s)).lastIndexOf(true);
    const first = (s: string): number => services.findIndex((a) => a.endsWith(s));
    assert.equal(services.filter((a) => a.endsWith(':zookeeper')).length, 3);
    assert.ok(last(':zookeeper') < first(':mesos-master'));
    assert.ok(last(':mesos-master') < first(':marathon'));
    assert.ok(last(':marathon') < first(':mesos-agent'));
    assert.equal(services.filter((a) => a.endsWith(':mesos-agent')).length, 3);
  });

  void test('--detailed-exitcode exits 2 when there are changes', () => {
    assert.equal(spawnMeso(['plan', 'clusters/dev.yaml', '--offline', '--detailed-exitcode']).code, 2);
    assert.equal(spawnMeso(['plan', 'clusters/dev.yaml', '--offline']).code, 0);
  });

  void test('secret values never appear; sensitive files show (sensitive)', () => {
    const env = { ...process.env, MESO_MARATHON_SECRET: 'hunter2-do-not-print' };
    const text = spawnMeso(['plan', 'clusters/secure.yaml', '--offline'], { env });
    const json = spawnMeso(['plan', 'clusters/secure.yaml', '--offline', '--json'], { env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\/etc\/mesos\/credentials\.json\s+root:root 0600\s+\(sensitive\)/);
    const changes = (
      JSON.parse(json.stdout) as { changes: { path: string; sensitive?: boolean; sha256?: string }[] }
    ).changes;
    const cred = changes.find((c) => c.path === '/etc/mesos/credentials.json');
    assert.equal(cred?.sensitive, true);
    assert.equal(cred?.sha256, '(sensitive)');
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr])
      assert.doesNotMatch(out, /hunter2/);
  });

  void test('against an unreachable host, plan fails with a clear error and no stack (loopback only)', () => {
    const dir = tmp();
    const file = join(dir, 'c.yaml');
    const key = join(dir, 'id_ed25519');
    assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).status, 0);
    writeFileSync(
      file,
      [
        'apiVersion: meso/v1',
        'kind: Cluster',
        'name: nowhere',
        'provider: static',
        `ssh: { port: 1, connectTimeoutSeconds: 2, privateKeyPath: ${key} }`,
        'masters:',
        '  hosts: [{ name: m1, address: 127.0.0.1 }]',
        'agents: [{ group: g, hosts: [{ name: m1, address: 127.0.0.1 }] }]',
        '',
      ].join('\n'),
    );
    const r = spawnMeso(['plan', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*m1.*127\.0\.0\.1:1.*(unreachable|refused)/im);
    noStack(r.stderr);
    assert.equal(spawnMeso(['plan', file, '--out', join(dir, 'p.json')]).code, 1);
  });

  void test('an invalid spec makes plan exit 1 before planning anything', () => {
    const dir = tmp();
    const out = join(dir, 'plan.json');
    writeFileSync(join(dir, 'c.yaml'), 'apiVersion: meso/v1\nkind: Cluster\nname: x\nprovider: static\n');
    const r = spawnMeso(['plan', join(dir, 'c.yaml'), '--offline', '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /c\.yaml:1:1: missing required field 'masters'/);
    assert.equal(existsSync(out), false);
  });
});

void describe('meso render', () => {
  void test('writes DIR/<host>/<path> and a manifest with owner, group and mode', () => {
    const out = join(tmp(), 'r');
    const r = spawnMeso(['render', 'clusters/ha.yaml', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(out, 'master-2/var/lib/zookeeper/myid'), 'utf8').trim(), '12');
    assert.equal(
      readFileSync(join(out, 'agent-1/etc/mesos/zk'), 'utf8').trim(),
      'zk://10.10.0.11:2181,10.10.0.12:2181,10.10.0.13:2181/mesos',
    );
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      hosts: Record<string, { files: { path: string; owner: string; group: string; mode: string }[] }>;
    };
    const myid = manifest.hosts['master-2']?.files.find((f) => f.path === '/var/lib/zookeeper/myid');
    assert.deepEqual(
      { owner: myid?.owner, group: myid?.group, mode: myid?.mode },
      { owner: 'zookeeper', group: 'zookeeper', mode: '0644' },
    );
    for (const [host, h] of Object.entries(manifest.hosts)) {
      for (const f of h.files)
        assert.ok(statSync(join(out, host, f.path)).isFile(), `${host}${f.path} missing`);
    }
  });

  void test('refuses a non-empty directory that holds no earlier render, and replaces an earlier render', () => {
    const dir = tmp();
    const foreign = join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'precious.txt'), 'keep me');
    const refused = spawnMeso(['render', 'clusters/dev.yaml', '--out', foreign]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not empty and holds no earlier render/);
    assert.equal(readFileSync(join(foreign, 'precious.txt'), 'utf8'), 'keep me');

    const out = join(dir, 'r');
    assert.equal(spawnMeso(['render', 'clusters/ha.yaml', '--out', out]).code, 0);
    assert.equal(spawnMeso(['render', 'clusters/dev.yaml', '--out', out]).code, 0);
    assert.equal(existsSync(join(out, 'master-1')), false, 'hosts of the earlier render are removed');
    assert.ok(existsSync(join(out, 'dev-1/etc/mesos/zk')));
  });
});

void describe('meso force-unlock', () => {
  void test('removes a stale lock and says whose it was; with no lock it says so', async () => {
    const dir = tmp();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, readFileSync(join(ROOT, 'clusters', 'dev.yaml'), 'utf8'));
    const { LocalStateBackend } = await import('../src/state/local.js');
    await new LocalStateBackend(join(dir, '.meso', 'dev.state.json')).lock('meso apply c.yaml');
    const r = spawnMeso(['force-unlock', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Removed the lock of pid ${process.pid} .*meso apply c\\.yaml`));
    assert.equal(existsSync(join(dir, '.meso', 'dev.lock')), false);
    assert.match(spawnMeso(['force-unlock', file]).stdout, /was not locked/);
  });
});

void describe('state locks: takeover and --lock-timeout', () => {
  const cluster = (): { file: string; state: string } => {
    const dir = tmp();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, readFileSync(join(ROOT, 'clusters', 'dev.yaml'), 'utf8'));
    return { file, state: join(dir, '.meso', 'dev.state.json') };
  };

  void test('a malformed --lock-timeout is a usage error, without a stack', () => {
    const { file } = cluster();
    for (const cmd of ['apply', 'destroy']) {
      const r = spawnMeso([cmd, file, '--auto-approve', '--lock-timeout', '15x']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        "error: --lock-timeout '15x' is not a duration\nhint: give a number with a unit: --lock-timeout 30s, 15m or 1h (0s: do not wait)\n",
      );
    }
  });

  void test(
    'destroy takes over the lock of a killed run and says so in one line',
    { skip: process.platform !== 'linux' },
    async () => {
      const { file, state } = cluster();
      const dead = await deadHolder(state);
      const r = spawnMeso(['destroy', file, '--auto-approve']);
      assert.equal(r.code, 0, r.stderr);
      const notices = r.stderr.split('\n').filter((l) => l.includes('took over'));
      assert.equal(notices.length, 1, r.stderr);
      assert.match(
        notices[0]!,
        new RegExp(
          `took over the state lock of pid ${dead.pid} \\(.*meso apply race\\.yaml.*\\), which is no longer running$`,
        ),
      );
    },
  );

  void test('--lock-timeout waits for a live holder, then fails as StateLocked', async () => {
    const { file, state } = cluster();
    const { LocalStateBackend } = await import('../src/state/local.js');
    const held = await new LocalStateBackend(state).lock('meso apply other.yaml');
    const r = spawnMeso(['apply', file, '--auto-approve', '--lock-timeout', '1s']);
    await held.release();
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is locked by pid \d+ .*meso apply other\.yaml.*; waiting up to 1s for it\n/);
    assert.match(r.stderr, new RegExp(`\nerror: state .* is locked by pid ${process.pid} `));
    noStack(r.stderr);
  });

  void test(
    '--lock-timeout: the holder ends while meso waits; meso goes on',
    { skip: process.platform !== 'linux' },
    async () => {
      const { file, state } = cluster();
      const h = await holder(state);
      const child = spawn(process.execPath, [
        `${ROOT}bin/meso.js`,
        'destroy',
        file,
        '--auto-approve',
        '--lock-timeout',
        '5m',
      ]);
      let stderr = '';
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      while (!stderr.includes('waiting up to 5m 0s')) {
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // The holder exits without releasing: its lock is then a gone holder's, taken over at the next try.
      await h.stop('exit');
      assert.equal(await closed, 0, stderr);
      assert.match(stderr, new RegExp(`took over the state lock of pid ${h.info.pid} `));
      assert.match(stderr, /nothing to destroy/);
    },
  );
});
