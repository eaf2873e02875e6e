import type { Spec } from '../spec/types.js';
import { defaultStatePath, emptyState, LocalStateBackend } from '../state/local.js';
import type { ClusterState, StateBackend } from '../state/types.js';
import type { HostConnection, SshTarget } from '../transport/host.js';
import { connectSsh } from '../transport/ssh.js';
import { TransportStats } from '../transport/stats.js';
import { MesoError } from '../util/errors.js';
import { sinceStart } from '../util/timing.js';

/** Where the state lives; the S3 backend (and the AWS SDK with it) is loaded only when named. */
export async function stateBackend(spec: Spec, specFile: string): Promise<StateBackend> {
  const s = spec.state;
  if (s.backend === 'local') return new LocalStateBackend(s.path ?? defaultStatePath(specFile, spec.name));
  // Validation refuses s3 without a bucket.
  if (s.bucket === undefined) throw new MesoError('Internal', 'state backend s3 has no bucket');
  const [{ s3Client }, { S3StateBackend }] = await Promise.all([
    import('../providers/aws/clients.js'),
    import('../state/s3.js'),
  ]);
  const awsEndpoints = spec.aws['endpoints'] as Readonly<Record<string, string>> | undefined;
  const region = s.region ?? (spec.aws['region'] as string | undefined) ?? process.env['AWS_REGION'];
  return new S3StateBackend(
    s3Client(region ?? 'us-east-1', s.endpoint ?? awsEndpoints?.['s3']),
    s.bucket,
    s.key ?? `meso/${spec.name}.state.json`,
    { lockTimeoutSeconds: s.lockTimeoutSeconds },
  );
}

/** One connection per host for the whole run, opened on first use. */
export class ConnectionPool {
  readonly stats = new TransportStats();
  /** When the last connection opened, in ms since process start (for MESO_TIMINGS). */
  lastConnectedAt = 0;
  private readonly open = new Map<string, Promise<HostConnection>>();

  constructor(private readonly target: (name: string) => SshTarget) {}

  get = (name: string): Promise<HostConnection> => {
    let c = this.open.get(name);
    if (c === undefined) {
      c = connectSsh(this.target(name), { stats: this.stats });
      this.open.set(name, c);
      // A failed connection is not cached, so a retry in the same run connects again.
      c.then(
        () => (this.lastConnectedAt = Math.max(this.lastConnectedAt, sinceStart())),
        () => this.open.delete(name),
      );
    }
    return c;
  };

  /** Close one host's connection (before its machine goes away, so nothing waits on it). */
  async close(name: string): Promise<void> {
    const c = this.open.get(name);
    this.open.delete(name);
    await c?.then((x) => x.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const open = [...this.open.values()];
    this.open.clear();
    await Promise.all(open.map((c) => c.then((x) => x.close()).catch(() => undefined)));
  }
}

export async function readState(backend: StateBackend, spec: Spec): Promise<ClusterState> {
  const s = (await backend.read()) ?? emptyState(spec.name);
  if (s.cluster !== spec.name) {
    throw new MesoError(
      'StateUnreadable',
      `state ${backend.location} belongs to cluster ${s.cluster}, not ${spec.name}`,
    );
  }
  return s;
}
