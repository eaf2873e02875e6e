import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { beforeEach, test } from 'node:test';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { stateBackend } from '../src/engine/session.js';
import { emptyState } from '../src/state/local.js';
import { lockedError } from '../src/state/lock.js';
import { S3StateBackend } from '../src/state/s3.js';
import type { LockInfo } from '../src/state/types.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

const KEY = 'meso/t.state.json';
const backend = (): S3StateBackend => new S3StateBackend(new S3Client({ region: 'us-east-1' }), 'b', KEY);

/** A GetObject body as the SDK returns it; the backend only reads it as a string. */
const body = (text: string): GetObjectCommandOutput['Body'] =>
  ({ transformToString: () => Promise.resolve(text) }) as unknown as GetObjectCommandOutput['Body'];

const noSuchKey = (): NoSuchKey =>
  new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });

const serviceError = (name: string, httpStatusCode: number, message: string): S3ServiceException =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message });

const holder = (over: Partial<LockInfo> = {}): LockInfo => ({
  id: 'other-run',
  pid: 4242,
  hostname: 'ci-runner-7',
  user: 'deploy',
  command: 'meso apply c.yaml',
  startedAt: '2024-05-01T10:00:00.000Z',
  ...over,
});

void test('the s3 backend is s3://bucket/key, with key meso/<name>.state.json by default', async () => {
  const spec = specOf(clusterYaml({ extra: 'state: { backend: s3, bucket: b, region: eu-west-1 }' }));
  assert.equal((await stateBackend(spec, 'c.yaml')).location, 's3://b/meso/t.state.json');
  const keyed = specOf(clusterYaml({ extra: 'state: { backend: s3, bucket: b, key: x/y.json }' }));
  assert.equal((await stateBackend(keyed, 'c.yaml')).location, 's3://b/x/y.json');
});

void test('read of a missing key is undefined; an existing one is parsed', async () => {
  s3.on(GetObjectCommand).rejects(noSuchKey());
  assert.equal(await backend().read(), undefined);
  const state = emptyState('t');
  s3.on(GetObjectCommand, { Bucket: 'b', Key: KEY }).resolves({ Body: body(JSON.stringify(state)) });
  assert.deepEqual(await backend().read(), state);
});

void test('write backs up the previous state, then puts JSON with server-side encryption', async () => {
  s3.on(CopyObjectCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  const state = { ...emptyState('t'), serial: 3 };
  await backend().write(state);
  assert.deepEqual(
    s3.calls().map((c) => c.args[0].constructor.name),
    ['CopyObjectCommand', 'PutObjectCommand'],
  );
  assert.deepEqual(s3.commandCalls(CopyObjectCommand)[0]!.args[0].input, {
    Bucket: 'b',
    Key: `${KEY}.backup`,
    CopySource: `b/${KEY}`,
    ServerSideEncryption: 'AES256',
  });
  const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
  assert.equal(put.Key, KEY);
  assert.equal(put.ContentType, 'application/json');
  assert.equal(put.ServerSideEncryption, 'AES256');
  assert.equal(put.IfNoneMatch, undefined);
  assert.deepEqual(JSON.parse(put.Body as string), state);
});

void test('the first write has nothing to back up and still puts the state', async () => {
  s3.on(CopyObjectCommand).rejects(noSuchKey());
  s3.on(PutObjectCommand).resolves({});
  await backend().write(emptyState('t'));
  assert.equal(s3.commandCalls(PutObjectCommand).length, 1);
});

void test('lock puts <key>.lock with If-None-Match: * and the holder', async () => {
  s3.on(PutObjectCommand).resolves({});
  const lock = await backend().lock('meso apply c.yaml');
  const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
  assert.equal(put.Bucket, 'b');
  assert.equal(put.Key, `${KEY}.lock`);
  assert.equal(put.IfNoneMatch, '*');
  assert.equal(put.ServerSideEncryption, 'AES256');
  const info = JSON.parse(put.Body as string) as LockInfo;
  assert.deepEqual(info, lock.info);
  assert.equal(info.pid, process.pid);
  assert.equal(info.hostname, hostname());
  assert.equal(info.command, 'meso apply c.yaml');
  assert.ok(info.id.length > 0 && info.user.length > 0 && !Number.isNaN(Date.parse(info.startedAt)));
});

void test('a lock held elsewhere (412 PreconditionFailed) is StateLocked naming its holder', async () => {
  s3.on(PutObjectCommand).rejects(
    serviceError('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold'),
  );
  s3.on(GetObjectCommand, { Key: `${KEY}.lock` }).resolves({ Body: body(JSON.stringify(holder())) });
  await assert.rejects(
    backend().lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'StateLocked') &&
      e.message ===
        `state s3://b/${KEY} is locked by pid 4242 of deploy@ci-runner-7 (\`meso apply c.yaml\`, since 2024-05-01T10:00:00.000Z)` &&
      /wait for that run to finish \(`--lock-timeout 15m` waits for it\); if it died, run `meso force-unlock FILE`/.test(
        e.hint ?? '',
      ),
  );
});

