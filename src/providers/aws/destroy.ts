import {
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { Filter } from '@aws-sdk/client-ec2';
import {
  DeleteLoadBalancerCommand,
  DeregisterInstancesFromLoadBalancerCommand,
  DescribeLoadBalancersCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import type { LoadBalancerDescription } from '@aws-sdk/client-elastic-load-balancing';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketTaggingCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { CloudRecorder } from './apply.js';
import { TAG_CLUSTER, TAG_CREATED, TAG_EXPIRES } from './desired.js';
import {
  balancerNotFound,
  balancerTags,
  call,
  describeInstances,
  describeSecurityGroups,
  toObservedInstance,
} from './observe.js';
import type { AwsContext, ObservedInstance } from './observe.js';
import { errorName, withRetry } from './retry.js';

/** Everything tagged for one cluster, found without the state (the state only adds names to look at). */
export interface ClusterResources {
  cluster: string;
  balancers: { name: string; instanceIds: string[] }[];
  instances: ObservedInstance[];
  groups: { id: string; name: string; hasRules: boolean; referencesGroups: boolean }[];
  /** Buckets tagged for the cluster; only `created` ones are emptied and deleted. */
  buckets: { name: string; created: boolean }[];
}

const tagValue = (tags: readonly { Key?: string; Value?: string }[] | undefined, key: string) =>
  tags?.find((t) => t.Key === key)?.Value;

async function allBalancers(ctx: AwsContext): Promise<LoadBalancerDescription[]> {
  const out: LoadBalancerDescription[] = [];
  let marker: string | undefined;
  do {
    const r = await call(ctx, 'ELB DescribeLoadBalancers', () =>
      ctx.clients.elb.send(new DescribeLoadBalancersCommand({ Marker: marker })),
    );
    out.push(...(r.LoadBalancerDescriptions ?? []));
    marker = r.NextMarker;
  } while (marker !== undefined && marker !== '');
  return out;
}

async function namedBalancers(ctx: AwsContext, names: readonly string[]): Promise<LoadBalancerDescription[]> {
  const out: LoadBalancerDescription[] = [];
  for (const name of [...new Set(names)]) {
    try {
      const r = await call(ctx, `ELB DescribeLoadBalancers ${name}`, () =>
        ctx.clients.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] })),
      );
      out.push(...(r.LoadBalancerDescriptions ?? []));
    } catch (e) {
      if (!balancerNotFound(e)) throw e;
    }
  }
  return out;
}

