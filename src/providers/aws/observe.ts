import { DescribeInstancesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { Filter, Instance, IpPermission, SecurityGroup, Tag } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, DescribeTagsCommand } from '@aws-sdk/client-elastic-load-balancing';
import type { LoadBalancerDescription } from '@aws-sdk/client-elastic-load-balancing';
import { GetBucketTaggingCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { MesoError } from '../../util/errors.js';
import type { AwsClients } from './clients.js';
import { TAG_CLUSTER, TAG_CREATED, TAG_HOST, TAG_ROLE } from './desired.js';
import type { BalancerKey, DesiredCloud, SgRole } from './desired.js';
import { errorName, errorStatus, withRetry } from './retry.js';
import type { RetryOptions } from './retry.js';

/** How the cloud code reaches AWS: the clients, and a sleep that tests replace. */
export interface AwsContext {
  clients: AwsClients;
  sleep: RetryOptions['sleep'];
  /** Progress lines for the operator. */
  say: (message: string) => void;
  /** Upper bound for each SDK waiter, in seconds. */
  waitSeconds: number;
}

export const call = <T>(ctx: AwsContext, what: string, fn: () => Promise<T>): Promise<T> =>
  withRetry(what, fn, {
    sleep: ctx.sleep,
    onRetry: (n, a, d) => ctx.say(`${what}: ${n}, retry ${a} in ${d} ms`),
  });

export interface ObservedPermission {
  protocol: string;
  fromPort: number;
  toPort: number;
  from: { groupId: string } | { cidr: string };
}

export interface ObservedGroup {
  id: string;
  role: SgRole;
  name: string;
  ingress: ObservedPermission[];
}

export interface ObservedInstance {
  id: string;
  host: string;
  state: string;
  instanceType: string;
  ami: string;
  subnet: string;
  keyName: string;
  privateIp: string | undefined;
  publicIp: string | undefined;
  groupIds: string[];
}

export interface ObservedBalancer {
  key: BalancerKey;
  name: string;
  scheme: string;
  ports: number[];
  healthCheck: string;
  subnets: string[];
  groupIds: string[];
  instanceIds: string[];
  dns: string;
}

export interface ObservedBucket {
  name: string;
  exists: boolean;
  /** Tagged for this cluster. */
  ours: boolean;
  /** Tagged as created by meso (so destroy may delete it). */
  created: boolean;
}

export interface ObservedCloud {
  groups: Map<SgRole, ObservedGroup>;
  /** Live instances of the cluster by host name (pending, running, stopping, stopped). */
  instances: Map<string, ObservedInstance>;
  /** Instances tagged for this cluster that no host name claims, or a second one for a host. */
  extraInstances: ObservedInstance[];
  balancers: Map<BalancerKey, ObservedBalancer>;
  bucket: ObservedBucket | undefined;
}

const tagOf = (tags: readonly Tag[] | undefined, key: string): string | undefined =>
  tags?.find((t) => t.Key === key)?.Value;

export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

function permissions(list: readonly IpPermission[] | undefined): ObservedPermission[] {
  const out: ObservedPermission[] = [];
  for (const p of list ?? []) {
    const protocol = p.IpProtocol === '-1' || p.IpProtocol === undefined ? '-1' : p.IpProtocol;
    const fromPort = protocol === '-1' ? -1 : (p.FromPort ?? -1);
    const toPort = protocol === '-1' ? -1 : (p.ToPort ?? -1);
    for (const g of p.UserIdGroupPairs ?? [])
      if (g.GroupId !== undefined) out.push({ protocol, fromPort, toPort, from: { groupId: g.GroupId } });
    for (const r of p.IpRanges ?? [])
      if (r.CidrIp !== undefined) out.push({ protocol, fromPort, toPort, from: { cidr: r.CidrIp } });
  }
  return out;
}

export async function describeInstances(ctx: AwsContext, filters: Filter[]): Promise<Instance[]> {
  const out: Instance[] = [];
  let token: string | undefined;
  do {
    const r = await call(ctx, 'EC2 DescribeInstances', () =>
      ctx.clients.ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: token })),
    );
    for (const res of r.Reservations ?? []) out.push(...(res.Instances ?? []));
    token = r.NextToken;
  } while (token !== undefined && token !== '');
  return out;
}

export function toObservedInstance(i: Instance): ObservedInstance {
  return {
    id: i.InstanceId ?? '',
    host: tagOf(i.Tags, TAG_HOST) ?? '',
    state: i.State?.Name ?? 'unknown',
    instanceType: String(i.InstanceType ?? ''),
    ami: i.ImageId ?? '',
    subnet: i.SubnetId ?? '',
    keyName: i.KeyName ?? '',
    privateIp: i.PrivateIpAddress,
    publicIp: i.PublicIpAddress,
    groupIds: (i.SecurityGroups ?? []).flatMap((g) => (g.GroupId === undefined ? [] : [g.GroupId])),
  };
}

const clusterFilter = (cluster: string): Filter => ({ Name: `tag:${TAG_CLUSTER}`, Values: [cluster] });

/** Every security group matching `filters`, all pages. */
export async function describeSecurityGroups(ctx: AwsContext, filters: Filter[]): Promise<SecurityGroup[]> {
  const out: SecurityGroup[] = [];
  let token: string | undefined;
  do {
    const r = await call(ctx, 'EC2 DescribeSecurityGroups', () =>
      ctx.clients.ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters, NextToken: token })),
    );
    out.push(...(r.SecurityGroups ?? []));
    token = r.NextToken;
  } while (token !== undefined && token !== '');
  return out;
}

