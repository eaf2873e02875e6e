// Local locks that die with their holder, and waiting for a held lock (--lock-timeout).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { takeLock } from '../src/engine/lock.js';
import { LocalStateBackend } from '../src/state/local.js';
import { holderGone, lockWaiting, newLockInfo, processStartTime } from '../src/state/lock.js';
import type { LockInfo } from '../src/state/types.js';
import { formatAge, parseDuration } from '../src/util/duration.js';
import { isMesoError } from '../src/util/errors.js';
import { deadHolder, holder, race } from './helpers/lock-race.js';
import { tempDir } from './helpers/tmp.js';

const linux = process.platform === 'linux' ? false : 'takeover needs /proc (Linux)';
const fresh = (): string => join(tempDir('meso-lock-'), '.meso', 't.state.json');
const lockPathOf = (statePath: string): string => statePath.replace(/\.state\.json$/, '.lock');
const lockOf = (statePath: string): LockInfo =>
  JSON.parse(readFileSync(lockPathOf(statePath), 'utf8')) as LockInfo;
/** What is left beside the lock: guards and temporary files. */
const leftovers = (statePath: string): string[] =>
  readdirSync(dirname(statePath)).filter((n) => n.startsWith('t.lock.'));

const recorder = (): { said: [string, string][]; say: (t: string, m: string) => void } => {
  const said: [string, string][] = [];
  return { said, say: (t, m) => void said.push([t, m]) };
};

void test(
  'field 22 of /proc/<pid>/stat is read after the last ")", whatever the command name',
  { skip: linux },
  () => {
    const own = readFileSync('/proc/self/stat', 'utf8');
    assert.ok(own.length > 0);
    const mine = processStartTime(process.pid);
    assert.match(mine ?? '', /^\d+$/);
    assert.equal(processStartTime(process.pid), mine, 'stable for one process');
    const info = newLockInfo('x');
    assert.equal(info.startTime, mine);
    assert.match(info.bootId ?? '', /^[0-9a-f-]{36}$/);
    assert.match(info.pidNamespace ?? '', /^pid:\[\d+\]$/);
    assert.equal(holderGone(info), false, 'this very process is not gone');
  },
);

void test(
  'the lock of a holder killed with SIGKILL is taken over, with a notice naming its pid',
  { skip: linux },
  async () => {
    const path = fresh();
    const dead = await deadHolder(path);
    const { said, say } = recorder();
    const lock = await takeLock(new LocalStateBackend(path), { command: 'meso apply c.yaml' }, say);
    assert.equal(lock.takenOver?.pid, dead.pid);
    assert.equal(lock.takenOver?.id, dead.id);
    assert.deepEqual(lockOf(path), lock.info, 'the lock file is now this run’s');
    assert.deepEqual(said, [
      [
        'notice',
        `took over the state lock of pid ${dead.pid} (${dead.user}@${hostname()}, \`meso apply race.yaml\`, since ${dead.startedAt}), which is no longer running`,
      ],
    ]);
    assert.deepEqual(leftovers(path), []);
    await lock.release();
    assert.equal(existsSync(lockPathOf(path)), false);
  },
);

void test('the lock of a live holder is not taken over', { skip: linux }, async () => {
  const path = fresh();
  const h = await holder(path);
  try {
    await assert.rejects(
      new LocalStateBackend(path).lock('meso apply c.yaml'),
      (e) =>
        isMesoError(e, 'StateLocked') &&
        e.message.includes(`pid ${h.info.pid} of`) &&
        !/stale/.test(e.message),
    );
    assert.equal(lockOf(path).id, h.info.id);
  } finally {
    await h.stop('exit');
  }
});

void test(
  'a gone holder from another boot or another host is never taken over',
  { skip: linux },
  async () => {
    const path = fresh();
    const dead = await deadHolder(path);
    for (const [what, over] of [
      ['boot', { bootId: '00000000-0000-0000-0000-000000000000' }],
      ['host', { hostname: 'elsewhere.example' }],
      ['pid namespace', { pidNamespace: 'pid:[1]' }],
    ] as const) {
      writeFileSync(lockPathOf(path), JSON.stringify({ ...dead, ...over }));
      await assert.rejects(
        new LocalStateBackend(path).lock('meso apply c.yaml'),
        (e) => isMesoError(e, 'StateLocked') && /force-unlock/.test(e.hint ?? ''),
        what,
      );
      assert.equal(lockOf(path).id, dead.id, `another ${what}: the lock is left as it is`);
    }
  },
);

void test(
  'a pid reused by another program (its start time differs) counts as gone',
  { skip: linux },
  async () => {
    const path = fresh();
    const h = await holder(path);
    try {
      // The live child's pid, but recorded with another start time: that pid now belongs to someone else.
      writeFileSync(lockPathOf(path), JSON.stringify({ ...h.info, startTime: '1' }));
      const lock = await new LocalStateBackend(path).lock('meso apply c.yaml');
      assert.equal(lock.takenOver?.pid, h.info.pid);
      await lock.release();
    } finally {
      await h.stop('exit');
    }
  },
);

void test(
  'of many processes racing for a dead holder’s lock, exactly one takes it over',
  { skip: linux },
  async () => {
    const path = fresh();
    const dead = await deadHolder(path);
    const results = await race(path, 8);
    const text = JSON.stringify(results);
    const winners = results.filter((r) => r.won);
    assert.equal(winners.length, 1, text);
    assert.equal(winners[0]?.takenOver?.id, dead.id, text);
    assert.equal(results.filter((r) => r.code === 'StateLocked').length, 7, text);
    // The winner held the lock until every contender had tried; then it exited without releasing.
    assert.equal(lockOf(path).id, winners[0]?.info?.id);
    assert.deepEqual(leftovers(path), []);
  },
);

