import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileSha256 } from '../src/engine/assets.js';
import { tempDir } from './helpers/tmp.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

void test("an archive's sha256 is read from the cache while the file is unchanged, and hashed again once it changes", async () => {
  const dir = tempDir('meso-hash-');
  const file = join(dir, 'mesos.tar.gz');
  const cache = join(dir, 'cache', 'sha256.json');
  writeFileSync(file, 'first build');
  assert.equal(await fileSha256(file, cache), sha('first build'));

  // A cache hit: plant a marker value under the file's key and get it back.
  const entries = JSON.parse(readFileSync(cache, 'utf8')) as Record<string, string>;
  assert.equal(Object.keys(entries).length, 1);
  const key = Object.keys(entries)[0]!;
  writeFileSync(cache, JSON.stringify({ [key]: 'a'.repeat(64) }));
  assert.equal(await fileSha256(file, cache), 'a'.repeat(64));

  // Any write changes the file's ctime: the stale entry is not used, and is replaced.
  writeFileSync(file, 'second build');
  assert.equal(await fileSha256(file, cache), sha('second build'));
  assert.equal(
    Object.keys(JSON.parse(readFileSync(cache, 'utf8')) as object).length,
    1,
    'one entry per file',
  );

  // A cache that cannot be read or written is ignored.
  writeFileSync(cache, 'not json');
  assert.equal(await fileSha256(file, cache), sha('second build'));
  assert.equal(await fileSha256(file, join(file, 'not-a-dir', 'sha256.json')), sha('second build'));
});

void test('a device is not hashed: /dev/zero would be read forever', async () => {
  const cache = join(tempDir('meso-hash-'), 'sha256.json');
  await assert.rejects(fileSha256('/dev/zero', cache), { code: 'not a regular file' });
});
