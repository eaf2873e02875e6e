import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KnownAddress } from '../model/topology.js';
import { ensureImage, imagePackages } from '../providers/local/image.js';
import { createHosts, destroyHosts, labSshTarget } from '../providers/local/lab.js';
import type { LabHost } from '../providers/local/lab.js';
import type { Spec } from '../spec/types.js';
import { defaultStatePath, emptyState, LocalStateBackend } from '../state/local.js';
import type { ClusterState, StateBackend } from '../state/types.js';
import type { HostConnection, SshTarget } from '../transport/host.js';
import { connectSsh } from '../transport/ssh.js';
import { TransportStats } from '../transport/stats.js';
import { MesoError } from '../util/errors.js';
import { allocateAddresses } from './addresses.js';

const expand = (p: string): string => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);

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
  );
}

/** Where the local provider keeps a cluster's hosts (overlays, keys): not next to the spec. */
export function localDir(spec: Spec): string {
  return join(process.env['MESO_LOCAL_DIR'] ?? '/var/lib/meso/local', spec.name);
}

export const labRecord = (state: ClusterState, name: string): LabHost | undefined =>
  state.hosts[name]?.provider as LabHost | undefined;

/** The hosts' addresses as far as they are known: from the spec, or from the state for local hosts. */
export function knownAddresses(
  spec: Spec,
  state: ClusterState,
  names: readonly string[],
): Map<string, KnownAddress> {
  const known = new Map<string, KnownAddress>();
  for (const n of names) {
    const h = state.hosts[n];
    if (h !== undefined) known.set(n, { address: h.address, privateAddress: h.privateAddress });
  }
  if (spec.provider === 'local') {
    const existing = new Map([...known].map(([n, k]) => [n, k.address]));
    for (const [n, a] of allocateAddresses(names, spec.local.subnet, existing)) {
      if (!known.has(n)) known.set(n, { address: a });
    }
  }
  return known;
}

/** Create the local hosts the spec has and the state does not; records go into the state at once. */
export async function createMissingLocalHosts(
  spec: Spec,
  state: ClusterState,
  known: ReadonlyMap<string, KnownAddress>,
  names: readonly string[],
  save: () => Promise<void>,
  onEvent: (msg: string) => void,
): Promise<string[]> {
  const missing = names.filter((n) => labRecord(state, n) === undefined);
  if (missing.length === 0) return [];
  const image = await ensureImage({ packages: imagePackages(spec), onEvent });
  const created = await createHosts({
    cluster: spec.name,
    subnet: spec.local.subnet,
    hosts: missing.map((name) => ({ name, address: known.get(name)!.address })),
    image: image.rootfs,
    stateDir: localDir(spec),
    onEvent,
  });
  for (const h of created) {
    state.hosts[h.name] = {
      address: h.address,
      privateAddress: h.address,
      hostKey: h.hostPublicKey,
      files: {},
      directories: [],
      services: [],
      provider: { ...h },
    };
  }
  await save();
  return created.map((h) => h.name);
}

export async function destroyLocalHosts(
  spec: Spec,
  names: readonly string[],
  onEvent: (msg: string) => void,
): Promise<void> {
  await destroyHosts({ cluster: spec.name, stateDir: localDir(spec), hosts: names, onEvent });
}

/** How to reach each host over SSH; local hosts with their lab key and pinned host key. */
export function sshTarget(
  spec: Spec,
  state: ClusterState,
  name: string,
  address: string,
  port: number,
): SshTarget {
  const lab = labRecord(state, name);
  if (spec.provider === 'local') {
    if (lab === undefined) throw new MesoError('Internal', `local host ${name} has no record in the state`);
    return labSshTarget(lab, spec.ssh.connectTimeoutSeconds * 1000);
  }
  const pinned = state.hosts[name]?.hostKey;
  const knownHostsPath = expand(spec.ssh.knownHostsPath);
  // An aws instance whose image printed no host keys on its console was recorded as accept-new (issue 4).
  const acceptNew =
    spec.ssh.hostKeyPolicy === 'accept-new' ||
    (spec.provider === 'aws' && state.hosts[name]?.provider?.['hostKeyFrom'] === 'accept-new');
  const hostKey: SshTarget['hostKey'] = acceptNew
    ? {
        policy: 'accept-new',
        knownHostsPath,
        ...(pinned === undefined ? {} : { pinned }),
        // Trust on first use: pin the key in the state (saved with the host's first change).
        onNewKey: (key) => {
          const h = (state.hosts[name] ??= {
            address,
            privateAddress: address,
            files: {},
            directories: [],
            services: [],
          });
          h.hostKey = key;
        },
      }
    : { policy: 'strict', knownHostsPath, ...(pinned === undefined ? {} : { pinned }) };
  const b = spec.ssh.bastion;
  return {
    name,
    host: address,
    port,
    user: spec.ssh.user,
    ...(spec.ssh.privateKeyPath === undefined ? {} : { privateKeyPath: expand(spec.ssh.privateKeyPath) }),
    useAgent: spec.ssh.useAgent || spec.ssh.privateKeyPath === undefined,
    connectTimeoutMs: spec.ssh.connectTimeoutSeconds * 1000,
    hostKey,
    sudo: spec.ssh.user !== 'root',
    ...(b === undefined
      ? {}
      : {
          bastion: {
            host: b.host,
            port: b.port,
            user: b.user,
            ...(b.privateKeyPath === undefined ? {} : { privateKeyPath: expand(b.privateKeyPath) }),
            hostKey: {
              policy: spec.ssh.hostKeyPolicy === 'accept-new' ? 'strict' : 'strict',
              knownHostsPath,
            },
          },
        }),
  };
}

/** One connection per host for the whole run, opened on first use. */
export class ConnectionPool {
  readonly stats = new TransportStats();
  private readonly open = new Map<string, Promise<HostConnection>>();

  constructor(private readonly target: (name: string) => SshTarget) {}

  get = (name: string): Promise<HostConnection> => {
    let c = this.open.get(name);
    if (c === undefined) {
      c = connectSsh(this.target(name), { stats: this.stats });
      this.open.set(name, c);
      // A failed connection is not cached, so a retry in the same run connects again.
      c.catch(() => this.open.delete(name));
    }
    return c;
  };

  async closeAll(): Promise<void> {
    for (const c of this.open.values()) await c.then((x) => x.close()).catch(() => undefined);
    this.open.clear();
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