void test('a guard left by a run killed mid-takeover does not wedge the lock', { skip: linux }, async () => {
  const path = fresh();
  const dead = await deadHolder(path);
  // A second run found it gone, created its guard, and was killed before replacing the lock.
  const other = fresh();
  const killedMidway = await deadHolder(other);
  const guard = `${lockPathOf(path)}.takeover-${dead.id}`;
  writeFileSync(guard, JSON.stringify(killedMidway));
  const results = await race(path, 4);
  const winners = results.filter((r) => r.won);
  assert.equal(winners.length, 1, JSON.stringify(results));
  assert.equal(winners[0]?.takenOver?.id, dead.id);
  assert.deepEqual(leftovers(path), [], 'the dead guard is removed');
});

void test(
  'a guard whose owner is alive means a takeover is under way: the lock is refused',
  { skip: linux },
  async () => {
    const path = fresh();
    const dead = await deadHolder(path);
    writeFileSync(`${lockPathOf(path)}.takeover-${dead.id}`, JSON.stringify(newLockInfo('busy')));
    await assert.rejects(new LocalStateBackend(path).lock('x'), (e) => isMesoError(e, 'StateLocked'));
    assert.equal(lockOf(path).id, dead.id);
    // force-unlock clears the lock and every guard beside it.
    assert.equal((await new LocalStateBackend(path).forceUnlock())?.id, dead.id);
    assert.deepEqual(leftovers(path), []);
  },
);

void test('--lock-timeout: waiting acquires the lock once its holder releases it', async () => {
  const backend = new LocalStateBackend(fresh());
  const held = await backend.lock('meso apply one.yaml');
  const { said, say } = recorder();
  const waiting = takeLock(
    backend,
    { command: 'meso apply two.yaml', lockTimeoutMs: 60_000, lockPollMs: 10 },
    say,
  );
  // Released only once the waiter has said it waits: the first try certainly found it held.
  while (said.length === 0) await new Promise((r) => setTimeout(r, 5));
  await held.release();
  const lock = await waiting;
  assert.equal(lock.info.command, 'meso apply two.yaml');
  assert.equal(said.length, 1);
  assert.equal(said[0]?.[0], 'lock');
  assert.match(
    said[0]?.[1] ?? '',
    /is locked by pid \d+ .*meso apply one\.yaml.*; waiting up to 1m 0s for it$/,
  );
  await lock.release();
});

void test('--lock-timeout: a lock still held when the time is up fails as StateLocked', async () => {
  const backend = new LocalStateBackend(fresh());
  const held = await backend.lock('meso apply one.yaml');
  let tries = 0;
  const counting = {
    location: backend.location,
    read: () => backend.read(),
    write: (s: Parameters<typeof backend.write>[0]) => backend.write(s),
    forceUnlock: () => backend.forceUnlock(),
    lock: (c: string) => {
      tries++;
      return backend.lock(c);
    },
  };
  await assert.rejects(
    lockWaiting(counting, 'meso apply two.yaml', { timeoutMs: 100, pollMs: 10 }),
    (e) => isMesoError(e, 'StateLocked') && e.message.includes('meso apply one.yaml'),
  );
  assert.ok(tries > 1, `it tried again while waiting (${tries} tries)`);
  tries = 0;
  await assert.rejects(lockWaiting(counting, 'x', { timeoutMs: 0 }), (e) => isMesoError(e, 'StateLocked'));
  assert.equal(tries, 1, 'no timeout: one try');
  const abort = new AbortController();
  const aborted = lockWaiting(counting, 'x', { timeoutMs: 60_000, pollMs: 10, signal: abort.signal });
  abort.abort();
  await assert.rejects(aborted, (e) => isMesoError(e, 'StateLocked'));
  await held.release();
});

void test('durations are Terraform’s: 30s, 15m, 1h, 1m30s, 0s; anything else is a usage error', () => {
  assert.equal(parseDuration('30s', '--lock-timeout'), 30_000);
  assert.equal(parseDuration('15m', '--lock-timeout'), 900_000);
  assert.equal(parseDuration('1h', '--lock-timeout'), 3_600_000);
  assert.equal(parseDuration('1m30s', '--lock-timeout'), 90_000);
  assert.equal(parseDuration('0s', '--lock-timeout'), 0);
  assert.equal(parseDuration('0', '--lock-timeout'), 0);
  assert.equal(parseDuration('250ms', '--lock-timeout'), 250);
  for (const bad of ['', '15', 'm', '15x', '-1s', '1s junk', '1.s'])
    assert.throws(
      () => parseDuration(bad, '--lock-timeout'),
      (e) =>
        isMesoError(e, 'UsageError') &&
        e.message === `--lock-timeout '${bad}' is not a duration` &&
        /30s, 15m or 1h/.test(e.hint ?? ''),
      bad,
    );
  assert.equal(formatAge(0), '0s');
  assert.equal(formatAge(12_400), '12s');
  assert.equal(formatAge((23 * 60 + 10) * 1000), '23m 10s');
  assert.equal(formatAge(3_605_000), '1h 0m 5s');
  assert.equal(formatAge(-5000), '0s', 'a clock ahead of ours is no age');
});
