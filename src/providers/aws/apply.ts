import { connect } from 'node:net';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeImagesCommand,
  GetConsoleOutputCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStatusOk,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import type { IpPermission, Tag } from '@aws-sdk/client-ec2';
import {
  ApplySecurityGroupsToLoadBalancerCommand,
  ConfigureHealthCheckCommand,
  CreateLoadBalancerCommand,
  CreateLoadBalancerListenersCommand,
  DeleteLoadBalancerCommand,
  DeleteLoadBalancerListenersCommand,
  DeregisterInstancesFromLoadBalancerCommand,
  RegisterInstancesWithLoadBalancerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import { CreateBucketCommand, PutBucketTaggingCommand } from '@aws-sdk/client-s3';
import type { BucketLocationConstraint } from '@aws-sdk/client-s3';
import type { CloudChange } from '../../plan/types.js';
import type { ClusterState } from '../../state/types.js';
import { MesoError } from '../../util/errors.js';
import type { DesiredBalancer, DesiredCloud, DesiredInstance, Permission, SgRole, Tags } from './desired.js';
import { call, describeInstances, toObservedInstance } from './observe.js';
import type { AwsContext, ObservedCloud, ObservedPermission } from './observe.js';
import { ingressDiff } from './plan.js';
import { errorName, NOT_YET_VISIBLE, withRetry } from './retry.js';

/** Where apply records what AWS returned, the moment it returns it (a crash leaks nothing unrecorded). */
export interface CloudRecorder {
  state: ClusterState;
  save(): Promise<void>;
}

export const ec2Tags = (t: Tags): Tag[] =>
  Object.entries(t)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value }));

async function record(
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

async function forget(r: CloudRecorder, address: string): Promise<void> {
  if (r.state.cloud?.[address] === undefined) return;
  delete r.state.cloud[address];
  await r.save();
}

const consistent = (ctx: AwsContext, what: string) => ({
  sleep: ctx.sleep,
  retryOn: NOT_YET_VISIBLE,
  attempts: 10,
  onRetry: (n: string, a: number, d: number) => ctx.say(`${what}: ${n}, retry ${a} in ${d} ms`),
});

function ipPermission(
  p: Permission | ObservedPermission,
  groupId: (p: Permission | ObservedPermission) => string,
) {
  const base: IpPermission =
    p.protocol === '-1'
      ? { IpProtocol: '-1' }
      : { IpProtocol: p.protocol, FromPort: p.fromPort, ToPort: p.toPort };
  return 'cidr' in p.from
    ? { ...base, IpRanges: [{ CidrIp: p.from.cidr }] }
    : { ...base, UserIdGroupPairs: [{ GroupId: groupId(p) }] };
}

async function applyGroups(
  ctx: AwsContext,
  d: DesiredCloud,
  o: ObservedCloud,
  changes: readonly CloudChange[],
  r: CloudRecorder,
): Promise<Map<SgRole, string>> {
  const ids = new Map([...o.groups.values()].map((g) => [g.role, g.id]));
  for (const g of d.groups) {
    if (ids.has(g.role)) continue;
    ctx.say(`aws/security-group/${g.role}: creating ${g.name}`);
    const out = await call(ctx, `EC2 CreateSecurityGroup ${g.name}`, () =>
      ctx.clients.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: g.name,
          Description: g.description,
          ...(d.vpcId === undefined ? {} : { VpcId: d.vpcId }),
          TagSpecifications: [{ ResourceType: 'security-group', Tags: ec2Tags(g.tags) }],
        }),
      ),
    );
    const id = out.GroupId ?? '';
    ids.set(g.role, id);
    await record(r, d.region, `aws/security-group/${g.role}`, 'security-group', g.role, id);
  }
  // Rules after all groups exist, since they reference each other; only the differences are sent.
  const roles = new Map([...ids].map(([role, id]) => [id, role]));
  for (const g of d.groups) {
    if (!changes.some((c) => c.address === `aws/security-group/${g.role}`)) continue;
    const id = ids.get(g.role)!;
    const { add, remove } = ingressDiff(g, o.groups.get(g.role), roles);
    const groupOf = (p: Permission | ObservedPermission): string =>
      'group' in p.from ? ids.get(p.from.group)! : 'groupId' in p.from ? p.from.groupId : '';
    if (remove.length > 0) {
      ctx.say(`aws/security-group/${g.role}: revoking ${remove.map((x) => x.text).join('; ')}`);
      await withRetry(
        `EC2 RevokeSecurityGroupIngress ${g.name}`,
        () =>
          ctx.clients.ec2.send(
            new RevokeSecurityGroupIngressCommand({
              GroupId: id,
              IpPermissions: remove.map((x) => ipPermission(x.perm, groupOf)),
            }),
          ),
        consistent(ctx, `revoke on ${g.name}`),
      );
    }
    if (add.length > 0) {
      ctx.say(`aws/security-group/${g.role}: authorizing ${add.map((x) => x.text).join('; ')}`);
      try {
        await withRetry(
          `EC2 AuthorizeSecurityGroupIngress ${g.name}`,
          () =>
            ctx.clients.ec2.send(
              new AuthorizeSecurityGroupIngressCommand({
                GroupId: id,
                IpPermissions: add.map((x) => ipPermission(x.perm, groupOf)),
              }),
            ),
          consistent(ctx, `authorize on ${g.name}`),
        );
      } catch (e) {
        // Another run added the same rule meanwhile: the goal is reached.
        if (errorName(e) !== 'InvalidPermission.Duplicate') throw e;
      }
    }
  }
  return ids;
}

