import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MesoError } from '../util/errors.js';
import { parseState } from './local.js';
import { lockedError, newLockInfo } from './lock.js';
import type { ClusterState, LockInfo, StateBackend, StateLock } from './types.js';

interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const status = (e: unknown): number | undefined => (e as AwsErrorShape).$metadata?.httpStatusCode;
const nameOf = (e: unknown): string => (e as AwsErrorShape).name ?? 'Error';

/** S3 says "no such key" as NoSuchKey on GET; some S3-compatible stores only as a bare 404. */
const missing = (e: unknown): boolean =>
  nameOf(e) === 'NoSuchKey' || (status(e) === 404 && nameOf(e) !== 'NoSuchBucket');

/** `If-None-Match` lost: the lock exists (412), or another conditional write to it is in flight (409). */
const lockTaken = (e: unknown): boolean =>
  nameOf(e) === 'PreconditionFailed' || nameOf(e) === 'ConditionalRequestConflict' || status(e) === 412;

const lockBody = (info: LockInfo): string => `${JSON.stringify(info, null, 2)}\n`;

function parseLock(text: string): LockInfo | undefined {
  try {
    return JSON.parse(text) as LockInfo;
  } catch {
    return undefined;
  }
}

const CREDENTIALS =
  "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (meso uses only the SDK's standard credential chain)";

/** `key` is the state's key: the permissions it names cover its `.backup` and `.lock` too. */
function hintFor(e: unknown, bucket: string, key: string): string {
  const name = nameOf(e);
  if (name === 'NoSuchBucket') return `create the bucket ${bucket}, or fix state.bucket`;
  if (name === 'CredentialsProviderError') return CREDENTIALS;
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch')
    return `the credentials were refused: ${CREDENTIALS}`;
  if (name === 'AccessDenied' || status(e) === 403)
    return `the credentials need s3:GetObject, s3:PutObject and s3:DeleteObject on arn:aws:s3:::${bucket}/${key}*`;
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed')
    return `the bucket ${bucket} is in another region: set state.region`;
  return 'check state.bucket, state.region and state.endpoint (or aws.endpoints.s3), and the network';
}

export interface S3LockOptions {
  /** `state.lockTimeoutSeconds`: a heartbeat older than this is reported as stale (600). */
  lockTimeoutSeconds?: number;
  /** How often the heartbeat is renewed; min(60 s, lockTimeoutSeconds / 4) unless a test says. */
  renewMs?: number;
}

/**
 * State as one S3 object, the previous version kept as `<key>.backup`. The lock is `<key>.lock`,
 * created with `If-None-Match: *` so that of two runs racing for it exactly one wins; its holder
 * renews its `renewedAt` while it runs. An S3 lock is never taken over: a stale one is reported.
 */