void test('a conditional write in flight (409 ConditionalRequestConflict) is StateLocked too', async () => {
  s3.on(PutObjectCommand).rejects(serviceError('ConditionalRequestConflict', 409, 'conflict'));
  s3.on(GetObjectCommand).rejects(noSuchKey());
  await assert.rejects(
    backend().lock('meso apply c.yaml'),
    (e) => isMesoError(e, 'StateLocked') && e.message.includes(`the lock object s3://b/${KEY}.lock`),
  );
});

void test('a lock of a process gone from this machine is reported as stale', async () => {
  // Above Linux's largest pid_max (2^22), so no process has it.
  const dead = holder({ hostname: hostname(), pid: 2 ** 22 + 12345 });
  s3.on(PutObjectCommand).rejects(serviceError('PreconditionFailed', 412, 'precondition'));
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(dead)) });
  await assert.rejects(
    backend().lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'StateLocked') &&
      e.message.includes(`pid ${dead.pid} of deploy@${hostname()}`) &&
      /no longer running \(a stale lock\)/.test(e.message) &&
      /make sure no meso run is still working.*`meso force-unlock FILE`/.test(e.hint ?? ''),
  );
});

void test('release deletes the lock only while it is still this run’s', async () => {
  s3.on(PutObjectCommand).resolves({});
  s3.on(DeleteObjectCommand).resolves({});
  const lock = await backend().lock('a');
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(lock.info)) });
  await lock.release();
  assert.deepEqual(s3.commandCalls(DeleteObjectCommand)[0]!.args[0].input, {
    Bucket: 'b',
    Key: `${KEY}.lock`,
  });

  const mine = await backend().lock('b');
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(holder())) });
  await mine.release();
  assert.equal(s3.commandCalls(DeleteObjectCommand).length, 1, 'someone else’s lock is left alone');
});

void test('forceUnlock deletes the lock and returns its holder; with none, undefined', async () => {
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(holder())) });
  s3.on(DeleteObjectCommand).resolves({});
  assert.deepEqual(await backend().forceUnlock(), holder());
  assert.equal(s3.commandCalls(DeleteObjectCommand)[0]!.args[0].input.Key, `${KEY}.lock`);
  s3.on(GetObjectCommand).rejects(noSuchKey());
  assert.equal(await backend().forceUnlock(), undefined);
});

void test('AccessDenied is AwsCallFailed naming the call and the permissions needed', async () => {
  s3.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403, 'Access Denied'));
  await assert.rejects(
    backend().read(),
    (e) =>
      isMesoError(e, 'AwsCallFailed') &&
      e.message === `S3 GetObject s3://b/${KEY} failed: AccessDenied: Access Denied` &&
      /s3:GetObject, s3:PutObject and s3:DeleteObject on arn:aws:s3:::b\/meso\/t\.state\.json\*/.test(
        e.hint ?? '',
      ),
  );
});

void test('NoSuchBucket is AwsCallFailed saying to create the bucket or fix state.bucket', async () => {
  const err = new NoSuchBucket({
    $metadata: { httpStatusCode: 404 },
    message: 'The specified bucket does not exist',
  });
  s3.on(GetObjectCommand).rejects(err);
  await assert.rejects(
    backend().read(),
    (e) => isMesoError(e, 'AwsCallFailed') && /create the bucket b, or fix state\.bucket/.test(e.hint ?? ''),
  );
  s3.on(CopyObjectCommand).rejects(err);
  await assert.rejects(
    backend().write(emptyState('t')),
    (e) =>
      isMesoError(e, 'AwsCallFailed') &&
      e.message.startsWith(`S3 CopyObject s3://b/${KEY}.backup failed: NoSuchBucket`),
  );
  assert.equal(s3.commandCalls(PutObjectCommand).length, 0, 'no state is put after a failed backup');
});