/** Host keys from the console, as cloud-init prints them; ed25519 first (the type the pin restricts to). */
export function hostKeysFromConsole(output: string): string[] {
  const m = /-----BEGIN SSH HOST KEY KEYS-----\r?\n([\s\S]*?)-----END SSH HOST KEY KEYS-----/.exec(output);
  if (m === null) return [];
  const keys = m[1]!
    .split(/\r?\n/)
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 2 && /^(ssh-|ecdsa-)/.test(w[0]!) && /^[A-Za-z0-9+/=]+$/.test(w[1]!))
    .map((w) => `${w[0]} ${w[1]}`);
  return keys.sort((a, b) => Number(!a.startsWith('ssh-ed25519')) - Number(!b.startsWith('ssh-ed25519')));
}

async function rootDevice(ctx: AwsContext, ami: string, cache: Map<string, string>): Promise<string> {
  const known = cache.get(ami);
  if (known !== undefined) return known;
  const r = await call(ctx, `EC2 DescribeImages ${ami}`, () =>
    ctx.clients.ec2.send(new DescribeImagesCommand({ ImageIds: [ami] })),
  );
  const dev = r.Images?.[0]?.RootDeviceName ?? '/dev/xvda';
  cache.set(ami, dev);
  return dev;
}

async function runInstance(
  ctx: AwsContext,
  i: DesiredInstance,
  groupIds: ReadonlyMap<SgRole, string>,
  token: string,
  devices: Map<string, string>,
): Promise<{ id: string; privateIp: string | undefined }> {
  const volume =
    i.rootVolumeSize === undefined
      ? {}
      : {
          BlockDeviceMappings: [
            {
              DeviceName: await rootDevice(ctx, i.ami, devices),
              Ebs: { VolumeSize: i.rootVolumeSize, VolumeType: 'gp3' as const, DeleteOnTermination: true },
            },
          ],
        };
  // Tagged at launch, so an instance whose id never reached the state is still found (and adopted) by its tags.
  const out = await withRetry(
    `EC2 RunInstances ${i.host}`,
    () =>
      ctx.clients.ec2.send(
        new RunInstancesCommand({
          ImageId: i.ami,
          InstanceType: i.instanceType as never,
          KeyName: i.keyName,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: i.subnet,
          SecurityGroupIds: i.groups.map((g) => groupIds.get(g)!),
          ...(i.instanceProfile === undefined ? {} : { IamInstanceProfile: { Name: i.instanceProfile } }),
          ...volume,
          ClientToken: token,
          TagSpecifications: [
            { ResourceType: 'instance', Tags: ec2Tags(i.tags) },
            { ResourceType: 'volume', Tags: ec2Tags(i.tags) },
          ],
        }),
      ),
    consistent(ctx, `launch ${i.host}`),
  );
  const inst = out.Instances?.[0];
  if (inst?.InstanceId === undefined)
    throw new MesoError('AwsCallFailed', `EC2 RunInstances ${i.host} returned no instance`);
  return { id: inst.InstanceId, privateIp: inst.PrivateIpAddress };
}