/** Balancers whose tags say they belong to `cluster` (by name from `names`, or every one with `sweep`). */
async function clusterBalancers(
  ctx: AwsContext,
  cluster: string,
  names: readonly string[],
  sweep: boolean,
): Promise<ClusterResources['balancers']> {
  const found = sweep ? await allBalancers(ctx) : await namedBalancers(ctx, names);
  const tags = await balancerTags(
    ctx,
    found.flatMap((b) => (b.LoadBalancerName === undefined ? [] : [b.LoadBalancerName])),
  );
  return found
    .filter((b) => tagValue(tags.get(b.LoadBalancerName ?? ''), TAG_CLUSTER) === cluster)
    .map((b) => ({
      name: b.LoadBalancerName!,
      instanceIds: (b.Instances ?? []).flatMap((i) => (i.InstanceId === undefined ? [] : [i.InstanceId])),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function bucketTags(
  ctx: AwsContext,
  name: string,
): Promise<{ Key?: string; Value?: string }[] | undefined> {
  try {
    const r = await call(ctx, `S3 GetBucketTagging ${name}`, () =>
      ctx.clients.s3.send(new GetBucketTaggingCommand({ Bucket: name })),
    );
    return r.TagSet ?? [];
  } catch (e) {
    if (['NoSuchTagSet', 'NoSuchBucket', 'NotFound', 'AccessDenied'].includes(errorName(e))) return undefined;
    throw e;
  }
}

async function allBucketNames(ctx: AwsContext): Promise<string[]> {
  const r = await call(ctx, 'S3 ListBuckets', () => ctx.clients.s3.send(new ListBucketsCommand({})));
  return (r.Buckets ?? []).flatMap((b) => (b.Name === undefined ? [] : [b.Name]));
}

export async function findClusterResources(
  ctx: AwsContext,
  cluster: string,
  opts: { balancerNames: readonly string[]; bucketNames: readonly string[]; sweep: boolean },
): Promise<ClusterResources> {
  const filter: Filter = { Name: `tag:${TAG_CLUSTER}`, Values: [cluster] };
  const instances = (
    await describeInstances(ctx, [
      filter,
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] },
    ])
  )
    .map(toObservedInstance)
    .sort((a, b) => a.id.localeCompare(b.id));
  const groups: ClusterResources['groups'] = (await describeSecurityGroups(ctx, [filter])).flatMap((g) => {
    if (g.GroupId === undefined) return [];
    const perms = g.IpPermissions ?? [];
    return [
      {
        id: g.GroupId,
        name: g.GroupName ?? '',
        hasRules: perms.length > 0,
        referencesGroups: perms.some((p) => (p.UserIdGroupPairs ?? []).length > 0),
      },
    ];
  });
  const balancers = await clusterBalancers(ctx, cluster, opts.balancerNames, opts.sweep);
  const candidates = opts.sweep ? await allBucketNames(ctx) : [...new Set(opts.bucketNames)];
  const buckets: ClusterResources['buckets'] = [];
  for (const name of candidates.sort()) {
    const tags = await bucketTags(ctx, name);
    if (tagValue(tags, TAG_CLUSTER) === cluster)
      buckets.push({ name, created: tagValue(tags, TAG_CREATED) === 'true' });
  }
  return {
    cluster,
    balancers,
    instances,
    groups: groups.sort((a, b) => a.name.localeCompare(b.name)),
    buckets,
  };
}

export const isEmpty = (r: ClusterResources): boolean =>
  r.balancers.length + r.instances.length + r.groups.length + r.buckets.filter((b) => b.created).length === 0;

/** One line per resource, for the confirmation and for `--json`. */
export function describeResources(r: ClusterResources): string[] {
  return [
    ...r.balancers.map((b) => `aws/load-balancer ${b.name}`),
    ...r.instances.map((i) => `aws/instance ${i.host === '' ? '?' : i.host} (${i.id}, ${i.state})`),
    ...r.groups.map((g) => `aws/security-group ${g.name} (${g.id})`),
    ...r.buckets.filter((b) => b.created).map((b) => `aws/bucket ${b.name} (emptied, then deleted)`),
  ];
}

async function emptyBucket(ctx: AwsContext, name: string): Promise<void> {
  let token: string | undefined;
  do {
    const r = await call(ctx, `S3 ListObjectsV2 ${name}`, () =>
      ctx.clients.s3.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken: token })),
    );
    const keys = (r.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length > 0)
      await call(ctx, `S3 DeleteObjects ${name}`, () =>
        ctx.clients.s3.send(
          new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys, Quiet: true } }),
        ),
      );
    token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/**
 * Delete a cluster's resources in dependency order: deregister, delete balancers, terminate
 * instances and wait, revoke cross-group rules, delete groups (retrying while network interfaces
 * drain), empty and delete buckets meso created. Never needs SSH; idempotent.
 */
