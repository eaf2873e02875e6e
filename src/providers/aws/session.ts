import type { KnownAddress, Topology } from '../../model/topology.js';
import type { CloudChange } from '../../plan/types.js';
import type { Spec } from '../../spec/types.js';
import type { ClusterState } from '../../state/types.js';
import type { ProviderBalancer } from '../types.js';
import { MesoError } from '../../util/errors.js';
import { applyCloud, terminate } from './apply.js';
import type { CloudRecorder } from './apply.js';
import { awsClients } from './clients.js';
import type { AwsClients } from './clients.js';
import { awsSettings, desiredCloud } from './desired.js';
import type { DesiredCloud } from './desired.js';
import { findClusterResources } from './destroy.js';
import type { ClusterResources } from './destroy.js';
import { observeCloud } from './observe.js';
import type { AwsContext, ObservedCloud } from './observe.js';
import { planCloud } from './plan.js';
import { realSleep } from './retry.js';

/** The cloud half of a plan for `provider: aws`. */
export interface CloudPlan {
  desired: DesiredCloud;
  observed: ObservedCloud;
  changes: CloudChange[];
}

export function awsContext(
  region: string,
  endpoints: Parameters<typeof awsClients>[1],
  say: (m: string) => void,
  clients: AwsClients = awsClients(region, endpoints),
): AwsContext {
  const wait = Number(process.env['MESO_AWS_WAIT_SECONDS'] ?? 900);
  return { clients, sleep: realSleep, say, waitSeconds: Number.isFinite(wait) && wait > 0 ? wait : 900 };
}

export function contextFor(spec: Spec, say: (m: string) => void): AwsContext {
  const s = awsSettings(spec);
  return awsContext(s.region, s.endpoints, say);
}

export async function planAws(ctx: AwsContext, spec: Spec, topology: Topology): Promise<CloudPlan> {
  const desired = desiredCloud(spec, topology);
  const observed = await observeCloud(ctx, desired);
  const b = desired.bucket;
  if (b !== undefined && b.create && observed.bucket?.exists === true && !observed.bucket.ours) {
    throw new MesoError(
      'AwsConflict',
      `bucket ${b.name} exists but is not tagged meso:cluster=${spec.name}; meso never touches it`,
      { hint: 'choose another aws.bucket.name, or set aws.bucket.create: false to use it as it is' },
    );
  }
  return { desired, observed, changes: planCloud(desired, observed) };
}

/** Addresses of existing instances (public for SSH where there is one, private for cluster traffic). */
export function cloudAddresses(plan: CloudPlan): Map<string, KnownAddress> {
  const out = new Map<string, KnownAddress>();
  for (const [host, i] of plan.observed.instances) {
    const address = i.publicIp ?? i.privateIp;
    if (address !== undefined)
      out.set(host, { address, ...(i.privateIp === undefined ? {} : { privateAddress: i.privateIp }) });
  }
  return out;
}

/** The cluster's balancers that exist now, with their DNS names, in the spec's order (internal, admin). */
export function existingBalancers(plan: CloudPlan): ProviderBalancer[] {
  return plan.desired.balancers.flatMap((b) => {
    const o = plan.observed.balancers.get(b.key);
    return o === undefined || o.dns === ''
      ? []
      : [{ name: o.name, dns: o.dns, scheme: o.scheme, ports: [...o.ports] }];
  });
}

/** Hosts that can be reached over SSH now: a running instance that no change replaces. */
export function runningHosts(plan: CloudPlan): Set<string> {
  const replaced = new Set(plan.changes.filter((c) => c.action === 'replace').map((c) => c.host));
  return new Set(
    [...plan.observed.instances]
      .filter(([h, i]) => i.state === 'running' && !replaced.has(h))
      .map(([h]) => h),
  );
}

export async function applyAws(
  ctx: AwsContext,
  plan: CloudPlan,
  recorder: CloudRecorder,
  opts: { runId: string; cloudOnly: boolean },
): Promise<void> {
  await applyCloud(ctx, plan.desired, plan.observed, plan.changes, recorder, opts);
}

/** What `meso destroy` deletes: by tag, with names from the spec and the state for balancers and buckets. */
export async function resourcesToDestroy(
  ctx: AwsContext,
  spec: Spec,
  topology: Topology,
  state: ClusterState,
  sweep: boolean,
): Promise<ClusterResources> {
  const d = desiredCloud(spec, topology);
  const recorded = Object.values(state.cloud ?? {});
  return findClusterResources(ctx, spec.name, {
    balancerNames: [
      ...d.balancers.map((b) => b.name),
      ...recorded.filter((r) => r.resource === 'load-balancer').map((r) => r.id),
    ],
    bucketNames: [
      ...(d.bucket === undefined ? [] : [d.bucket.name]),
      ...recorded.filter((r) => r.resource === 'bucket').map((r) => r.id),
    ],
    sweep,
  });
}

/** Terminate and wait (the destroy order needs the instances gone before their groups). */
export const terminator =
  (ctx: AwsContext) =>
  (ids: string[]): Promise<void> =>
    terminate(ctx, ids);