const waiter = (ctx: AwsContext) => ({
  client: ctx.clients.ec2,
  maxWaitTime: ctx.waitSeconds,
  minDelay: 2,
  maxDelay: 15,
});

export async function terminate(ctx: AwsContext, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await call(ctx, `EC2 TerminateInstances ${ids.join(' ')}`, () =>
    ctx.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })),
  );
  ctx.say(`waiting for ${ids.join(', ')} to terminate`);
  await waitFor(ctx, 'terminated', () => waitUntilInstanceTerminated(waiter(ctx), { InstanceIds: ids }));
}

async function waitFor(ctx: AwsContext, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const name = errorName(e);
    throw new MesoError(
      'AwsTimeout',
      `instances did not become ${what} within ${ctx.waitSeconds} s (${name || (e as Error).message})`,
      {
        hint: 'look at the instances in the EC2 console; run meso apply again to continue (ids are in the state)',
      },
    );
  }
}

/** Private and public addresses once running; host keys from the console where the image prints them. */
async function settle(
  ctx: AwsContext,
  ids: Map<string, string>,
  r: CloudRecorder,
  cloudOnly: boolean,
): Promise<void> {
  if (ids.size === 0) return;
  const all = [...ids.values()];
  ctx.say(`waiting for ${[...ids.keys()].join(', ')} to be running`);
  await waitFor(ctx, 'running', () => waitUntilInstanceRunning(waiter(ctx), { InstanceIds: all }));
  const seen = (await describeInstances(ctx, [{ Name: 'instance-id', Values: all }])).map(toObservedInstance);
  for (const [host, id] of ids) {
    const i = seen.find((x) => x.id === id);
    const h = r.state.hosts[host];
    if (i === undefined || h === undefined) continue;
    h.privateAddress = i.privateIp ?? h.privateAddress;
    h.address = i.publicIp ?? i.privateIp ?? h.address;
  }
  await r.save();
  if (cloudOnly) return;
  ctx.say(`waiting for status checks of ${[...ids.keys()].join(', ')}`);
  await waitFor(ctx, 'status ok', () => waitUntilInstanceStatusOk(waiter(ctx), { InstanceIds: all }));
  for (const [host, id] of ids) {
    const h = r.state.hosts[host];
    if (h === undefined) continue;
    const out = await call(ctx, `EC2 GetConsoleOutput ${id}`, () =>
      ctx.clients.ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true })),
    );
    const keys = hostKeysFromConsole(Buffer.from(out.Output ?? '', 'base64').toString('utf8'));
    const provider = (h.provider ??= {});
    if (keys[0] !== undefined) {
      h.hostKey = keys[0];
      provider['hostKeyFrom'] = 'console';
      ctx.say(`${host}: host key pinned from the console output (${keys[0].split(' ')[0]})`);
    } else {
      provider['hostKeyFrom'] = 'accept-new';
      ctx.say(`${host}: the image prints no host keys on the console; the first key seen will be pinned`);
    }
  }
  await r.save();
}