void test('missing credentials is AwsCallFailed pointing at the standard credential chain', async () => {
  const err = Object.assign(new Error('Could not load credentials from any providers'), {
    name: 'CredentialsProviderError',
  });
  s3.on(PutObjectCommand).rejects(err);
  await assert.rejects(
    backend().lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'AwsCallFailed') &&
      e.message ===
        `S3 PutObject s3://b/${KEY}.lock failed: CredentialsProviderError: Could not load credentials from any providers` &&
      /AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/.test(e.hint ?? ''),
  );
});

void test('a corrupt or unknown state is StateUnreadable with a hint', async () => {
  s3.on(GetObjectCommand).resolves({ Body: body('{ not json') });
  await assert.rejects(
    backend().read(),
    (e) =>
      isMesoError(e, 'StateUnreadable') &&
      e.message.startsWith(`state s3://b/${KEY} is not valid:`) &&
      (e.hint ?? '').includes(`s3://b/${KEY}.backup`),
  );
  s3.on(GetObjectCommand).resolves({ Body: body('{"formatVersion":"9"}') });
  await assert.rejects(
    backend().read(),
    (e) => isMesoError(e, 'StateUnreadable') && /format_version 9/.test(e.message),
  );
});

/** Wait until `done()`; the deadline only stops a broken test from hanging, no timing is asserted. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quick = (): S3StateBackend =>
  new S3StateBackend(new S3Client({ region: 'us-east-1' }), 'b', KEY, { renewMs: 5 });

void test('the lock starts with its heartbeat: renewedAt is startedAt', async () => {
  s3.on(PutObjectCommand).resolves({});
  const lock = await backend().lock('meso apply c.yaml');
  const put = JSON.parse(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body as string) as LockInfo;
  assert.equal(put.renewedAt, put.startedAt);
  assert.equal(lock.info.renewedAt, lock.info.startedAt);
});

void test('the heartbeat rewrites renewedAt with If-Match on the ETag it read, and stops at release', async () => {
  s3.on(PutObjectCommand).resolves({});
  s3.on(DeleteObjectCommand).resolves({});
  const lock = await quick().lock('meso apply c.yaml');
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(lock.info)), ETag: '"e1"' });
  await until(() => s3.commandCalls(PutObjectCommand).length >= 3, 'two renewals');
  const renewal = s3.commandCalls(PutObjectCommand)[1]!.args[0].input;
  assert.equal(renewal.Key, `${KEY}.lock`);
  assert.equal(renewal.IfMatch, '"e1"');
  assert.equal(renewal.IfNoneMatch, undefined);
  assert.equal(renewal.ServerSideEncryption, 'AES256');
  const renewed = JSON.parse(renewal.Body as string) as LockInfo;
  assert.deepEqual({ ...renewed, renewedAt: lock.info.renewedAt }, lock.info, 'only renewedAt changes');
  assert.ok(Date.parse(renewed.renewedAt!) >= Date.parse(lock.info.renewedAt!));
  await lock.release();
  assert.equal(s3.commandCalls(DeleteObjectCommand).length, 1);
  const puts = s3.commandCalls(PutObjectCommand).length;
  await pause(50);
  assert.equal(s3.commandCalls(PutObjectCommand).length, puts, 'no renewal after release');
});

void test('the heartbeat never writes over someone else’s lock, and stops for good', async () => {
  s3.on(PutObjectCommand).resolves({});
  await quick().lock('meso apply c.yaml');
  // Force-unlocked and taken by another run meanwhile.
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(holder())), ETag: '"theirs"' });
  await until(() => s3.commandCalls(GetObjectCommand).length >= 1, 'a renewal');
  await pause(50);
  assert.equal(s3.commandCalls(GetObjectCommand).length, 1, 'renewing stopped');
  assert.equal(s3.commandCalls(PutObjectCommand).length, 1, 'only the lock itself was put');
});

void test('a renewal refused by If-Match (412) stops the heartbeat; a failed one is tried again', async () => {
  s3.on(PutObjectCommand)
    .resolvesOnce({})
    .rejects(serviceError('PreconditionFailed', 412, 'At least one of the pre-conditions did not hold'));
  const lock = await quick().lock('meso apply c.yaml');
  s3.on(GetObjectCommand)
    .rejectsOnce(serviceError('InternalError', 500, 'We encountered an internal error'))
    .resolves({ Body: body(JSON.stringify(lock.info)), ETag: '"e1"' });
  await until(() => s3.commandCalls(PutObjectCommand).length >= 2, 'a renewal after the failed one');
  await pause(50);
  assert.equal(s3.commandCalls(PutObjectCommand).length, 2, 'no renewal after the 412');
  assert.equal(s3.commandCalls(GetObjectCommand).length, 2);
});

const heldFor = (ageMs: number, over: Partial<LockInfo> = {}): LockInfo =>
  holder({ renewedAt: new Date(Date.now() - ageMs).toISOString(), ...over });

void test('a lock whose heartbeat is older than lockTimeoutSeconds is reported as stale, with its age', async () => {
  s3.on(PutObjectCommand).rejects(serviceError('PreconditionFailed', 412, 'precondition'));
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(heldFor((23 * 60 + 10) * 1000 + 300))) });
  await assert.rejects(
    backend().lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'StateLocked') &&
      new RegExp(
        `^state s3://b/${KEY} is locked by pid 4242 of deploy@ci-runner-7 \\(\`meso apply c\\.yaml\`, since 2024-05-01T10:00:00\\.000Z\\); its heartbeat is 23m 1[0-2]s old, older than state\\.lockTimeoutSeconds \\(600 s\\): a stale lock$`,
      ).test(e.message) &&
      /make sure no meso run is still working on this cluster, then run `meso force-unlock FILE`/.test(
        e.hint ?? '',
      ),
  );
});

void test('a fresh heartbeat says how old it is, and that --lock-timeout waits', async () => {
  s3.on(PutObjectCommand).rejects(serviceError('PreconditionFailed', 412, 'precondition'));
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(heldFor(12_000))) });
  await assert.rejects(
    backend().lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'StateLocked') &&
      /; its heartbeat is 1[2-4]s old$/.test(e.message) &&
      !/stale/.test(e.message) &&
      /--lock-timeout 15m/.test(e.hint ?? ''),
  );
});

void test('state.lockTimeoutSeconds reaches the s3 backend from the spec', async () => {
  const spec = specOf(clusterYaml({ extra: 'state: { backend: s3, bucket: b, lockTimeoutSeconds: 30 }' }));
  assert.equal(spec.state.lockTimeoutSeconds, 30);
  assert.equal(specOf(clusterYaml({})).state.lockTimeoutSeconds, 600);
  s3.on(PutObjectCommand).rejects(serviceError('PreconditionFailed', 412, 'precondition'));
  s3.on(GetObjectCommand).resolves({ Body: body(JSON.stringify(heldFor(45_000))) });
  await assert.rejects(
    (await stateBackend(spec, 'c.yaml')).lock('meso apply c.yaml'),
    (e) =>
      isMesoError(e, 'StateLocked') &&
      /its heartbeat is 4\ds old, older than state\.lockTimeoutSeconds \(30 s\): a stale lock$/.test(
        e.message,
      ),
  );
});

void test('the heartbeat age is exact against a given clock; a lock without one keeps the old report', () => {
  const now = Date.parse('2024-05-01T10:30:00.000Z');
  const e = lockedError('s3://b/k', 'the lock object', holder({ renewedAt: '2024-05-01T10:06:50.000Z' }), {
    timeoutSeconds: 600,
    now,
  });
  assert.match(
    e.message,
    /; its heartbeat is 23m 10s old, older than state\.lockTimeoutSeconds \(600 s\): a stale lock$/,
  );
  const old = lockedError('s3://b/k', 'the lock object', holder(), { timeoutSeconds: 600, now });
  assert.doesNotMatch(old.message, /heartbeat|stale/);
});
