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

/** Wait until `done()`; the deadline only stops a broken test from hanging, no timing is asserted. */
async function until(done: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const lockOn = async (key: string): Promise<LockInfo | undefined> => {
  const t = await text(key);
  return t === undefined ? undefined : (JSON.parse(t) as LockInfo);
};

void test('the heartbeat is renewed on the server while the run holds the lock', async () => {
  const key = 'meso/hb.state.json';
  const backend = new S3StateBackend(client, BUCKET, key, { renewMs: 20 });
  sent.length = 0;
  const lock = await backend.lock('meso apply c.yaml');
  await until(
    async () => Date.parse((await lockOn(`${key}.lock`))?.renewedAt ?? '') > Date.parse(lock.info.startedAt),
    'renewedAt to advance',
  );
  const renewed = (await lockOn(`${key}.lock`))!;
  assert.deepEqual({ ...renewed, renewedAt: lock.info.renewedAt }, lock.info, 'only renewedAt changes');
  // Each renewal re-reads the lock and puts it with if-match on the ETag it read (s3rver ignores it).
  const renewals = sent.filter((r) => r.method === 'PUT' && r.path.endsWith('/hb.state.json.lock')).slice(1);
  assert.ok(
    renewals.length > 0 && renewals.every((r) => /^"[0-9a-f]{32}"$/.test(r.headers['if-match'] ?? '')),
  );
  await lock.release();
  assert.equal(await text(`${key}.lock`), undefined, 'released: no renewal puts it back');
});

void test('after a force-unlock the old holder’s heartbeat stops and leaves the new lock alone', async () => {
  const key = 'meso/hb2.state.json';
  // The old holder has its own client, so that its requests can be told apart.
  const mine: Sent[] = [];
  const oldClient = s3Client('us-east-1', endpoint);
  let renewed: () => void = () => undefined;
  oldClient.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as Sent;
      mine.push({ method: r.method, path: r.path, headers: {} });
      const out = await next(args);
      if (r.method === 'PUT') renewed();
      return out;
    },
    { step: 'finalizeRequest', name: 'recordOld' },
  );
  const old = await new S3StateBackend(oldClient, BUCKET, key, { renewMs: 500 }).lock('meso apply a.yaml');
  // Right after one of its renewals has landed, so that none is in flight across the swap (s3rver does
  // not enforce If-Match, which is what closes that window on AWS).
  await new Promise<void>((resolve) => (renewed = resolve));
  const other = new S3StateBackend(client, BUCKET, key);
  assert.equal((await other.forceUnlock())?.id, old.info.id);
  const theirs = await other.lock('meso apply b.yaml');
  const from = mine.length;
  await until(() => mine.slice(from).some((r) => r.method === 'GET'), 'the old holder to look again');
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual(
    mine.slice(from).map((r) => r.method),
    ['GET'],
    'one look, no write, then no more renewals',
  );
  assert.deepEqual(await lockOn(`${key}.lock`), theirs.info);
  await old.release();
  assert.deepEqual(await lockOn(`${key}.lock`), theirs.info, 'the old release leaves it too');
  await theirs.release();
  oldClient.destroy();
});
