import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

/**
 * Preloaded with `node --import`: at exit, says how many modules of the AWS SDK (CommonJS, so in
 * the one require.cache) the process loaded.
 */
const PRELOAD = `data:text/javascript,${encodeURIComponent(
  [
    "import { createRequire } from 'node:module';",
    "const cache = createRequire(process.cwd() + '/').cache;",
    "process.on('exit', () => process.stderr.write('\\nMESO_TEST_AWS_SDK_MODULES ' +",
    "  Object.keys(cache).filter((k) => k.includes('/@aws-sdk/')).length + '\\n'));",
  ].join('\n'),
)}`;

/** Run the real executable and count the AWS SDK modules it loaded. */
function sdkModules(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number; count: number; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', PRELOAD, join(ROOT, 'bin', 'meso.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  const m = /MESO_TEST_AWS_SDK_MODULES (\d+)/.exec(r.stderr);
  assert.ok(m, `no module report: ${r.stderr}`);
  return { code: r.status ?? -1, count: Number(m[1]), stderr: r.stderr };
}

void test('commands for static and local clusters never load the AWS SDK', () => {
  const dir = tempDir('meso-lazy-');
  const local = join(dir, 'local.yaml');
  writeFileSync(
    local,
    [
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: lazy',
      'provider: local',
      'install: { method: none }',
      'masters: { count: 1 }',
      'agents: [{ group: w, count: 1 }]',
      '',
    ].join('\n'),
  );
  const cases: string[][] = [
    ['--version'],
    ['validate', 'clusters/ha.yaml'],
    ['render', 'clusters/ha.yaml', '--out', join(dir, 'render')],
    ['plan', 'clusters/ha.yaml', '--offline'],
    // Against the hosts: a local cluster whose hosts do not exist yet plans without SSH.
    ['plan', local],
    // No state yet: refused before the provider is asked anything.
    ['endpoints', local],
    ['force-unlock', local],
    // init writes an aws spec from the plug-in's starter alone.
    ['init', '--provider', 'aws', '--out', join(dir, 'aws.yaml')],
  ];
  for (const args of cases) {
    const r = sdkModules(args, { MESO_LOCAL_DIR: join(dir, 'hosts') });
    assert.equal(r.count, 0, `meso ${args.join(' ')} loaded ${r.count} AWS SDK modules`);
  }
});

void test('a state in S3 loads the SDK (the check above can fail)', () => {
  const dir = tempDir('meso-lazy-s3-');
  const file = join(dir, 's3.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: lazy',
      'provider: static',
      'install: { method: none }',
      'masters: { hosts: [{ name: m1, address: 127.0.0.1 }] }',
      'agents: [{ group: w, hosts: [{ name: a1, address: 127.0.0.2 }] }]',
      // Port 9 on loopback: refused at once, so no traffic leaves the machine.
      'state: { backend: s3, bucket: b, region: us-east-1, endpoint: "http://127.0.0.1:9" }',
      '',
    ].join('\n'),
  );
  const r = sdkModules(['force-unlock', file], {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_MAX_ATTEMPTS: '1',
  });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.count > 0, 'the S3 backend loads the SDK');
});
