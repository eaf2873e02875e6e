// connectSsh against a real OpenSSH server on loopback (test/helpers/sshd.ts). Skipped with a reason when
// not root or sshd is missing, except under CI=true where these must run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectSsh, DEFAULT_RETRY } from '../src/transport/ssh.js';
import type { SshConnection } from '../src/transport/ssh.js';
import type { SshTarget } from '../src/transport/host.js';
import type { RemoteProcess } from '../src/transport/ssh-stream.js';
import { TransportStats } from '../src/transport/stats.js';
import { isMesoError } from '../src/util/errors.js';
import type { MesoErrorCode } from '../src/util/errors.js';
import {
  createUser,
  freePort,
  keygenFingerprints,
  sshdSkipReason,
  startAgent,
  startSshd,
} from './helpers/sshd.js';
import type { Sshd } from './helpers/sshd.js';

const skip = sshdSkipReason();
const FAST_RETRY = { attempts: 2, delaysMs: [100] };

/** A streamed remote process's output and exit, `input` on its stdin (then EOF). */
async function collect(
  p: RemoteProcess,
  input = '',
): Promise<{ code: number; signal?: string; out: string; err: string }> {
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  p.stdin.end(input);
  return { ...(await p.exit), out, err };
}

void describe('ssh transport against a real sshd', { skip }, () => {
  let sshd: Sshd;
  let dir: string;
  let files = 0;

  before(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'meso-ssh-test-'));
  });
  after(async () => {
    await sshd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const hostName = (): string => `[127.0.0.1]:${sshd.port}`;
  /** A known_hosts file with these lines. */
  const knownHosts = (...lines: string[]): string => {
    const path = join(dir, `known_hosts.${++files}`);
    writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
    return path;
  };
  /** A fresh key of the given type that the server does not have. */
  const fakeKey = (type = 'ed25519'): { line: string; pubPath: string } => {
    const path = join(dir, `fake.${++files}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'fake', '-f', path], { stdio: 'ignore' });
    const pubPath = `${path}.pub`;
    const line = execFileSync('cat', [pubPath], { encoding: 'utf8' }).split(' ').slice(0, 2).join(' ');
    return { line, pubPath };
  };
  const target = (over: Partial<SshTarget> = {}): SshTarget => ({
    name: 'lab-1',
    host: '127.0.0.1',
    port: sshd.port,
    user: 'root',
    privateKeyPath: sshd.clientKeyPath,
    useAgent: false,
    connectTimeoutMs: 5000,
    hostKey: { policy: 'strict', knownHostsPath: knownHosts(`${hostName()} ${sshd.hostKeys.ed25519}`) },
    ...over,
  });
  const fails = async (p: Promise<unknown>, code: MesoErrorCode): Promise<Error & { hint?: string }> => {
    try {
      const c = await p;
      if (c !== null && typeof c === 'object' && 'close' in c) await (c as SshConnection).close();
    } catch (e) {
      assert.ok(isMesoError(e, code), `expected MesoError ${code}, got ${String(e)}`);
      return e;
    }
    assert.fail(`expected MesoError ${code}, but it succeeded`);
  };

  void test('exec passes stdin, returns stdout, stderr and exit codes, counts round trips', async () => {
    const stats = new TransportStats();
    const conn = await connectSsh(target(), { stats });
    try {
      assert.equal(conn.hostKey, sshd.hostKeys.ed25519);
      assert.deepEqual(await conn.exec('cat; echo oops >&2; exit 3', { stdin: 'héllo wörld\n' }), {
        code: 3,
        stdout: 'héllo wörld\n',
        stderr: 'oops\n',
      });
      assert.deepEqual(await conn.exec('true'), { code: 0, stdout: '', stderr: '' });
      // No stdin means EOF at once, so a reader does not hang.
      assert.equal((await conn.exec('cat | wc -c')).stdout.trim(), '0');
      // A large stdin goes through with backpressure; multi-byte characters survive chunking.
      const big = 'ü'.repeat(1_000_000);
      const r = await conn.exec('wc -c; exit 0', { stdin: big });
      assert.equal(r.stdout.trim(), String(Buffer.byteLength(big)));
      const echo = await conn.exec('cat', { stdin: big });
      assert.equal(echo.stdout, big);
      // A command killed by a signal reports 128 + signal number, as a shell does.
      assert.equal((await conn.exec('kill -KILL $$')).code, 137);
      // Concurrent commands share the connection.
      const many = await Promise.all([1, 2, 3, 4, 5].map((i) => conn.exec(`echo ${i}`)));
      assert.deepEqual(
        many.map((m) => m.stdout),
        ['1\n', '2\n', '3\n', '4\n', '5\n'],
      );
      assert.equal(conn.stats.connections, 1);
      assert.equal(conn.stats.connectAttempts, 1);
      assert.equal(conn.stats.execs, 11);
      assert.deepEqual(Object.keys(stats.snapshot()), ['lab-1']);
      assert.equal(stats.totals().execs, 11);
    } finally {
      await conn.close();
    }
    await conn.close(); // idempotent
    await fails(conn.exec('true'), 'SshConnectionLost');
  });

  void test('strict: known_hosts with only the ecdsa key makes the server present that key', async () => {
    const conn = await connectSsh(
      target({
        hostKey: { policy: 'strict', knownHostsPath: knownHosts(`${hostName()} ${sshd.hostKeys.ecdsa}`) },
      }),
    );
    assert.equal(conn.hostKey, sshd.hostKeys.ecdsa);
    await conn.close();
  });

  void test('strict: no entry for the host is SshHostKeyUnknown, without retries', async () => {
    const stats = new TransportStats();
    const other = fakeKey();
    const e = await fails(
      connectSsh(
        target({
          hostKey: {
            policy: 'strict',
            knownHostsPath: knownHosts(`[127.0.0.1]:1 ${other.line}`, `127.0.0.1 ${other.line}`),
          },
        }),
        { stats },
      ),
      'SshHostKeyUnknown',
    );
    const [real] = keygenFingerprints(sshd.hostKeyPubPaths.ed25519);
    assert.ok(e.message.includes(hostName()), e.message);
    assert.ok(e.message.includes(real!), e.message);
    assert.match(e.hint ?? '', /ssh-keyscan -p \d+ 127\.0\.0\.1/);
    assert.doesNotMatch(e.hint ?? '', /StrictHostKeyChecking|disable/i);
    assert.equal(stats.counters('lab-1').connectAttempts, 1);
    // A missing known_hosts file is an empty one.
    await fails(
      connectSsh(target({ hostKey: { policy: 'strict', knownHostsPath: join(dir, 'nope') } })),
      'SshHostKeyUnknown',
    );
  });

  void test('strict: a wrong key is SshHostKeyMismatch naming both fingerprints as ssh-keygen -lf prints them', async () => {
    const stats = new TransportStats();
    const fake = fakeKey();
    const path = knownHosts('# header', `${hostName()} ${fake.line}`);
    const e = await fails(
      connectSsh(target({ hostKey: { policy: 'strict', knownHostsPath: path } }), { stats }),
      'SshHostKeyMismatch',
    );
    const [expected] = keygenFingerprints(fake.pubPath);
    const [presented] = keygenFingerprints(sshd.hostKeyPubPaths.ed25519);
    assert.ok(expected !== undefined && presented !== undefined);
    assert.ok(e.message.includes(`expected ssh-ed25519 ${expected} (${path}:2)`), e.message);
    assert.ok(e.message.includes(`presented ssh-ed25519 ${presented}`), e.message);
    assert.ok(e.message.includes(hostName()), e.message);
    assert.ok((e.hint ?? '').includes(`ssh-keygen -R '${hostName()}' -f ${path}`), e.hint);
    assert.equal(stats.counters('lab-1').connectAttempts, 1, 'a host key error is never retried');
  });

  void test('accept-new: an unknown host connects and onNewKey gets the real key line once', async () => {
    const seen: string[] = [];
    const conn = await connectSsh(
      target({
        hostKey: { policy: 'accept-new', knownHostsPath: knownHosts(), onNewKey: (k) => seen.push(k) },
      }),
    );
    await conn.exec('true');
    await conn.close();
    assert.deepEqual(seen, [sshd.hostKeys.ed25519]);
  });

  void test('accept-new: a known host with a different key is still a mismatch, and onNewKey is not called', async () => {
    const seen: string[] = [];
    await fails(
      connectSsh(
        target({
          hostKey: {
            policy: 'accept-new',
            knownHostsPath: knownHosts(`${hostName()} ${fakeKey().line}`),
            onNewKey: (k) => seen.push(k),
          },
        }),
      ),
      'SshHostKeyMismatch',
    );
    assert.deepEqual(seen, []);
  });

  void test('pinned key: a wrong pin is a mismatch whatever the policy; the right pin wins over known_hosts', async () => {
    const seen: string[] = [];
    const fake = fakeKey();
    const e = await fails(
      connectSsh(
        target({
          hostKey: {
            policy: 'accept-new',
            knownHostsPath: knownHosts(),
            pinned: fake.line,
            onNewKey: (k) => seen.push(k),
          },
        }),
      ),
      'SshHostKeyMismatch',
    );
    const [expected] = keygenFingerprints(fake.pubPath);
    const [presented] = keygenFingerprints(sshd.hostKeyPubPaths.ed25519);
    assert.ok(e.message.includes(`expected ssh-ed25519 ${expected} (pinned in meso's state)`), e.message);
    assert.ok(e.message.includes(`presented ssh-ed25519 ${presented}`), e.message);
    assert.match(e.hint ?? '', /update the pin/);
    assert.deepEqual(seen, []);

    // The pin is THE key: strict with no known_hosts entry, or even a stale one, connects.
    const conn = await connectSsh(
      target({
        hostKey: {
          policy: 'strict',
          knownHostsPath: knownHosts(`${hostName()} ${fake.line}`),
          pinned: `${sshd.hostKeys.ecdsa} a-comment`,
        },
      }),
    );
    assert.equal(conn.hostKey, sshd.hostKeys.ecdsa);
    await conn.close();
  });

  void test('a hashed known_hosts entry (ssh-keygen -H) is honoured', async () => {
    const path = knownHosts(`${hostName()} ${sshd.hostKeys.ed25519}`);
    execFileSync('ssh-keygen', ['-H', '-f', path], { stdio: 'ignore' });
    assert.doesNotMatch(execFileSync('cat', [path], { encoding: 'utf8' }), /127\.0\.0\.1/);
    const conn = await connectSsh(target({ hostKey: { policy: 'strict', knownHostsPath: path } }));
    assert.equal((await conn.exec('echo ok')).stdout, 'ok\n');
    await conn.close();
  });

  void test('a key marked @revoked is refused even under accept-new', async () => {
    await fails(
      connectSsh(
        target({
          hostKey: {
            policy: 'accept-new',
            knownHostsPath: knownHosts(`@revoked ${hostName()} ${sshd.hostKeys.ed25519}`),
            onNewKey: () => assert.fail('must not accept a revoked key'),
          },
        }),
      ),
      'SshHostKeyRevoked',
    );
  });

  void test('a refused port is SshUnreachable after 4 attempts with 0.5/1/2 s backoff', async (t) => {
    const port = await freePort();
    const stats = new TransportStats();
    const started = Date.now();
    const e = await fails(connectSsh(target({ port }), { stats }), 'SshUnreachable');
    const elapsed = Date.now() - started;
    t.diagnostic(
      `refused port: failed after ${elapsed} ms and ${stats.counters('lab-1').connectAttempts} attempts`,
    );
    assert.ok(e.message.includes(`127.0.0.1:${port}`), e.message);
    assert.match(e.message, /after 4 attempts: .*ECONNREFUSED/);
    assert.equal(stats.counters('lab-1').connectAttempts, 4);
    assert.ok(elapsed >= 3400 && elapsed < 6000, `elapsed ${elapsed} ms`);
  });

  void test('a server that never speaks hits the connect timeout, which is retried', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const addr = silent.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const stats = new TransportStats();
    const started = Date.now();
    try {
      const e = await fails(
        connectSsh(target({ port, connectTimeoutMs: 300 }), { stats, retry: FAST_RETRY }),
        'SshUnreachable',
      );
      assert.match(e.message, /Timed out while waiting for handshake/);
      assert.equal(stats.counters('lab-1').connectAttempts, 2);
      assert.ok(Date.now() - started < 2000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  void test('a deadline ends the retries: no attempt starts after it, none waits past it', async () => {
    const port = await freePort();
    const stats = new TransportStats();
    // Refused at once; the retry after 0.5 s still starts before the deadline, the one after 1 s more would not.
    const e = await fails(
      connectSsh(target({ port }), { stats, retry: { ...DEFAULT_RETRY, deadlineAt: Date.now() + 1200 } }),
      'SshUnreachable',
    );
    assert.match(e.message, /after 2 attempts: .*ECONNREFUSED/);
    assert.equal(stats.counters('lab-1').connectAttempts, 2);

    // A silent server: the attempt's handshake timeout is cut to what is left before the deadline.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const addr = silent.address();
    const quiet = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const stats2 = new TransportStats();
    const started = Date.now();
    try {
      const timedOut = await fails(
        connectSsh(target({ port: quiet, connectTimeoutMs: 60_000 }), {
          stats: stats2,
          retry: { ...DEFAULT_RETRY, deadlineAt: Date.now() + 700 },
        }),
        'SshUnreachable',
      );
      assert.match(timedOut.message, /after 1 attempt: .*Timed out while waiting for handshake/);
      assert.equal(stats2.counters('lab-1').connectAttempts, 1);
      // Without the cut it would wait for the 60 s handshake timeout.
      assert.ok(Date.now() - started < 10_000, `gave up after ${Date.now() - started} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  void test('a wrong client key is SshAuthFailed, at once and without retries', async () => {
    const stats = new TransportStats();
    const e = await fails(
      connectSsh(target({ privateKeyPath: sshd.wrongClientKeyPath }), { stats }),
      'SshAuthFailed',
    );
    assert.ok(e.message.includes(`root@127.0.0.1:${sshd.port}`), e.message);
    assert.ok(e.message.includes(sshd.wrongClientKeyPath), e.message);
    assert.equal(stats.counters('lab-1').connectAttempts, 1);
    assert.equal(stats.counters('lab-1').connections, 0);
  });

  void test('key file problems are clear errors that never show the key', async () => {
    await fails(connectSsh(target({ privateKeyPath: join(dir, 'missing-key') })), 'SshKeyUnreadable');
    const garbage = join(dir, 'garbage-key');
    writeFileSync(garbage, 'SECRET-MATERIAL-NOT-A-KEY\n', { mode: 0o600 });
    const e = await fails(connectSsh(target({ privateKeyPath: garbage })), 'SshKeyUnreadable');
    assert.doesNotMatch(`${e.message} ${e.hint}`, /SECRET-MATERIAL/);
    await fails(
      connectSsh(target({ privateKeyPath: undefined, useAgent: true }), { env: {} }),
      'SshAuthFailed',
    );
  });

  void test('ssh-agent authentication through SSH_AUTH_SOCK', async () => {
    const agent = await startAgent(dir, sshd.clientKeyPath);
    try {
      const conn = await connectSsh(target({ privateKeyPath: undefined, useAgent: true }), {
        env: { SSH_AUTH_SOCK: agent.socket },
      });
      assert.equal((await conn.exec('id -u')).stdout, '0\n');
      await conn.close();
    } finally {
      await agent.stop();
    }
  });

  void test('a command over its timeout is SshCommandTimeout, and the remote process is killed', async () => {
    const conn = await connectSsh(target(), { killGraceMs: 300 });
    try {
      const started = Date.now();
      const e = await fails(conn.exec('sleep 31.25', { timeoutMs: 300 }), 'SshCommandTimeout');
      assert.ok(Date.now() - started < 1500);
      assert.match(e.message, /lab-1: command timed out after 300 ms: sleep 31\.25/);
      await new Promise((r) => setTimeout(r, 800));
      // The connection still works, and the sleep is gone.
      // procps may be missing on a minimal image: read /proc directly.
      const ps = await conn.exec(
        `for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f" 2>/dev/null; echo; done | grep -c '^sleep 31[.]25 ' || true`,
      );
      assert.equal(ps.stdout.trim(), '0');
    } finally {
      await conn.close();
    }
  });

  void test('a connection dropped mid-command is SshConnectionLost, not a hang', async () => {
    const conn = await connectSsh(target());
    const started = Date.now();
    // Kill the sshd process serving this connection: sh's parent is timeout, whose parent is that process.
    const e = await fails(
      conn.exec('set -- $(cat /proc/$PPID/stat); kill -KILL "$4"; sleep 20', { timeoutMs: 30_000 }),
      'SshConnectionLost',
    );
    assert.ok(Date.now() - started < 5000);
    assert.match(e.message, /^lab-1: the SSH connection was lost while running: set -- /);
    await fails(conn.exec('true'), 'SshConnectionLost');
    await conn.close();
  });

  void test('bastion: both hops verify their host key, the inner one rides a direct-tcpip channel', async () => {
    const seenBastion: string[] = [];
    const seenTarget: string[] = [];
    const stats = new TransportStats();
    const conn = await connectSsh(
      target({
        hostKey: { policy: 'accept-new', knownHostsPath: knownHosts(), onNewKey: (k) => seenTarget.push(k) },
        bastion: {
          host: '127.0.0.1',
          port: sshd.port,
          user: 'root',
          privateKeyPath: sshd.clientKeyPath,
          hostKey: {
            policy: 'accept-new',
            knownHostsPath: knownHosts(),
            pinned: sshd.hostKeys.ecdsa,
            onNewKey: (k) => seenBastion.push(k),
          },
        },
      }),
      { stats },
    );
    assert.equal((await conn.exec('echo via')).stdout, 'via\n');
    await conn.close();
    assert.deepEqual(seenTarget, [sshd.hostKeys.ed25519]);
    assert.deepEqual(seenBastion, [], 'a pinned bastion key is not new');
    assert.match(sshd.log(), new RegExp(`direct.tcpip.*127\\.0\\.0\\.1 port ${sshd.port}`));
    assert.deepEqual(Object.keys(stats.snapshot()), [`bastion root@127.0.0.1:${sshd.port}`, 'lab-1']);

    // A wrong bastion key stops at the bastion; a wrong target key after a good bastion names the target.
    const wrong = fakeKey();
    const eb = await fails(
      connectSsh(
        target({
          bastion: {
            host: '127.0.0.1',
            port: sshd.port,
            user: 'root',
            privateKeyPath: sshd.clientKeyPath,
            hostKey: { policy: 'strict', knownHostsPath: knownHosts(`${hostName()} ${wrong.line}`) },
          },
        }),
      ),
      'SshHostKeyMismatch',
    );
    assert.match(eb.message, /^lab-1 \(bastion 127\.0\.0\.1:\d+\): host key/);
    const et = await fails(
      connectSsh(
        target({
          hostKey: { policy: 'strict', knownHostsPath: knownHosts(`${hostName()} ${wrong.line}`) },
          bastion: {
            host: '127.0.0.1',
            port: sshd.port,
            user: 'root',
            privateKeyPath: sshd.clientKeyPath,
            hostKey: {
              policy: 'strict',
              knownHostsPath: knownHosts(`${hostName()} ${sshd.hostKeys.ed25519}`),
            },
          },
        }),
      ),
      'SshHostKeyMismatch',
    );
    assert.match(et.message, /^lab-1: host key/);

    // The bastion cannot reach the target port: retried, then SshUnreachable.
    const closed = await freePort();
    const stats2 = new TransportStats();
    const eu = await fails(
      connectSsh(
        target({
          port: closed,
          bastion: {
            host: '127.0.0.1',
            port: sshd.port,
            user: 'root',
            privateKeyPath: sshd.clientKeyPath,
            hostKey: {
              policy: 'strict',
              knownHostsPath: knownHosts(`${hostName()} ${sshd.hostKeys.ed25519}`),
            },
          },
        }),
        { stats: stats2, retry: FAST_RETRY },
      ),
      'SshUnreachable',
    );
    assert.match(eu.message, /through the bastion after 2 attempts/);
    assert.equal(stats2.counters('lab-1').connectAttempts, 2);
  });

  void test('stream: stdout and stderr apart, stdin and its EOF, exit codes, signals, a terminal', async () => {
    const conn = await connectSsh(target());
    try {
      const r = await collect(await conn.stream({ command: 'cat; echo err >&2; exit 4' }), 'in\n');
      assert.deepEqual(r, { code: 4, out: 'in\n', err: 'err\n' });
      const killed = await collect(await conn.stream({ command: 'kill -TERM $$' }));
      assert.deepEqual([killed.code, killed.signal], [143, 'SIGTERM']);
      const shell = await collect(await conn.stream({}), 'echo from-shell; exit 6\n');
      assert.deepEqual([shell.code, shell.out], [6, 'from-shell\n']);
      // A terminal of the asked size; a resize reaches it.
      const tty = await conn.stream({
        command: 'stty size; read x; stty size',
        pty: { term: 'xterm', rows: 30, cols: 100 },
      });
      let out = '';
      tty.stdout.on('data', (d: Buffer) => (out += d.toString()));
      while (!out.includes('30 100')) await new Promise((r) => setTimeout(r, 50));
      tty.resize(40, 120);
      await new Promise((r) => setTimeout(r, 200));
      tty.stdin.write('\r');
      assert.equal((await tty.exit).code, 0);
      assert.match(out, /30 100\r\n.*40 120\r\n/s);
      assert.equal((await conn.exec('echo still')).stdout, 'still\n', 'the connection stays usable');
    } finally {
      await conn.close();
    }
  });

  void test(
    'non-root user: sudo -n -- sh -c with the command as one quoted argument, values on stdin',
    {
      skip:
        process.env['CI'] === 'true' && process.getuid?.() === 0
          ? undefined
          : 'creates throwaway users with NOPASSWD sudo only under CI=true as root',
    },
    async () => {
      const admin = createUser('mesosudo', { sudoNoPasswd: true });
      const plain = createUser('mesonosudo', { sudoNoPasswd: false });
      try {
        const conn = await connectSsh(target({ user: admin.name, sudo: true }));
        try {
          const r = await conn.exec(`id -u; printf '%s' "it's $(cat)"`, { stdin: '$(reboot) `x`' });
          assert.deepEqual(r, { code: 0, stdout: "0\nit's $(reboot) `x`", stderr: '' });
          assert.equal((await conn.exec('exit 5')).code, 5);
          const root = await collect(await conn.stream({ command: 'id -u', asRoot: true }));
          assert.deepEqual([root.code, root.out], [0, '0\n'], 'asRoot: through sudo -n');
          const self = await collect(await conn.stream({ command: 'id -u' }));
          assert.notEqual(self.out, '0\n', 'without asRoot: the SSH user itself');
        } finally {
          await conn.close();
        }
        const asUser = await connectSsh(target({ user: admin.name }));
        assert.notEqual((await asUser.exec('id -u')).stdout, '0\n');
        await asUser.close();

        const noSudo = await connectSsh(target({ user: plain.name, sudo: true }));
        try {
          await fails(noSudo.exec('id -u'), 'SshSudoFailed');
        } finally {
          await noSudo.close();
        }
      } finally {
        admin.remove();
        plain.remove();
      }
    },
  );

  void test('measure: login on loopback and one exec on an open connection', async (t) => {
    const logins: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = process.hrtime.bigint();
      const c = await connectSsh(target());
      logins.push(Number(process.hrtime.bigint() - s) / 1e6);
      await c.close();
    }
    const conn = await connectSsh(target());
    const execs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = process.hrtime.bigint();
      await conn.exec('true');
      execs.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    const bare: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = process.hrtime.bigint();
      await conn.exec('true', { timeoutMs: 0 });
      bare.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    await conn.close();
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    t.diagnostic(
      `new login: median ${median(logins).toFixed(1)} ms (${logins.map((x) => x.toFixed(0)).join(', ')})`,
    );
    t.diagnostic(`exec on open connection: median ${median(execs).toFixed(1)} ms over ${execs.length}`);
    t.diagnostic(
      `exec without the timeout wrapper: median ${median(bare).toFixed(1)} ms over ${bare.length}`,
    );
    assert.ok(median(logins) < 5000);
  });
});
