import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { followScript, journalCommand, logUnits, parseLines } from '../src/engine/logs.js';
import { hostProblem, pump } from '../src/engine/remote.js';
import type { Interrupts } from '../src/engine/remote.js';
import { sshCommandLine } from '../src/engine/ssh.js';
import type { DesiredService } from '../src/render/types.js';
import type { RemoteExit, RemoteProcess } from '../src/transport/ssh-stream.js';
import { isMesoError } from '../src/util/errors.js';
import { ROOT, spawnMeso } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const MASTER: DesiredService[] = [
  { name: 'zookeeper', unit: 'zookeeper.service' },
  { name: 'mesos-master', unit: 'mesos-master.service' },
  { name: 'marathon', unit: 'marathon.service' },
];
const AGENT: DesiredService[] = [{ name: 'mesos-agent', unit: 'mesos-agent.service' }];

const throwsCode = (f: () => unknown, code: string, message: RegExp): void =>
  assert.throws(f, (e: unknown) => isMesoError(e) && e.code === code && message.test(e.message));

void describe('meso ssh: the remote command line', () => {
  void test('no words: a login shell', () => {
    assert.equal(sshCommandLine([]), undefined);
  });

  void test('each word arrives as itself through a POSIX shell', () => {
    const words = ['a b', '$HOME', "it's", '"q"', '`id`; echo x', '*', '', 'tab\there', 'new\nline', '-n'];
    const line = sshCommandLine(['printf', '%s|', ...words])!;
    assert.equal(line.startsWith('printf '), true, 'safe words stay bare');
    const r = spawnSync('sh', ['-c', line], { encoding: 'utf8' });
    assert.equal(r.stdout, words.map((w) => `${w}|`).join(''));
  });
});

