import { MesoError } from '../../util/errors.js';

/** Error names AWS uses when it asks callers to slow down. */
export const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'DependencyThrottleException',
  'DependencyThrottle',
]);

/** Errors that only mean "not visible yet" right after a create (EC2 is eventually consistent). */
export const NOT_YET_VISIBLE = new Set([
  'InvalidInstanceID.NotFound',
  'InvalidGroup.NotFound',
  'InvalidGroupId.NotFound',
  'InvalidSecurityGroupException',
  'InvalidSecurityGroupID.NotFound',
  'InvalidInstance',
  'IncorrectInstanceState',
]);

/** The AWS error name (`InvalidGroup.NotFound`), also through the MesoError that wraps it. */
export function errorName(e: unknown): string {
  if (e instanceof MesoError) return e.cause === undefined ? '' : errorName(e.cause);
  return typeof e === 'object' && e !== null && 'name' in e ? String(e.name) : '';
}

/** The HTTP status of an SDK error, also through the MesoError that wraps it. */
export function errorStatus(e: unknown): number | undefined {
  if (e instanceof MesoError) return e.cause === undefined ? undefined : errorStatus(e.cause);
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export interface RetryOptions {
  /** Extra error names to retry, besides throttling. */
  retryOn?: ReadonlySet<string>;
  /** Attempts in all (the first one included). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep: (ms: number) => Promise<void>;
  /** Told before each retry (for progress lines). */
  onRetry?: (name: string, attempt: number, delayMs: number) => void;
}

export const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Exponential backoff with full jitter, for throttling and the given eventual-consistency errors. */
export async function withRetry<T>(what: string, fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const attempts = o.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const name = errorName(e);
      const retryable = THROTTLING.has(name) || o.retryOn?.has(name) === true;
      if (!retryable || attempt >= attempts) throw awsError(what, e);
      const cap = Math.min(o.maxDelayMs ?? 20_000, (o.baseDelayMs ?? 500) * 2 ** (attempt - 1));
      const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
      o.onRetry?.(name, attempt, delay);
      await o.sleep(delay);
    }
  }
}

const HINTS: Readonly<Record<string, string>> = {
  CredentialsProviderError:
    'credentials come only from the AWS SDK chain: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
  AuthFailure: 'check the credentials in the environment or profile, and the region',
  UnauthorizedOperation: 'the credentials lack an IAM permission for this call',
  AccessDenied: 'the credentials lack an IAM permission for this call',
  'InvalidGroup.Duplicate':
    'a security group of that name exists without meso tags for this cluster; rename the cluster or remove that group',
  DuplicateAccessPointNameException:
    'a load balancer of that name exists without meso tags for this cluster; rename the cluster or remove it',
  'InvalidAMIID.NotFound': 'check aws.ami: it must exist in aws.region',
  'InvalidSubnetID.NotFound': 'check aws.subnets: they must exist in aws.region',
  'InvalidKeyPair.NotFound': 'check aws.keyName: the key pair must exist in aws.region',
};

/** An SDK failure as a MesoError naming the call; never the request (it may carry user data). */
export function awsError(what: string, e: unknown): unknown {
  if (e instanceof MesoError) return e;
  const name = errorName(e) || 'Error';
  const message = e instanceof Error ? e.message : String(e);
  const hint = HINTS[name];
  return new MesoError('AwsCallFailed', `${what} failed: ${name}: ${message}`, {
    ...(hint === undefined ? {} : { hint }),
    cause: e,
  });
}
