import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultStatePath, emptyState, LocalStateBackend } from '../src/state/local.js';
import { isMesoError } from '../src/util/errors.js';
import { race } from './helpers/lock-race.js';
import { tempDir } from './helpers/tmp.js';

const fresh = (): string => join(tempDir('meso-state-'), '.meso', 't.state.json');

void test('state lives in .meso/<name>.state.json next to the spec', () => {
  assert.equal(defaultStatePath('clusters/ha.yaml', 'thegrid'), 'clusters/.meso/thegrid.state.json');
});

void test('read of a missing state is undefined; write then read round-trips, 0600, with a backup', async () => {
  const path = fresh();
  const backend = new LocalStateBackend(path);
  assert.equal(await backend.read(), undefined);
  const s = emptyState('t');
  s.hosts['m1'] = {
    address: '10.0.0.1',
    privateAddress: '10.0.0.1',
    files: {},
    directories: [],
    services: [],
  };
  await backend.write(s);
  assert.deepEqual(await backend.read(), s);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await backend.write({ ...s, serial: 1 });
  assert.equal((JSON.parse(readFileSync(`${path}.backup`, 'utf8')) as { serial: number }).serial, 0);
});

void test('a corrupt state is a clear error, not a crash', async () => {
  const path = fresh();
  const backend = new LocalStateBackend(path);
  await backend.write(emptyState('t'));
  writeFileSync(path, '{ not json');
  await assert.rejects(
    backend.read(),
    (e) => isMesoError(e, 'StateUnreadable') && /is not valid/.test(e.message),
  );
});

void test('the lock is exclusive and names its holder; release frees it', async () => {
  const backend = new LocalStateBackend(fresh());
  const lock = await backend.lock('meso apply c.yaml');
  await assert.rejects(
    backend.lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'StateLocked') &&
      e.message.includes(`pid ${process.pid}`) &&
      e.message.includes(hostname()) &&
      !e.message.includes('stale'),
  );
  await lock.release();
  const again = await backend.lock('meso destroy c.yaml');
  await again.release();
});

void test('a lock of an older meso (no boot id) whose process is gone is reported as stale, never taken over; force-unlock clears it', async () => {
  const path = fresh();
  const backend = new LocalStateBackend(path);
  const lock = await backend.lock('meso apply c.yaml');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  const lockPath = path.replace(/\.state\.json$/, '.lock');
  const { id, hostname: host, user, command, startedAt } = lock.info;
  const old = { id, pid: Number(dead.stdout), hostname: host, user, command, startedAt };
  writeFileSync(lockPath, JSON.stringify(old));
  await assert.rejects(
    backend.lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'StateLocked') &&
      /no longer running \(a stale lock\)/.test(e.message) &&
      /force-unlock/.test(e.hint ?? ''),
  );
  const removed = await backend.forceUnlock();
  assert.equal(removed?.pid, Number(dead.stdout));
  assert.equal(existsSync(lockPath), false);
  await (await backend.lock('meso apply c.yaml')).release();
});

void test('releasing does not remove a lock someone else took after a force-unlock', async () => {
  const backend = new LocalStateBackend(fresh());
  const mine = await backend.lock('a');
  await backend.forceUnlock();
  const theirs = await backend.lock('b');
  await mine.release();
  await assert.rejects(backend.lock('c'), (e) => isMesoError(e, 'StateLocked'));
  await theirs.release();
});

void test('of many processes racing for the lock at once, exactly one wins', async () => {
  // A winner stays alive until every contender has tried: a lock whose holder is gone is taken over.
  const results = await race(fresh(), 8);
  const text = JSON.stringify(results);
  assert.equal(results.filter((r) => r.won).length, 1, text);
  assert.equal(results.filter((r) => r.code === 'StateLocked').length, 7, text);
  assert.equal(results.find((r) => r.won)?.takenOver, undefined);
});

void test("a run killed mid-save leaves a temporary copy; the next lock holder removes it, not another cluster's", async () => {
  const path = fresh();
  const backend = new LocalStateBackend(path);
  await backend.write(emptyState('t'));
  const dir = join(path, '..');
  const ours = ['.t.state.json.0123456789ab.meso-tmp', '.t.state.json.backup.ba9876543210.meso-tmp'];
  const theirs = ['.u.state.json.0123456789ab.meso-tmp', '.t.state.json.x.meso-tmp'];
  for (const n of [...ours, ...theirs]) writeFileSync(join(dir, n), '{');
  const lock = await backend.lock('meso apply t.yaml');
  await lock.release();
  for (const n of ours) assert.equal(existsSync(join(dir, n)), false, n);
  for (const n of theirs) assert.equal(existsSync(join(dir, n)), true, n);
  assert.ok(existsSync(path));
});
