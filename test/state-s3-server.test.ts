// The S3 backend against a real S3-compatible server (s3rver, in this process, on 127.0.0.1 only).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { s3Client } from '../src/providers/aws/clients.js';
import { emptyState } from '../src/state/local.js';
import { S3StateBackend } from '../src/state/s3.js';
import { isMesoError } from '../src/util/errors.js';
import type { LockInfo } from '../src/state/types.js';
import { clusterYaml } from './helpers/build.js';
import { runMeso } from './helpers/cli.js';

// s3rver's fixed account; set before any client exists, because the CLI builds its own from the standard chain.
process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';
delete process.env['AWS_SESSION_TOKEN'];

const BUCKET = 'meso-state';
const dir = mkdtempSync(join(tmpdir(), 'meso-s3rver-'));
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: join(dir, 'data'), silent: true });
let endpoint = '';
let client: S3Client;

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
}
const sent: Sent[] = [];

before(async () => {
  const { port } = await server.run();
  endpoint = `http://127.0.0.1:${port}`;
  client = s3Client('us-east-1', endpoint);
  // The server does not enforce If-None-Match, so what the lock relies on is checked on the wire.
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as Sent;
      sent.push({ method: r.method, path: r.path, headers: { ...r.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

after(async () => {
  client.destroy();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const text = async (key: string): Promise<string | undefined> => {
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return await r.Body?.transformToString();
  } catch (e) {
    if ((e as Error).name === 'NoSuchKey') return undefined;
    throw e;
  }
};

void test('state round-trips through the server, the previous one kept as .backup', async () => {
  const backend = new S3StateBackend(client, BUCKET, 'meso/rt.state.json');
  assert.equal(await backend.read(), undefined);
  const s = emptyState('rt');
  await backend.write(s);
  assert.deepEqual(await backend.read(), s);
  assert.equal(await text('meso/rt.state.json.backup'), undefined);
  await backend.write({ ...s, serial: 1 });
  assert.equal((await backend.read())?.serial, 1);
  assert.equal((JSON.parse((await text('meso/rt.state.json.backup'))!) as { serial: number }).serial, 0);
});

void test('a state with the hash of a secret is migrated on the next write, its backup too', async () => {
  const key = 'meso/mig.state.json';
  const old = emptyState('mig');
  old.hosts['m1'] = {
    address: '10.0.0.1',
    privateAddress: '10.0.0.1',
    files: {
      '/etc/marathon/mesos-secret': { sha256: 'c'.repeat(64), owner: 'root', group: 'root', mode: 0o600 },
      '/etc/mesos/zk': { sha256: 'd'.repeat(64), owner: 'root', group: 'root', mode: 0o644 },
    },
    directories: [],
    services: [],
  };
  // As the earlier meso left it: the hash in the state and in the backup of the one before.
  for (const k of [key, `${key}.backup`])
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: JSON.stringify(old) }));
  const backend = new S3StateBackend(client, BUCKET, key);
  await backend.write({ ...(await backend.read())!, serial: 1 });
  for (const k of [key, `${key}.backup`]) {
    const t = (await text(k))!;
    assert.ok(!t.includes('c'.repeat(64)), `${k} holds the secret's hash`);
    assert.ok(t.includes('d'.repeat(64)), `${k} keeps the plain fingerprint`);
  }
  assert.equal((await backend.read())?.hosts['m1']?.files['/etc/marathon/mesos-secret']?.mode, 0o600);
  // Once migrated, the backup is a server-side copy again.
  sent.length = 0;
  await backend.write({ ...(await backend.read())!, serial: 2 });
  assert.ok(sent.some((r) => r.method === 'PUT' && 'x-amz-copy-source' in r.headers));
  assert.equal((JSON.parse((await text(`${key}.backup`))!) as { serial: number }).serial, 1);
});

void test('the lock PUT, and only it, carries if-none-match: *', async () => {
  const backend = new S3StateBackend(client, BUCKET, 'meso/hdr.state.json');
  sent.length = 0;
  await backend.write(emptyState('hdr'));
  const lock = await backend.lock('meso apply c.yaml');
  await lock.release();
  const puts = sent.filter((r) => r.method === 'PUT' && !('x-amz-copy-source' in r.headers));
  assert.deepEqual(
    puts.map((r) => [r.path, r.headers['if-none-match']]),
    [
      [`/${BUCKET}/meso/hdr.state.json`, undefined],
      [`/${BUCKET}/meso/hdr.state.json.lock`, '*'],
    ],
  );
  assert.ok(puts.every((r) => r.headers['x-amz-server-side-encryption'] === 'AES256'));
});

void test('lock, release and force-unlock against the server', async () => {
  const backend = new S3StateBackend(client, BUCKET, 'meso/lk.state.json');
  const lock = await backend.lock('meso apply c.yaml');
  assert.deepEqual(JSON.parse((await text('meso/lk.state.json.lock'))!), lock.info);
  await lock.release();
  assert.equal(await text('meso/lk.state.json.lock'), undefined);

  const stuck = await backend.lock('meso apply c.yaml');
  assert.deepEqual(await backend.forceUnlock(), stuck.info);
  assert.equal(await text('meso/lk.state.json.lock'), undefined);
  const theirs = await backend.lock('meso destroy c.yaml');
  await stuck.release();
  assert.deepEqual(JSON.parse((await text('meso/lk.state.json.lock'))!), theirs.info, 'theirs is kept');
  assert.equal(await backend.forceUnlock().then((h) => h?.id), theirs.info.id);
  assert.equal(await backend.forceUnlock(), undefined);
});

void test('meso force-unlock FILE removes the lock object and says whose it was', async () => {
  const file = join(dir, 'c.yaml');
  const state = `state: { backend: s3, bucket: ${BUCKET}, key: clusters/t.state.json, endpoint: "${endpoint}" }`;
  writeFileSync(file, clusterYaml({ extra: state }));
  const held: LockInfo = {
    id: 'x',
    pid: 4242,
    hostname: 'ci-runner-7',
    user: 'deploy',
    command: 'meso apply c.yaml',
    startedAt: '2024-05-01T10:00:00.000Z',
  };
  await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'clusters/t.state.json.lock', Body: JSON.stringify(held) }),
  );
  const r = await runMeso('force-unlock', file);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `Removed the lock of pid 4242 (deploy@ci-runner-7, \`meso apply c.yaml\`, since 2024-05-01T10:00:00.000Z) from s3://${BUCKET}/clusters/t.state.json.\n`,
  );
  assert.equal(await text('clusters/t.state.json.lock'), undefined);
  assert.match((await runMeso('force-unlock', file)).stdout, /was not locked/);
});

// moto_server (started by .ci/run where the machine has it) does enforce If-None-Match, so there the
// lock's exclusion itself is proven: of two runs exactly one gets the lock.
const moto = process.env['MESO_AWS_E2E_ENDPOINT'];
void test(
  'against an AWS-compatible server that enforces If-None-Match, a second lock is refused until the first is released',
  { skip: moto === undefined ? 'set MESO_AWS_E2E_ENDPOINT (e.g. moto_server on loopback) to run' : false },
  async () => {
    const c = s3Client('us-east-1', moto);
    const bucket = `meso-lock-${process.pid}`;
    await c.send(new CreateBucketCommand({ Bucket: bucket }));
    const a = new S3StateBackend(c, bucket, 'x/state.json');
    const b = new S3StateBackend(c, bucket, 'x/state.json');
    const held = await a.lock('meso apply one.yaml');
    await assert.rejects(
      b.lock('meso apply two.yaml'),
      (e) => isMesoError(e, 'StateLocked') && e.message.includes('meso apply one.yaml'),
    );
    await held.release();
    const second = await b.lock('meso apply two.yaml');
    await second.release();
    assert.equal(await a.forceUnlock(), undefined);
  },
);
