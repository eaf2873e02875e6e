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

/**
 * State as one S3 object, the previous version kept as `<key>.backup`. The lock is `<key>.lock`,
 * created with `If-None-Match: *` so that of two runs racing for it exactly one wins.
 */
export class S3StateBackend implements StateBackend {
  readonly location: string;
  private readonly lockKey: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
  ) {
    this.location = `s3://${bucket}/${key}`;
    this.lockKey = `${key}.lock`;
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
    const info = newLockInfo(command);
    try {
      await this.put(this.lockKey, `${JSON.stringify(info, null, 2)}\n`, true);
    } catch (e) {
      if (!lockTaken(e)) throw this.failure('PutObject', this.lockKey, e);
      const lockName = `the lock object s3://${this.bucket}/${this.lockKey}`;
      throw lockedError(this.location, lockName, await this.readLock());
    }
    const release = async (): Promise<void> => {
      const held = await this.readLock();
      if (held?.id === info.id) await this.deleteLock();
    };
    return { info, release };
  }

  async forceUnlock(): Promise<LockInfo | undefined> {
    const held = await this.readLock();
    await this.deleteLock();
    return held;
  }

  private async readLock(): Promise<LockInfo | undefined> {
    const text = await this.getText(this.lockKey);
    try {
      return text === undefined ? undefined : (JSON.parse(text) as LockInfo);
    } catch {
      return undefined;
    }
  }

  private async deleteLock(): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.lockKey }));
    } catch (e) {
      throw this.failure('DeleteObject', this.lockKey, e);
    }
  }

  private async getText(key: string): Promise<string | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await res.Body?.transformToString('utf8')) ?? '';
    } catch (e) {
      if (missing(e)) return undefined;
      throw this.failure('GetObject', key, e);
    }
  }

  /** Raw SDK errors escape, so callers can tell a lost `If-None-Match` from a failure. */
  private async put(key: string, body: string, ifAbsent = false): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ServerSideEncryption: 'AES256',
        ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
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