void describe('meso logs: units and the journalctl command', () => {
  void test('all of the host units, or one service by name or unit name', () => {
    assert.deepEqual(logUnits('master-1', MASTER), [
      'zookeeper.service',
      'mesos-master.service',
      'marathon.service',
    ]);
    assert.deepEqual(logUnits('master-1', MASTER, 'mesos-master'), ['mesos-master.service']);
    assert.deepEqual(logUnits('w-1', AGENT, 'mesos-agent.service'), ['mesos-agent.service']);
  });

  void test('a service the host does not run, an unknown one, a host without any', () => {
    throwsCode(
      () => logUnits('w-1', AGENT, 'zookeeper'),
      'UsageError',
      /^w-1 does not run zookeeper; meso runs mesos-agent there$/,
    );
    throwsCode(
      () => logUnits('master-1', MASTER, 'zk'),
      'UsageError',
      /unknown service 'zk'; meso's services are zookeeper, mesos-master, marathon, mesos-agent/,
    );
    assert.throws(
      () => logUnits('master-1', MASTER, 'marathn'),
      (e: unknown) => isMesoError(e) && e.hint === "did you mean 'marathon'?",
    );
    throwsCode(() => logUnits('x', [], undefined), 'UsageError', /meso runs no service on x/);
  });

  void test('--lines is a whole number', () => {
    assert.equal(parseLines('20'), 20);
    assert.equal(parseLines('0'), 0);
    for (const bad of ['-1', '1.5', 'x', '', '20; reboot']) {
      throwsCode(() => parseLines(bad), 'UsageError', /--lines must be a whole number/);
    }
  });

  void test('journalctl: no pager, ISO times, the units, -f last', () => {
    assert.equal(
      journalCommand(['zookeeper.service', 'mesos-master.service'], { lines: 20, follow: false }),
      'journalctl --no-pager -o short-iso -n 20 -u zookeeper.service -u mesos-master.service',
    );
    assert.equal(
      journalCommand(['marathon.service'], { lines: 0, follow: true }),
      'journalctl --no-pager -o short-iso -n 0 -u marathon.service -f',
    );
  });

  void test('--follow: EOF on stdin stops the command; its own exit is the script exit', async () => {
    const started = Date.now();
    const child = spawn('sh', ['-c', followScript('sleep 30')], { stdio: ['pipe', 'pipe', 'pipe'] });
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.end();
    assert.equal(await code, 143, 'sleep was TERMed');
    assert.ok(Date.now() - started < 5000);
    // Without EOF the command's own status comes back, and its output with it.
    const own = spawn('sh', ['-c', followScript("sh -c 'echo out; exit 3'")], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    own.stdout.on('data', (d: Buffer) => (out += d.toString()));
    assert.equal(await new Promise((resolve) => own.on('close', resolve)), 3);
    assert.equal(out, 'out\n');
  });
});

void describe('the host by name', () => {
  const names = ['master-1', 'master-2', 'w-1'];
  void test('an unknown host names the known ones, with a suggestion', () => {
    const e = hostProblem('master-3', 'c', names, () => true, 'c.yaml');
    assert.ok(e !== undefined);
    assert.equal(e.code, 'UsageError');
    assert.equal(e.message, "unknown host 'master-3' in cluster c; its hosts are: master-1, master-2, w-1");
    assert.match(e.hint ?? '', /did you mean 'master-1'\?/);
  });
  void test('a host not created yet says to apply', () => {
    const e = hostProblem('w-1', 'c', names, (n) => n !== 'w-1', 'c.yaml');
    assert.match(e?.message ?? '', /host w-1 is not in the state of cluster c/);
    assert.equal(e?.hint, 'run `meso apply c.yaml` first');
    assert.equal(
      hostProblem('master-1', 'c', names, () => true, 'c.yaml'),
      undefined,
    );
  });
});

/** A remote process made of in-memory streams, ending when `finish` is called. */
function fakeProcess(): {
  proc: RemoteProcess;
  remoteIn: PassThrough;
  out: PassThrough;
  err: PassThrough;
  finish: (exit: RemoteExit | Error) => void;
  closed: () => boolean;
} {
  const remoteIn = new PassThrough();
  const out = new PassThrough();
  const err = new PassThrough();
  let finish!: (exit: RemoteExit | Error) => void;
  const exit = new Promise<RemoteExit>((resolve, reject) => {
    finish = (x) => (x instanceof Error ? reject(x) : resolve(x));
  });
  exit.catch(() => undefined);
  let closed = false;
  return {
    proc: {
      stdin: remoteIn,
      stdout: out,
      stderr: err,
      resize: () => undefined,
      signal: () => undefined,
      close: () => {
        closed = true;
        finish(new Error('closed without a status'));
      },
      exit,
    },
    remoteIn,
    out,
    err,
    finish,
    closed: () => closed,
  };
}

const sink = (): { w: Writable; bytes: () => Buffer } => {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  return { w, bytes: () => Buffer.concat(chunks) };
};

void describe('pump: remote bytes to local streams', () => {
  void test('bytes pass unchanged, stdin reaches the remote with its EOF, the exit comes back', async () => {
    const f = fakeProcess();
    const stdout = sink();
    const stderr = sink();
    const stdin = new PassThrough();
    const got: Buffer[] = [];
    f.remoteIn.on('data', (c: Buffer) => got.push(c));
    f.remoteIn.on('end', () => {
      f.out.write(Buffer.from([0, 255, 0xc3]));
      f.err.write('warn\n');
      setImmediate(() => f.finish({ code: 3 }));
    });
    const ending = pump(f.proc, { stdin, stdout: stdout.w, stderr: stderr.w }, { onInterrupt: 'hangup' });
    stdin.end('script\n');
    assert.deepEqual(await ending, { kind: 'exit', exit: { code: 3 } });
    assert.equal(Buffer.concat(got).toString(), 'script\n');
    assert.deepEqual([...stdout.bytes()], [0, 255, 0xc3]);
    assert.equal(stderr.bytes().toString(), 'warn\n');
  });

  void test('a signal: eof first (the host-side watcher stops the command), or hang up at once', async () => {
    let fire!: (s: NodeJS.Signals) => void;
    let subscribed = 0;
    const interrupts: Interrupts = (on) => {
      subscribed++;
      fire = on;
      return () => subscribed--;
    };
    const f = fakeProcess();
    f.remoteIn.resume();
    f.remoteIn.on('end', () => f.finish({ code: 143, signal: 'SIGTERM' }));
    const io = { stdout: sink().w, stderr: sink().w };
    const follow = pump(f.proc, io, { onInterrupt: 'eof', keepStdinOpen: true, interrupts });
    fire('SIGINT');
    assert.deepEqual(await follow, { kind: 'interrupted', signal: 'SIGINT' });
    assert.equal(f.closed(), false, 'the remote ended by itself on EOF');
    assert.equal(subscribed, 0, 'the signal handlers are removed');

    const g = fakeProcess();
    const shell = pump(g.proc, io, { onInterrupt: 'hangup', interrupts });
    fire('SIGTERM');
    assert.deepEqual(await shell, { kind: 'interrupted', signal: 'SIGTERM' });
    assert.equal(g.closed(), true);
  });

  void test('a lost connection is an error; a reader gone from our stdout hangs up', async () => {
    const f = fakeProcess();
    const lost = pump(f.proc, { stdout: sink().w, stderr: sink().w }, { onInterrupt: 'hangup' });
    f.finish(new Error('connection lost'));
    await assert.rejects(lost, /connection lost/);

    const g = fakeProcess();
    const broken = new Writable({
      write(_c, _e, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const ending = pump(g.proc, { stdout: broken, stderr: sink().w }, { onInterrupt: 'hangup' });
    g.out.write('x');
    assert.deepEqual(await ending, { kind: 'output-closed' });
    assert.equal(g.closed(), true);
  });
});

void describe('meso ssh and meso logs without hosts', () => {
  const dir = tempDir('meso-ops-');
  const file = join(dir, 'dev.yaml');
  copyFileSync(join(ROOT, 'clusters', 'dev.yaml'), file);

  void test('an unknown host: exit 1, the known hosts, no stack', () => {
    const r = spawnMeso(['ssh', file, 'dev-2', '--', 'true']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: unknown host 'dev-2' in cluster dev; its hosts are: dev-1\n/);
    assert.match(r.stderr, /hint: did you mean 'dev-1'\?/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  void test('a host meso has not configured yet (nothing in the state)', () => {
    for (const args of [
      ['ssh', file, 'dev-1'],
      ['logs', file, 'dev-1', 'zookeeper'],
    ]) {
      const r = spawnMeso(args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /host dev-1 is not in the state of cluster dev/);
    }
  });

  void test('usage: --lines checked before anything else; the commands are listed', () => {
    const r = spawnMeso(['logs', file, 'dev-1', '--lines', 'many']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--lines must be a whole number of lines, 0 or more; got 'many'/);
    const help = spawnMeso(['--help']);
    assert.match(help.stdout, /ssh \[options\] <file> <host> \[command\.\.\.\]/);
    assert.match(help.stdout, /logs \[options\] <file> <host> \[service\]/);
  });
});
