import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { cachedValidatorPath } from '../src/spec/schema.js';
import { spawnMeso } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/** A "validator" that accepts anything: if meso loads it, an invalid spec passes the schema. */
const PLANTED = 'module.exports = function validate() { return true; };\n';

void test('the cached schema validator is used only from a private directory this user owns', () => {
  const dir = tempDir('meso-schema-cache-');
  const spec = join(dir, 'bad.yaml');
  // `kind` must be Cluster: the schema alone says so.
  writeFileSync(
    spec,
    'apiVersion: meso/v1\nkind: NotACluster\nname: t\nprovider: static\nmasters: { hosts: [] }\n',
  );
  const name = basename(cachedValidatorPath());
  for (const [mode, used] of [
    [0o700, true],
    [0o777, false],
  ] as const) {
    const cache = join(dir, `cache-${mode.toString(8)}`);
    mkdirSync(cache);
    chmodSync(cache, mode);
    writeFileSync(join(cache, name), PLANTED, { mode: 0o600 });
    const r = spawnMeso(['validate', spec], { env: { ...process.env, MESO_CACHE_DIR: cache } });
    if (used) {
      // The check below could fail: from a private directory, the planted code is what runs.
      assert.doesNotMatch(r.stderr, /kind/, r.stderr);
    } else {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /kind/, 'from a world-writable directory the schema is compiled again');
    }
  }
});