export async function observeGroups(ctx: AwsContext, cluster: string): Promise<Map<SgRole, ObservedGroup>> {
  const groups = new Map<SgRole, ObservedGroup>();
  for (const g of await describeSecurityGroups(ctx, [clusterFilter(cluster)])) {
    const role = tagOf(g.Tags, TAG_ROLE) as SgRole | undefined;
    if (role === undefined || g.GroupId === undefined) continue;
    groups.set(role, { id: g.GroupId, role, name: g.GroupName ?? '', ingress: permissions(g.IpPermissions) });
  }
  return groups;
}

function toObservedBalancer(key: BalancerKey, d: LoadBalancerDescription): ObservedBalancer {
  return {
    key,
    name: d.LoadBalancerName ?? '',
    scheme: d.Scheme ?? '',
    ports: (d.ListenerDescriptions ?? [])
      .flatMap((l) => (l.Listener?.LoadBalancerPort === undefined ? [] : [l.Listener.LoadBalancerPort]))
      .sort((a, b) => a - b),
    healthCheck: d.HealthCheck?.Target ?? '',
    subnets: [...(d.Subnets ?? [])].sort(),
    groupIds: [...(d.SecurityGroups ?? [])].sort(),
    instanceIds: (d.Instances ?? [])
      .flatMap((i) => (i.InstanceId === undefined ? [] : [i.InstanceId]))
      .sort(),
    dns: d.DNSName ?? '',
  };
}

/** Tags of classic load balancers, 20 names a call (the API's limit). */
export async function balancerTags(ctx: AwsContext, names: readonly string[]): Promise<Map<string, Tag[]>> {
  const out = new Map<string, Tag[]>();
  for (let i = 0; i < names.length; i += 20) {
    const r = await call(ctx, 'ELB DescribeTags', () =>
      ctx.clients.elb.send(new DescribeTagsCommand({ LoadBalancerNames: names.slice(i, i + 20) })),
    );
    for (const d of r.TagDescriptions ?? [])
      if (d.LoadBalancerName !== undefined) out.set(d.LoadBalancerName, d.Tags ?? []);
  }
  return out;
}

export const balancerNotFound = (e: unknown): boolean =>
  ['AccessPointNotFoundException', 'LoadBalancerNotFound'].includes(errorName(e));

async function observeBalancer(
  ctx: AwsContext,
  cluster: string,
  key: BalancerKey,
  name: string,
): Promise<ObservedBalancer | undefined> {
  let d: LoadBalancerDescription | undefined;
  try {
    const r = await call(ctx, 'ELB DescribeLoadBalancers', () =>
      ctx.clients.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] })),
    );
    d = r.LoadBalancerDescriptions?.[0];
  } catch (e) {
    if (balancerNotFound(e)) return undefined;
    throw e;
  }
  if (d === undefined) return undefined;
  const tags = (await balancerTags(ctx, [name])).get(name);
  if (tagOf(tags, TAG_CLUSTER) !== cluster) {
    throw new MesoError(
      'AwsConflict',
      `load balancer ${name} exists but is not tagged ${TAG_CLUSTER}=${cluster}; meso never touches it`,
      { hint: 'remove or rename that load balancer, or give the cluster another name' },
    );
  }
  return toObservedBalancer(key, d);
}

async function observeBucket(ctx: AwsContext, cluster: string, name: string): Promise<ObservedBucket> {
  try {
    await call(ctx, `S3 HeadBucket ${name}`, () =>
      ctx.clients.s3.send(new HeadBucketCommand({ Bucket: name })),
    );
  } catch (e) {
    if (['NotFound', 'NoSuchBucket'].includes(errorName(e)) || errorStatus(e) === 404)
      return { name, exists: false, ours: false, created: false };
    throw e;
  }
  let tags: Tag[] = [];
  try {
    const r = await call(ctx, `S3 GetBucketTagging ${name}`, () =>
      ctx.clients.s3.send(new GetBucketTaggingCommand({ Bucket: name })),
    );
    tags = (r.TagSet ?? []).map((t) => ({ Key: t.Key, Value: t.Value }));
  } catch (e) {
    if (errorName(e) !== 'NoSuchTagSet') throw e;
  }
  return {
    name,
    exists: true,
    ours: tagOf(tags, TAG_CLUSTER) === cluster,
    created: tagOf(tags, TAG_CREATED) === 'true',
  };
}

/** Everything of this cluster in the account, found by its tags (and the balancers' names). */
export async function observeCloud(ctx: AwsContext, desired: DesiredCloud): Promise<ObservedCloud> {
  const groups = await observeGroups(ctx, desired.cluster);
  const found = (
    await describeInstances(ctx, [
      clusterFilter(desired.cluster),
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ])
  ).map(toObservedInstance);
  const wanted = new Set(desired.instances.map((i) => i.host));
  const instances = new Map<string, ObservedInstance>();
  const extraInstances: ObservedInstance[] = [];
  // Oldest first wins a host name, so a duplicate left by an interrupted run is the one removed.
  for (const i of found.sort((a, b) => a.id.localeCompare(b.id))) {
    if (wanted.has(i.host) && !instances.has(i.host)) instances.set(i.host, i);
    else extraInstances.push(i);
  }
  const balancers = new Map<BalancerKey, ObservedBalancer>();
  for (const b of desired.balancers) {
    const o = await observeBalancer(ctx, desired.cluster, b.key, b.name);
    if (o !== undefined) balancers.set(b.key, o);
  }
  const bucket =
    desired.bucket === undefined ? undefined : await observeBucket(ctx, desired.cluster, desired.bucket.name);
  return { groups, instances, extraInstances, balancers, bucket };
}
