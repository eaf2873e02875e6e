// Applying the cloud changes of a plan. The pieces: apply-support.ts (state records, tags, retries),
// apply-groups.ts, apply-instances.ts, apply-balancers.ts; the bucket is here.
import { connect } from 'node:net';
import { CreateBucketCommand, PutBucketTaggingCommand } from '@aws-sdk/client-s3';
import type { BucketLocationConstraint } from '@aws-sdk/client-s3';
import type { CloudChange } from '../../plan/types.js';
import { MesoError } from '../../util/errors.js';
import { applyBalancers } from './apply-balancers.js';
import { applyGroups } from './apply-groups.js';
import { applyInstances } from './apply-instances.js';
import { ec2Tags, record } from './apply-support.js';
import type { CloudRecorder } from './apply-support.js';
import type { DesiredCloud } from './desired.js';
import { call } from './observe.js';
import type { AwsContext, ObservedCloud } from './observe.js';

export type { CloudRecorder } from './apply-support.js';
export { ec2Tags } from './apply-support.js';
export { hostKeysFromConsole, terminate } from './apply-instances.js';

async function applyBucket(
  ctx: AwsContext,
  d: DesiredCloud,
  changes: readonly CloudChange[],
  r: CloudRecorder,
): Promise<void> {
  const b = d.bucket;
  if (b === undefined || !changes.some((c) => c.resource === 'bucket')) return;
  ctx.say(`aws/bucket/${b.name}: creating`);
  await call(ctx, `S3 CreateBucket ${b.name}`, () =>
    ctx.clients.s3.send(
      new CreateBucketCommand({
        Bucket: b.name,
        ...(d.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: d.region as BucketLocationConstraint } }),
      }),
    ),
  );
  await record(r, d.region, `aws/bucket/${b.name}`, 'bucket', b.name, b.name);
  await call(ctx, `S3 PutBucketTagging ${b.name}`, () =>
    ctx.clients.s3.send(
      new PutBucketTaggingCommand({
        Bucket: b.name,
        Tagging: { TagSet: ec2Tags(b.tags).map((t) => ({ Key: t.Key!, Value: t.Value! })) },
      }),
    ),
  );
}

/**
 * Apply the cloud changes of a plan in dependency order: security groups (then their rules),
 * instances (waited for), load balancers (with the masters registered), the bucket. Ids go into the
 * state as soon as AWS returns them; tagged resources that already exist are adopted.
 */
export async function applyCloud(
  ctx: AwsContext,
  d: DesiredCloud,
  o: ObservedCloud,
  changes: readonly CloudChange[],
  r: CloudRecorder,
  opts: { runId: string; cloudOnly: boolean },
): Promise<void> {
  const groupIds = await applyGroups(ctx, d, o, changes, r);
  const instanceIds = await applyInstances(ctx, d, o, changes, groupIds, r, opts.runId, opts.cloudOnly);
  await applyBalancers(ctx, d, o, changes, groupIds, instanceIds, r);
  await applyBucket(ctx, d, changes, r);
}

/** Until every host accepts TCP on its SSH port (sshd starts after the status checks pass, sometimes later). */
export async function waitForSsh(
  hosts: readonly { name: string; address: string; port: number }[],
  timeoutMs: number,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const h of hosts) {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host: h.address, port: h.port, timeout: 5000 });
        const done = (v: boolean): void => {
          s.destroy();
          resolve(v);
        };
        s.once('connect', () => done(true));
        s.once('error', () => done(false));
        s.once('timeout', () => done(false));
      });
      if (ok) break;
      if (Date.now() > deadline)
        throw new MesoError(
          'SshUnreachable',
          `${h.name} (${h.address}:${h.port}) does not accept SSH connections`,
          {
            hint: 'check the admin security group (aws.adminCidrs) and the subnet routes; the instance ids are in the state',
          },
        );
      await sleep(2000);
    }
  }
}