async function applyInstances(
  ctx: AwsContext,
  d: DesiredCloud,
  o: ObservedCloud,
  changes: readonly CloudChange[],
  groupIds: ReadonlyMap<SgRole, string>,
  r: CloudRecorder,
  runId: string,
  cloudOnly: boolean,
): Promise<Map<string, string>> {
  const ids = new Map([...o.instances].map(([host, i]) => [host, i.id]));
  const mine = changes.filter((c) => c.resource === 'instance');
  // Deletes and the old half of replacements first (destroy before create, as Terraform does by default).
  const gone = mine.filter((c) => c.action === 'delete' || c.action === 'replace');
  if (gone.length > 0) {
    ctx.say(`terminating ${gone.map((c) => c.name).join(', ')}`);
    await terminate(
      ctx,
      gone.map((c) => c.id!),
    );
    for (const c of gone) {
      if (c.action === 'replace' || !d.instances.some((i) => i.host === c.host)) {
        if (c.host !== '' && r.state.hosts[c.host]?.provider?.['instanceId'] === c.id)
          delete r.state.hosts[c.host];
        if (c.action === 'replace') ids.delete(c.host);
      }
      if (r.state.cloud?.[c.address]?.id === c.id) await forget(r, c.address);
    }
    await r.save();
  }
  const started = mine.filter((c) => c.action === 'update');
  if (started.length > 0) {
    await call(ctx, 'EC2 StartInstances', () =>
      ctx.clients.ec2.send(new StartInstancesCommand({ InstanceIds: started.map((c) => c.id!) })),
    );
  }
  const fresh = new Map<string, string>(started.map((c) => [c.host, c.id!]));
  const devices = new Map<string, string>();
  for (const c of mine.filter((x) => x.action === 'create' || x.action === 'replace')) {
    const i = d.instances.find((x) => x.host === c.host)!;
    ctx.say(`aws/instance/${i.host}: launching ${i.instanceType} from ${i.ami} in ${i.subnet}`);
    const { id, privateIp } = await runInstance(ctx, i, groupIds, `${runId}-${i.host}`.slice(0, 64), devices);
    ids.set(i.host, id);
    fresh.set(i.host, id);
    r.state.hosts[i.host] = {
      address: privateIp ?? '',
      privateAddress: privateIp ?? '',
      files: {},
      directories: [],
      services: [],
      provider: { kind: 'aws', instanceId: id },
    };
    await record(r, d.region, `aws/instance/${i.host}`, 'instance', i.host, id);
  }
  // Adopted instances (found by tag, unknown to the state) get their records too.
  for (const [host, i] of o.instances) {
    if (r.state.hosts[host]?.provider?.['instanceId'] === i.id) continue;
    if (fresh.has(host)) continue;
    const prev = r.state.hosts[host];
    r.state.hosts[host] = {
      address: i.publicIp ?? i.privateIp ?? '',
      privateAddress: i.privateIp ?? '',
      files: prev?.files ?? {},
      directories: prev?.directories ?? [],
      services: prev?.services ?? [],
      ...(prev?.hostKey === undefined ? {} : { hostKey: prev.hostKey }),
      provider: { kind: 'aws', instanceId: i.id, hostKeyFrom: 'accept-new' },
    };
    await record(r, d.region, `aws/instance/${host}`, 'instance', host, i.id);
  }
  await settle(ctx, fresh, r, cloudOnly);
  return ids;
}

const listeners = (ports: readonly number[]) =>
  ports.map((p) => ({ Protocol: 'TCP', LoadBalancerPort: p, InstanceProtocol: 'TCP', InstancePort: p }));

async function createBalancer(
  ctx: AwsContext,
  d: DesiredCloud,
  b: DesiredBalancer,
  groupIds: ReadonlyMap<SgRole, string>,
  r: CloudRecorder,
): Promise<void> {
  ctx.say(`aws/load-balancer/${b.key}: creating ${b.name}`);
  await withRetry(
    `ELB CreateLoadBalancer ${b.name}`,
    () =>
      ctx.clients.elb.send(
        new CreateLoadBalancerCommand({
          LoadBalancerName: b.name,
          Listeners: listeners(b.ports),
          Subnets: b.subnets,
          SecurityGroups: b.groups.map((g) => groupIds.get(g)!),
          ...(b.scheme === 'internal' ? { Scheme: 'internal' } : {}),
          Tags: ec2Tags(b.tags).map((t) => ({ Key: t.Key!, Value: t.Value })),
        }),
      ),
    consistent(ctx, `create ${b.name}`),
  );
  await record(r, d.region, `aws/load-balancer/${b.key}`, 'load-balancer', b.key, b.name);
}