export class S3StateBackend implements StateBackend {
  readonly location: string;
  private readonly lockKey: string;
  private readonly lockTimeoutSeconds: number;
  private readonly renewMs: number;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    opts: S3LockOptions = {},
  ) {
    this.location = `s3://${bucket}/${key}`;
    this.lockKey = `${key}.lock`;
    this.lockTimeoutSeconds = opts.lockTimeoutSeconds ?? 600;
    this.renewMs = opts.renewMs ?? Math.min(60_000, (this.lockTimeoutSeconds * 1000) / 4);
  }

  async read(): Promise<ClusterState | undefined> {
    const text = await this.getText(this.key);
    if (text === undefined) return undefined;
    return parseState(
      text,
      this.location,
      `restore it from ${this.location}.backup (meso keeps the previous state there) or delete it to start afresh`,
    );
  }

  async write(state: ClusterState): Promise<void> {
    // CopySource is `bucket/key`, URL-encoded; '/' stays literal so that every store reads it the same.
    const source = `${this.bucket}/${this.key.split('/').map(encodeURIComponent).join('/')}`;
    const backup = `${this.key}.backup`;
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: backup,
          CopySource: source,
          ServerSideEncryption: 'AES256',
        }),
      );
    } catch (e) {
      if (!missing(e)) throw this.failure('CopyObject', backup, e);
    }
    try {
      await this.put(this.key, `${JSON.stringify(state, null, 2)}\n`);
    } catch (e) {
      throw this.failure('PutObject', this.key, e);
    }
  }

  async lock(command: string): Promise<StateLock> {
    const created = newLockInfo(command);
    const info: LockInfo = { ...created, renewedAt: created.startedAt };
    try {
      await this.put(this.lockKey, lockBody(info), { ifNoneMatch: '*' });
    } catch (e) {
      if (!lockTaken(e)) throw this.failure('PutObject', this.lockKey, e);
      const lockName = `the lock object s3://${this.bucket}/${this.lockKey}`;
      throw lockedError(this.location, lockName, await this.readLock(), {
        timeoutSeconds: this.lockTimeoutSeconds,
      });
    }
    const stopHeartbeat = this.heartbeat(info);
    const release = async (): Promise<void> => {
      // A renewal in flight must not put the lock back after it is deleted.
      await stopHeartbeat();
      const held = await this.readLock();
      if (held?.id === info.id) await this.deleteLock();
    };
    return { info, release };
  }

  /**
   * Renew `renewedAt` every `renewMs` until stopped (the timer does not keep the process alive). A
   * renewal re-reads the lock and rewrites it only while it is still this run's, with `If-Match` on
   * the ETag it read, so that a store that honours it (AWS) refuses a write over a lock taken since;
   * once the lock is someone else's (after a force-unlock), renewing stops for good.
   */
  private heartbeat(info: LockInfo): () => Promise<void> {
    let inFlight: Promise<void> | undefined;
    let stopped = false;
    const tick = (): void => {
      if (inFlight !== undefined || stopped) return;
      inFlight = this.renew(info)
        .then((mine) => {
          if (!mine) stop();
        })
        // A failed renewal (the network) is tried again at the next tick; the lock only ages meanwhile.
        .catch(() => undefined)
        .finally(() => (inFlight = undefined));
    };
    const timer = setInterval(tick, this.renewMs);
    timer.unref();
    const stop = (): void => {
      stopped = true;
      clearInterval(timer);
    };
    return async () => {
      stop();
      await inFlight;
    };
  }

  /** One renewal; false when the lock is no longer this run's. */
  private async renew(info: LockInfo): Promise<boolean> {
    const got = await this.getObject(this.lockKey);
    if (got === undefined || parseLock(got.text)?.id !== info.id) return false;
    const body = lockBody({ ...info, renewedAt: new Date().toISOString() });
    try {
      await this.put(this.lockKey, body, got.etag === undefined ? {} : { ifMatch: got.etag });
    } catch (e) {
      if (lockTaken(e)) return false;
      throw e;
    }
    return true;
  }

  async forceUnlock(): Promise<LockInfo | undefined> {
    const held = await this.readLock();
    await this.deleteLock();
    return held;
  }

  private async readLock(): Promise<LockInfo | undefined> {
    const got = await this.getObject(this.lockKey);
    return got === undefined ? undefined : parseLock(got.text);
  }

  private async deleteLock(): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.lockKey }));
    } catch (e) {
      throw this.failure('DeleteObject', this.lockKey, e);
    }
  }

  private async getText(key: string): Promise<string | undefined> {
    return (await this.getObject(key))?.text;
  }

  private async getObject(key: string): Promise<{ text: string; etag: string | undefined } | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { text: (await res.Body?.transformToString('utf8')) ?? '', etag: res.ETag };
    } catch (e) {
      if (missing(e)) return undefined;
      throw this.failure('GetObject', key, e);
    }
  }

  /** Raw SDK errors escape, so callers can tell a lost condition (`If-None-Match`, `If-Match`) from a failure. */
  private async put(
    key: string,
    body: string,
    cond: { ifNoneMatch?: '*'; ifMatch?: string } = {},
  ): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ServerSideEncryption: 'AES256',
        ...(cond.ifNoneMatch === undefined ? {} : { IfNoneMatch: cond.ifNoneMatch }),
        ...(cond.ifMatch === undefined ? {} : { IfMatch: cond.ifMatch }),
      }),
    );
  }

  /** The SDK error as one line and a hint; its stack and the request (with credentials) stay out. */
  private failure(operation: string, key: string, e: unknown): MesoError {
    const message = (e as AwsErrorShape).message ?? String(e);
    return new MesoError(
      'AwsCallFailed',
      `S3 ${operation} s3://${this.bucket}/${key} failed: ${nameOf(e)}: ${message}`,
      { hint: hintFor(e, this.bucket, this.key), cause: e },
    );
  }
}
