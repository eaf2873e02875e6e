/**
 * The one error class of meso. `code` is stable (scripts and tests match on it); `message` says what
 * went wrong and `hint` how to fix it. Expected failures are MesoErrors and are shown without a stack.
 */
export type MesoErrorCode =
  | 'SpecInvalid'
  | 'SpecUnreadable'
  | 'UsageError'
  | 'OutputUnwritable'
  | 'OutputExists'
  | 'NotImplemented'
  | 'PlanInvalid'
  | 'StateUnreadable'
  | 'StateMissing'
  | 'StateLocked'
  | 'PlanUnsafe'
  | 'SecretUnavailable'
  | 'ApplyFailed'
  | 'ApplyInterrupted'
  | 'ObserveFailed'
  | 'PlanStale'
  | 'HealthTimeout'
  | 'ServiceFailed'
  | 'LabUnsupported'
  | 'LabImageFailed'
  | 'LabAddressInvalid'
  | 'LabHostConflict'
  | 'LabBootFailed'
  | 'LabCommandFailed'
  | 'Internal'
  | 'SshHostKeyMismatch'
  | 'SshHostKeyUnknown'
  | 'SshHostKeyRevoked'
  | 'SshKnownHostsUnreadable'
  | 'SshKeyUnreadable'
  | 'SshUnreachable'
  | 'HostsUnreachable'
  | 'SshAuthFailed'
  | 'SshCommandTimeout'
  | 'SshConnectionLost'
  | 'SshSudoFailed'
  | 'LogsFailed'
  | 'AwsCallFailed'
  | 'AwsConflict'
  | 'AwsTimeout'
  | 'AssetUnavailable'
  | 'SoftwareMissing'
  | 'InstallFailed';

export class MesoError extends Error {
  readonly code: MesoErrorCode;
  readonly hint: string | undefined;

  constructor(code: MesoErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MesoError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isMesoError(e: unknown, code?: MesoErrorCode): e is MesoError {
  return e instanceof MesoError && (code === undefined || e.code === code);
}
