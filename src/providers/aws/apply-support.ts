// What every step of the cloud apply shares: recording ids in the state, EC2 tags, retries while AWS catches up.
import type { Tag } from '@aws-sdk/client-ec2';
import type { ClusterState } from '../../state/types.js';
import type { Tags } from './desired.js';
import type { AwsContext } from './observe.js';
import { NOT_YET_VISIBLE } from './retry.js';

/** Where apply records what AWS returned, the moment it returns it (a crash leaks nothing unrecorded). */
export interface CloudRecorder {
  state: ClusterState;
  save(): Promise<void>;
}

export const ec2Tags = (t: Tags): Tag[] =>
  Object.entries(t)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value }));

export async function record(
  r: CloudRecorder,
  region: string,
  address: string,
  resource: string,
  name: string,
  id: string,
): Promise<void> {
  r.state.cloud ??= {};
  r.state.cloud[address] = { id, resource, name, region, recordedAt: new Date().toISOString() };
  await r.save();
}

export async function forget(r: CloudRecorder, address: string): Promise<void> {
  if (r.state.cloud?.[address] === undefined) return;
  delete r.state.cloud[address];
  await r.save();
}

export const consistent = (ctx: AwsContext, what: string) => ({
  sleep: ctx.sleep,
  retryOn: NOT_YET_VISIBLE,
  attempts: 10,
  onRetry: (n: string, a: number, d: number) => ctx.say(`${what}: ${n}, retry ${a} in ${d} ms`),
});