export async function destroyCloud(
  ctx: AwsContext,
  r: ClusterResources,
  recorder: CloudRecorder | undefined,
  waitTerminated: (ids: string[]) => Promise<void>,
): Promise<void> {
  const forget = async (pred: (address: string, id: string) => boolean): Promise<void> => {
    if (recorder === undefined) return;
    for (const [address, rec] of Object.entries(recorder.state.cloud ?? {}))
      if (pred(address, rec.id)) delete recorder.state.cloud![address];
    await recorder.save();
  };
  for (const b of r.balancers) {
    if (b.instanceIds.length > 0) {
      ctx.say(`aws/load-balancer ${b.name}: deregistering ${b.instanceIds.join(', ')}`);
      try {
        await call(ctx, `ELB DeregisterInstancesFromLoadBalancer ${b.name}`, () =>
          ctx.clients.elb.send(
            new DeregisterInstancesFromLoadBalancerCommand({
              LoadBalancerName: b.name,
              Instances: b.instanceIds.map((InstanceId) => ({ InstanceId })),
            }),
          ),
        );
      } catch (e) {
        if (!balancerNotFound(e)) throw e;
      }
    }
    ctx.say(`aws/load-balancer ${b.name}: deleting`);
    await call(ctx, `ELB DeleteLoadBalancer ${b.name}`, () =>
      ctx.clients.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerName: b.name })),
    );
    await forget((address, id) => address.startsWith('aws/load-balancer/') && id === b.name);
  }
  const ids = r.instances.map((i) => i.id);
  if (ids.length > 0) {
    ctx.say(`terminating ${r.instances.map((i) => i.host || i.id).join(', ')}`);
    await waitTerminated(ids);
    if (recorder !== undefined) {
      for (const [name, h] of Object.entries(recorder.state.hosts))
        if (ids.includes(String(h.provider?.['instanceId']))) delete recorder.state.hosts[name];
    }
    await forget((address, id) => address.startsWith('aws/instance/') && ids.includes(id));
  }
  // Rules that name other groups keep those groups in use: revoke them all before deleting any group.
  for (const g of r.groups.filter((x) => x.hasRules)) {
    const full = await call(ctx, `EC2 DescribeSecurityGroups ${g.id}`, () =>
      ctx.clients.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [g.id] })),
    );
    const perms = full.SecurityGroups?.[0]?.IpPermissions ?? [];
    if (perms.length === 0) continue;
    ctx.say(`aws/security-group ${g.name}: revoking ${perms.length} rules`);
    await call(ctx, `EC2 RevokeSecurityGroupIngress ${g.name}`, () =>
      ctx.clients.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: g.id, IpPermissions: perms })),
    );
  }
  for (const g of r.groups) {
    ctx.say(`aws/security-group ${g.name}: deleting`);
    // Network interfaces of terminated instances and deleted balancers take minutes to drain.
    await withRetry(
      `EC2 DeleteSecurityGroup ${g.name}`,
      () => ctx.clients.ec2.send(new DeleteSecurityGroupCommand({ GroupId: g.id })),
      {
        sleep: ctx.sleep,
        retryOn: new Set(['DependencyViolation']),
        attempts: 30,
        baseDelayMs: 2000,
        maxDelayMs: 30_000,
        onRetry: (n, a, d) =>
          ctx.say(`aws/security-group ${g.name}: ${n} (still in use), retry ${a} in ${d} ms`),
      },
    );
    await forget((address, id) => address.startsWith('aws/security-group/') && id === g.id);
  }
  for (const b of r.buckets.filter((x) => x.created)) {
    ctx.say(`aws/bucket ${b.name}: emptying and deleting`);
    await emptyBucket(ctx, b.name);
    await call(ctx, `S3 DeleteBucket ${b.name}`, () =>
      ctx.clients.s3.send(new DeleteBucketCommand({ Bucket: b.name })),
    );
    await forget((address) => address === `aws/bucket/${b.name}`);
  }
}

/** Clusters in the region whose `meso:expires-at` tag is in the past (on any of their resources). */
export async function expiredClusters(
  ctx: AwsContext,
  now: Date,
): Promise<{ cluster: string; expiresAt: string }[]> {
  const seen = new Map<string, string>();
  const note = (tags: readonly { Key?: string; Value?: string }[] | undefined): void => {
    const cluster = tagValue(tags, TAG_CLUSTER);
    const at = tagValue(tags, TAG_EXPIRES);
    if (cluster === undefined || at === undefined) return;
    const t = Date.parse(at);
    if (Number.isNaN(t) || t > now.getTime()) return;
    const prev = seen.get(cluster);
    if (prev === undefined || at < prev) seen.set(cluster, at);
  };
  const byKey: Filter = { Name: 'tag-key', Values: [TAG_EXPIRES] };
  for (const i of await describeInstances(ctx, [byKey])) if (i.State?.Name !== 'terminated') note(i.Tags);
  for (const g of await describeSecurityGroups(ctx, [byKey])) note(g.Tags);
  const names = (await allBalancers(ctx)).flatMap((b) =>
    b.LoadBalancerName === undefined ? [] : [b.LoadBalancerName],
  );
  for (const tags of (await balancerTags(ctx, names)).values()) note(tags);
  return [...seen]
    .map(([cluster, expiresAt]) => ({ cluster, expiresAt }))
    .sort((a, b) => a.cluster.localeCompare(b.cluster));
}