async function healthCheck(ctx: AwsContext, b: DesiredBalancer): Promise<void> {
  await call(ctx, `ELB ConfigureHealthCheck ${b.name}`, () =>
    ctx.clients.elb.send(
      new ConfigureHealthCheckCommand({
        LoadBalancerName: b.name,
        HealthCheck: {
          Target: b.healthCheck,
          Interval: 30,
          Timeout: 5,
          UnhealthyThreshold: 2,
          HealthyThreshold: 2,
        },
      }),
    ),
  );
}

async function applyBalancers(
  ctx: AwsContext,
  d: DesiredCloud,
  o: ObservedCloud,
  changes: readonly CloudChange[],
  groupIds: ReadonlyMap<SgRole, string>,
  instanceIds: ReadonlyMap<string, string>,
  r: CloudRecorder,
): Promise<void> {
  for (const b of d.balancers) {
    const c = changes.find((x) => x.address === `aws/load-balancer/${b.key}`);
    if (c === undefined) continue;
    const seen = c.action === 'create' || c.action === 'replace' ? undefined : o.balancers.get(b.key);
    if (c.action === 'replace') {
      await call(ctx, `ELB DeleteLoadBalancer ${b.name}`, () =>
        ctx.clients.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerName: b.name })),
      );
    }
    if (seen === undefined) {
      await createBalancer(ctx, d, b, groupIds, r);
      await healthCheck(ctx, b);
    } else {
      if (c.attributes.some((a) => a.name === 'listeners')) {
        const extra = seen.ports.filter((p) => !b.ports.includes(p));
        const missing = b.ports.filter((p) => !seen.ports.includes(p));
        if (extra.length > 0)
          await call(ctx, `ELB DeleteLoadBalancerListeners ${b.name}`, () =>
            ctx.clients.elb.send(
              new DeleteLoadBalancerListenersCommand({ LoadBalancerName: b.name, LoadBalancerPorts: extra }),
            ),
          );
        if (missing.length > 0)
          await call(ctx, `ELB CreateLoadBalancerListeners ${b.name}`, () =>
            ctx.clients.elb.send(
              new CreateLoadBalancerListenersCommand({
                LoadBalancerName: b.name,
                Listeners: listeners(missing),
              }),
            ),
          );
      }
      if (c.attributes.some((a) => a.name === 'health_check')) await healthCheck(ctx, b);
      if (c.attributes.some((a) => a.name === 'security_groups'))
        await call(ctx, `ELB ApplySecurityGroupsToLoadBalancer ${b.name}`, () =>
          ctx.clients.elb.send(
            new ApplySecurityGroupsToLoadBalancerCommand({
              LoadBalancerName: b.name,
              SecurityGroups: b.groups.map((g) => groupIds.get(g)!),
            }),
          ),
        );
    }
    const want = b.hosts.flatMap((h) => {
      const id = instanceIds.get(h);
      return id === undefined ? [] : [id];
    });
    const have = seen?.instanceIds ?? [];
    const register = want.filter((id) => !have.includes(id));
    const deregister = have.filter((id) => !want.includes(id));
    if (deregister.length > 0) {
      ctx.say(`aws/load-balancer/${b.key}: deregistering ${deregister.join(', ')}`);
      await call(ctx, `ELB DeregisterInstancesFromLoadBalancer ${b.name}`, () =>
        ctx.clients.elb.send(
          new DeregisterInstancesFromLoadBalancerCommand({
            LoadBalancerName: b.name,
            Instances: deregister.map((InstanceId) => ({ InstanceId })),
          }),
        ),
      );
    }
    if (register.length > 0) {
      ctx.say(`aws/load-balancer/${b.key}: registering ${register.join(', ')}`);
      await withRetry(
        `ELB RegisterInstancesWithLoadBalancer ${b.name}`,
        () =>
          ctx.clients.elb.send(
            new RegisterInstancesWithLoadBalancerCommand({
              LoadBalancerName: b.name,
              Instances: register.map((InstanceId) => ({ InstanceId })),
            }),
          ),
        consistent(ctx, `register with ${b.name}`),
      );
    }
  }
}

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
