import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnMeso } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/**
 * The units start Mesos through meso's wrapper; these tests render a cluster, run the wrapper over
 * each host's rendered files (--print), and check the command line against what the files say,
 * read independently here: exactly those flags, nothing more.
 */
function render(cluster: string): string {
  const out = join(tempDir('meso-cmdline-'), 'r');
  const r = spawnMeso(['render', cluster, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

/** A private copy of a host's files whose defaults read /etc/mesos/zk under the copy, not this machine's. */
function hostRoot(out: string, host: string): string {
  const root = tempDir(`meso-root-${host}-`);
  cpSync(join(out, host), root, { recursive: true });
  for (const f of ['etc/default/mesos-master', 'etc/default/mesos-slave']) {
    const p = join(root, f);
    if (existsSync(p))
      writeFileSync(p, readFileSync(p, 'utf8').replaceAll('/etc/mesos/zk', `${root}/etc/mesos/zk`));
  }
  return root;
}

function printed(root: string, role: 'master' | 'agent'): string {
  const r = spawnSync('bash', [join(root, 'usr/local/lib/meso/mesos-run'), role, '--print'], {
    env: { PATH: '/usr/bin:/bin', MESO_ROOT: root },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** What the package layout means, read without the wrapper. */
function expectedArgs(root: string, role: 'master' | 'agent'): string[] {
  const dir = join(root, role === 'master' ? 'etc/mesos-master' : 'etc/mesos-slave');
  const zk = readFileSync(join(root, 'etc/mesos/zk'), 'utf8').trim();
  const args = [role === 'master' ? `--zk=${zk}` : `--master=${zk}`];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (!e.isFile()) continue;
    args.push(
      e.name.startsWith('?')
        ? `--${e.name.slice(1)}`
        : `--${e.name}=${readFileSync(join(dir, e.name), 'utf8').trim()}`,
    );
  }
  for (const sub of ['attributes', 'resources']) {
    if (!existsSync(join(dir, sub))) continue;
    const pairs = readdirSync(join(dir, sub))
      .sort()
      .map((n) => `${n}:${readFileSync(join(dir, sub, n), 'utf8').trim()}`);
    if (pairs.length > 0) args.push(`--${sub}=${pairs.join(';')}`);
  }
  return args;
}

function shellQuoted(args: string[]): string {
  const r = spawnSync('bash', ['-c', 'printf "%q " "$@"', '_', ...args], { encoding: 'utf8' });
  return r.stdout.trimEnd();
}

for (const cluster of ['clusters/ha.yaml', 'clusters/dev.yaml', 'clusters/secure.yaml']) {
  void test(`${cluster}: each Mesos unit runs exactly the flags its files hold`, () => {
    const out = render(cluster);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      hosts: Record<string, { roles: string[] }>;
    };
    let checked = 0;
    for (const [host, h] of Object.entries(manifest.hosts)) {
      const root = hostRoot(out, host);
      for (const role of ['master', 'agent'] as const) {
        if (!h.roles.includes(role)) continue;
        const unit = readFileSync(join(root, `etc/systemd/system/mesos-${role}.service`), 'utf8');
        assert.match(unit, new RegExp(`^ExecStart=/usr/local/lib/meso/mesos-run ${role}$`, 'm'));
        const program = role === 'master' ? 'mesos-master' : 'mesos-agent';
        assert.equal(
          printed(root, role),
          shellQuoted([program, ...expectedArgs(root, role)]),
          `${host} ${role}`,
        );
        checked++;
      }
    }
    assert.ok(checked >= 2, 'at least one master and one agent were checked');
  });
}

void test('the agent command line carries the spec values (ha.yaml agent-1)', () => {
  const root = hostRoot(render('clusters/ha.yaml'), 'agent-1');
  const line = printed(root, 'agent');
  for (const piece of [
    '--master=zk://10.10.0.11:2181\\,10.10.0.12:2181\\,10.10.0.13:2181/mesos',
    '--containerizers=docker\\,mesos',
    '--isolation=cgroups/cpu\\,cgroups/mem',
    '--ip=10.10.0.21',
    '--executor_registration_timeout=5mins',
    '--attributes=disk:ssd\\;rack:r1',
    '--resources=ports\\(\\*\\):\\[31000-32000\\]',
  ]) {
    assert.ok(line.includes(piece), `${piece} missing from: ${line}`);
  }
});
