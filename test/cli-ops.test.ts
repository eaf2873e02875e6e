import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from './helpers/cli.js';
import { freeSubnet, labSkip, shq } from './helpers/lab.js';
import { which } from '../src/providers/local/exec.js';

/**
 * `meso ssh` and `meso logs` on real local hosts, as an operator runs them: a command and its exit
 * status, arguments that arrive intact, a script on stdin, a tampered pinned host key (refused, nothing
 * run), unknown and not-created hosts; the journal of one unit and of all, a service the host does not
 * run, and --follow seeing a restart until Ctrl-C.
 */
const dir = mkdtempSync(join(tmpdir(), 'meso-cli-ops-'));
const file = join(dir, 'ops.yaml');
const name = `ops${process.pid % 10000}`;
const SUBNET = freeSubnet([230, 231]);
const env = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts') };
const yaml = (agents: number): string =>
  [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    `local: { subnet: "${SUBNET}" }`,
    'install: { method: none }',
    'masters: { count: 1 }',
    `agents: [{ group: w, count: ${agents} }]`,
    '',
  ].join('\n');

const BIN = join(ROOT, 'bin/meso.js');
function meso(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env,
    encoding: 'utf8',
    timeout: 600_000,
    ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const statePath = join(dir, '.meso', `${name}.state.json`);
type State = { hosts: Record<string, { provider: { hostPublicKey: string } }> };
const state = (): State => JSON.parse(readFileSync(statePath, 'utf8')) as State;

void describe('meso ssh and meso logs on local hosts', { skip: labSkip(), timeout: 15 * 60_000 }, () => {
  void test('commands, exit codes, quoting, stdin, host keys, journals, follow', async () => {
    try {
      writeFileSync(file, yaml(1));
      const up = meso(['apply', file, '--auto-approve']);
      assert.equal(up.code, 0, up.stderr);

      // A command, its output and its exit status.
      const host = meso(['ssh', file, 'master-1', '--', 'hostname']);
      assert.equal(host.code, 0, host.stderr);
      assert.equal(host.stdout, 'master-1\n');
      assert.equal(meso(['ssh', file, 'master-1', '--', 'sh', '-c', 'exit 7']).code, 7);
      // Each word arrives as the same word: spaces, quotes and $ untouched by the remote shell.
      const words = ['a b', '$HOME', "it's", '"q"', '`id`; echo x', '*'];
      const quoted = meso(['ssh', file, 'master-1', '--', 'printf', '%s\\n', ...words]);
      assert.equal(quoted.code, 0, quoted.stderr);
      assert.equal(quoted.stdout, words.map((w) => `${w}\n`).join(''));
      // No terminal: stdin is the remote shell's script, and its exit status is ours.
      const piped = meso(['ssh', file, 'w-1'], 'hostname; exit 3\n');
      assert.equal(piped.code, 3, piped.stderr);
      assert.equal(piped.stdout.trim(), 'w-1');
      const cat = meso(['ssh', file, 'master-1', '--', 'wc', '-c'], 'x'.repeat(100_000));
      assert.equal(cat.stdout.trim(), '100000', 'stdin reaches a command, then its EOF');

      // stdin a terminal (script(1) makes one): a login shell on a remote terminal of our size.
      if (which('script') !== undefined) {
        const shell = spawn(
          'script',
          [
            '-qfec',
            `stty cols 100 rows 30; ${[process.execPath, BIN, 'ssh', file, 'master-1'].map(shq).join(' ')}`,
            '/dev/null',
          ],
          { env, stdio: ['pipe', 'pipe', 'pipe'] },
        );
        let screen = '';
        shell.stdout.on('data', (d: Buffer) => (screen += d.toString()));
        const done = new Promise<number | null>((resolve) => shell.on('close', resolve));
        await waitFor(() => screen.includes('root@master-1'), 30_000);
        shell.stdin.write('tty; stty size; exit 5\r');
        assert.equal(await done, 5, screen);
        assert.match(screen, /\/dev\/pts\/\d+\r?\r\n30 100\r/);
      }

      // Ctrl-C without a remote terminal hangs up at once and exits 128 + SIGINT.
      const long = spawn(
        process.execPath,
        [BIN, 'ssh', file, 'master-1', '--', 'sh', '-c', 'echo ready; sleep 60'],
        {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let ready = '';
      long.stdout.on('data', (d: Buffer) => (ready += d.toString()));
      const longDone = new Promise<number | null>((resolve) => long.on('close', resolve));
      await waitFor(() => ready === 'ready\n', 30_000);
      const interruptedAt = Date.now();
      long.kill('SIGINT');
      assert.equal(await longDone, 130);
      assert.ok(Date.now() - interruptedAt < 5000, 'meso does not wait for the remote command');

      // Hosts that cannot be named.
      const unknown = meso(['ssh', file, 'master-9', '--', 'true']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /unknown host 'master-9' .*master-1, w-1/);
      assert.doesNotMatch(unknown.stderr, /\n\s+at /, 'no stack trace');
      writeFileSync(file, yaml(2));
      const notMade = meso(['ssh', file, 'w-2', '--', 'true']);
      assert.equal(notMade.code, 1);
      assert.match(notMade.stderr, /host w-2 is not in the state .*not created/);
      assert.match(notMade.stderr, /hint: run `meso apply /);
      writeFileSync(file, yaml(1));

      // A tampered pin: refused like plan refuses it, and nothing runs on the host.
      const saved = readFileSync(statePath, 'utf8');
      const other = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
      assert.equal(other.status, 0);
      const st = state();
      st.hosts['master-1']!.provider.hostPublicKey = readFileSync(join(dir, 'other.pub'), 'utf8')
        .split(' ')
        .slice(0, 2)
        .join(' ');
      writeFileSync(statePath, JSON.stringify(st));
      const mismatch = meso(['ssh', file, 'master-1', '--', 'touch', '/tmp/meso-ops-ran'], 'touch /tmp/x\n');
      writeFileSync(statePath, saved);
      assert.equal(mismatch.code, 1);
      assert.match(
        mismatch.stderr,
        /master-1: host key for 198\.18\.\d+\.\d+ does not match: expected ssh-ed25519 /,
      );
      const ran = meso(['ssh', file, 'master-1', '--', 'ls', '/tmp/meso-ops-ran', '/tmp/x']);
      assert.equal(ran.code, 2, 'neither file exists');

      // One unit's journal: at most 20 lines, and what ZooKeeper itself logs.
      const zk = meso(['logs', file, 'master-1', 'zookeeper', '--lines', '20']);
      assert.equal(zk.code, 0, zk.stderr);
      const lines = zk.stdout.trimEnd().split('\n');
      assert.ok(lines.length <= 21, `${lines.length} lines`);
      assert.ok(lines.length >= 5, zk.stdout);
      assert.match(zk.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} master-1 /m, 'short-iso lines');
      // ZooKeeper's own JVM (its console logger is a no-op here: SLF4J says so) and systemd about it.
      assert.match(zk.stdout, /systemd\[1\]: Started zookeeper\.service - Apache ZooKeeper \(member 1 of /);
      assert.match(zk.stdout, /java\[\d+\]: SLF4J: /);
      // Every unit meso runs there: ZooKeeper's lines, and the master's unit's systemd lines.
      const all = meso(['logs', file, 'master-1']);
      assert.equal(all.code, 0, all.stderr);
      assert.match(all.stdout, /java\[\d+\]: SLF4J: /);
      assert.match(all.stdout, /mesos-master\.service/);
      const agentZk = meso(['logs', file, 'w-1', 'zookeeper']);
      assert.equal(agentZk.code, 1);
      assert.match(agentZk.stderr, /w-1 does not run zookeeper; meso runs mesos-agent there/);
      assert.match(meso(['logs', file, 'master-1', 'zk']).stderr, /unknown service 'zk'/);
      assert.match(meso(['logs', file, 'master-1', '--lines', 'x']).stderr, /--lines must be a whole number/);

      // --follow shows a restart as it happens, and Ctrl-C ends it (exit 0) and journalctl on the host.
      const follow = spawn(
        process.execPath,
        [BIN, 'logs', file, 'master-1', 'zookeeper', '--follow', '--lines', '0'],
        {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
      follow.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const closed = new Promise<number | null>((resolve) => follow.on('close', (code) => resolve(code)));
      await sleep(2500); // it connects and starts following; --lines 0 prints nothing until then
      const restart = meso(['ssh', file, 'master-1', '--', 'systemctl', 'restart', 'zookeeper.service']);
      assert.equal(restart.code, 0, restart.stderr);
      await waitFor(() => /Started zookeeper\.service/.test(out), 30_000);
      assert.match(out, /Stopp(ing|ed) zookeeper\.service/);
      follow.kill('SIGINT');
      assert.equal(await closed, 0, err);
      await waitFor(
        () => meso(['ssh', file, 'master-1', '--', 'pgrep', '-x', 'journalctl']).code === 1,
        10_000,
      );
    } finally {
      const destroyed = meso(['destroy', file, '--auto-approve']);
      assert.equal(destroyed.code, 0, destroyed.stderr);
    }
    assert.deepEqual(state().hosts, {});
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.equal(netns.includes(name), false, netns);
    assert.equal(readFileSync('/proc/mounts', 'utf8').includes(dir), false);
  });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `ok` every 200 ms until it holds; fails after `ms`. */
async function waitFor(ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() >= deadline) throw new Error(`condition not met within ${ms} ms`);
    await sleep(200);
  }
}
