// A small stateful EC2 / ELB / S3 behind aws-sdk-client-mock: the real SDK clients and commands,
// answered from memory, so call sequences, idempotency and second plans can be checked.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  GetConsoleOutputCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Filter, Instance, IpPermission, SecurityGroup, Tag } from '@aws-sdk/client-ec2';
import {
  ApplySecurityGroupsToLoadBalancerCommand,
  ConfigureHealthCheckCommand,
  CreateLoadBalancerCommand,
  CreateLoadBalancerListenersCommand,
  DeleteLoadBalancerCommand,
  DeleteLoadBalancerListenersCommand,
  DeregisterInstancesFromLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingClient,
  RegisterInstancesWithLoadBalancerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import type { LoadBalancerDescription } from '@aws-sdk/client-elastic-load-balancing';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

export function awsErr(name: string, status = 400, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

interface Lb {
  d: LoadBalancerDescription;
  tags: Tag[];
}

type Handler = (input: never) => unknown;

export class FakeAws {
  readonly groups = new Map<string, SecurityGroup>();
  readonly instances = new Map<string, Instance>();
  readonly balancers = new Map<string, Lb>();
  readonly buckets = new Map<string, { tags: Tag[]; keys: Set<string> }>();
  /** Every call in order: `EC2 RunInstances`, ... */
  readonly calls: { op: string; input: Record<string, unknown> }[] = [];
  /** Console output per instance (what cloud-init would print). */
  consoleOutput = '';
  private readonly failures = new Map<string, Error[]>();
  private readonly passes = new Map<string, { left: number; error: Error }>();
  private seq = 0;
  private readonly mocks = [
    mockClient(EC2Client),
    mockClient(ElasticLoadBalancingClient),
    mockClient(S3Client),
  ];

  constructor() {
    const [ec2, elb, s3] = this.mocks as [
      ReturnType<typeof mockClient>,
      ReturnType<typeof mockClient>,
      ReturnType<typeof mockClient>,
    ];
    const on = (
      m: ReturnType<typeof mockClient>,
      service: string,
      cmd: unknown,
      op: string,
      h: Handler,
    ): void => {
      m.on(cmd as never).callsFake((input: Record<string, unknown>) => {
        const name = `${service} ${op}`;
        this.calls.push({ op: name, input });
        const pass = this.passes.get(name);
        if (pass !== undefined) {
          if (pass.left === 0) {
            this.passes.delete(name);
            throw pass.error;
          }
          pass.left--;
        }
        const f = this.failures.get(name)?.shift();
        if (f !== undefined) throw f;
        return h(input as never);
      });
    };
    on(
      ec2,
      'EC2',
      DescribeSecurityGroupsCommand,
      'DescribeSecurityGroups',
      (i: { Filters?: Filter[]; GroupIds?: string[] }) => ({
        SecurityGroups: [...this.groups.values()].filter(
          (g) =>
            (i.GroupIds === undefined || i.GroupIds.includes(g.GroupId!)) && matches(g.Tags, i.Filters, {}),
        ),
      }),
    );
    on(
      ec2,
      'EC2',
      CreateSecurityGroupCommand,
      'CreateSecurityGroup',
      (i: { GroupName: string; VpcId?: string; TagSpecifications?: { Tags?: Tag[] }[] }) => {
        if ([...this.groups.values()].some((g) => g.GroupName === i.GroupName))
          throw awsErr('InvalidGroup.Duplicate');
        const id = `sg-${(++this.seq).toString(16).padStart(8, '0')}`;
        this.groups.set(id, {
          GroupId: id,
          GroupName: i.GroupName,
          VpcId: i.VpcId,
          IpPermissions: [],
          Tags: i.TagSpecifications?.[0]?.Tags ?? [],
        });
        return { GroupId: id };
      },
    );
    on(
      ec2,
      'EC2',
      AuthorizeSecurityGroupIngressCommand,
      'AuthorizeSecurityGroupIngress',
      (i: { GroupId: string; IpPermissions: IpPermission[] }) => {
        const g = this.group(i.GroupId);
        g.IpPermissions = [...(g.IpPermissions ?? []), ...i.IpPermissions];
        return {};
      },
    );
    on(
      ec2,
      'EC2',
      RevokeSecurityGroupIngressCommand,
      'RevokeSecurityGroupIngress',
      (i: { GroupId: string; IpPermissions: IpPermission[] }) => {
        const g = this.group(i.GroupId);
        const key = (p: IpPermission): string =>
          JSON.stringify([
            p.IpProtocol,
            p.FromPort ?? null,
            p.ToPort ?? null,
            p.UserIdGroupPairs?.map((x) => x.GroupId) ?? [],
            p.IpRanges?.map((x) => x.CidrIp) ?? [],
          ]);
        const gone = new Set(i.IpPermissions.flatMap(split).map(key));
        g.IpPermissions = (g.IpPermissions ?? []).flatMap(split).filter((p) => !gone.has(key(p)));
        return {};
      },
    );
    on(ec2, 'EC2', DeleteSecurityGroupCommand, 'DeleteSecurityGroup', (i: { GroupId: string }) => {
      this.group(i.GroupId);
      const inUse =
        [...this.instances.values()].some(
          (x) => x.State?.Name !== 'terminated' && x.SecurityGroups?.some((s) => s.GroupId === i.GroupId),
        ) ||
        [...this.groups.values()].some((g) =>
          g.IpPermissions?.some((p) => p.UserIdGroupPairs?.some((u) => u.GroupId === i.GroupId)),
        );
      if (inUse) throw awsErr('DependencyViolation');
      this.groups.delete(i.GroupId);
      return {};
    });
    on(ec2, 'EC2', DescribeImagesCommand, 'DescribeImages', (i: { ImageIds: string[] }) => ({
      Images: i.ImageIds.map((id) => ({ ImageId: id, RootDeviceName: '/dev/xvda' })),
    }));
    on(
      ec2,
      'EC2',
      RunInstancesCommand,
      'RunInstances',
      (i: {
        ImageId: string;
        InstanceType: string;
        SubnetId: string;
        KeyName: string;
        SecurityGroupIds: string[];
        TagSpecifications?: { ResourceType?: string; Tags?: Tag[] }[];
      }) => {
        const n = ++this.seq;
        const id = `i-${n.toString(16).padStart(17, '0')}`;
        const inst: Instance = {
          InstanceId: id,
          ImageId: i.ImageId,
          InstanceType: i.InstanceType as never,
          SubnetId: i.SubnetId,
          KeyName: i.KeyName,
          State: { Name: 'pending' },
          PrivateIpAddress: `10.0.${Math.floor(n / 250)}.${(n % 250) + 2}`,
          SecurityGroups: i.SecurityGroupIds.map((GroupId) => ({ GroupId })),
          Tags: i.TagSpecifications?.find((t) => t.ResourceType === 'instance')?.Tags ?? [],
        };
        this.instances.set(id, inst);
        return { Instances: [{ ...inst }] };
      },
    );
    on(
      ec2,
      'EC2',
      DescribeInstancesCommand,
      'DescribeInstances',
      (i: { Filters?: Filter[]; InstanceIds?: string[] }) => {
        // Instances come up as soon as someone looks (what the waiters poll for).
        for (const x of this.instances.values())
          if (x.State?.Name === 'pending') x.State = { Name: 'running' };
        for (const x of this.instances.values())
          if (x.State?.Name === 'shutting-down') x.State = { Name: 'terminated' };
        const list = [...this.instances.values()].filter(
          (x) =>
            (i.InstanceIds === undefined || i.InstanceIds.includes(x.InstanceId!)) &&
            matches(x.Tags, i.Filters, {
              'instance-state-name': x.State?.Name ?? '',
              'instance-id': x.InstanceId ?? '',
            }),
        );
        return { Reservations: list.map((x) => ({ Instances: [structuredClone(x)] })) };
      },
    );
    on(
      ec2,
      'EC2',
      DescribeInstanceStatusCommand,
      'DescribeInstanceStatus',
      (i: { InstanceIds: string[] }) => ({
        InstanceStatuses: i.InstanceIds.map((InstanceId) => ({
          InstanceId,
          InstanceStatus: { Status: 'ok' },
          SystemStatus: { Status: 'ok' },
        })),
      }),
    );
    on(ec2, 'EC2', TerminateInstancesCommand, 'TerminateInstances', (i: { InstanceIds: string[] }) => {
      for (const id of i.InstanceIds) {
        const x = this.instances.get(id);
        if (x === undefined) throw awsErr('InvalidInstanceID.NotFound');
        x.State = { Name: 'shutting-down' };
      }
      return {};
    });
    on(ec2, 'EC2', StartInstancesCommand, 'StartInstances', (i: { InstanceIds: string[] }) => {
      for (const id of i.InstanceIds) this.instances.get(id)!.State = { Name: 'pending' };
      return {};
    });
    on(ec2, 'EC2', GetConsoleOutputCommand, 'GetConsoleOutput', () => ({
      Output: Buffer.from(this.consoleOutput).toString('base64'),
    }));

    on(
      elb,
      'ELB',
      CreateLoadBalancerCommand,
      'CreateLoadBalancer',
      (i: {
        LoadBalancerName: string;
        Listeners: { LoadBalancerPort: number }[];
        Subnets: string[];
        SecurityGroups: string[];
        Scheme?: string;
        Tags: Tag[];
      }) => {
        if (this.balancers.has(i.LoadBalancerName)) throw awsErr('DuplicateAccessPointNameException');
        this.balancers.set(i.LoadBalancerName, {
          d: {
            LoadBalancerName: i.LoadBalancerName,
            DNSName: `${i.LoadBalancerName}.elb.example`,
            Scheme: i.Scheme ?? 'internet-facing',
            ListenerDescriptions: i.Listeners.map((l) => ({
              Listener: { ...l, Protocol: 'TCP', InstancePort: l.LoadBalancerPort },
            })),
            Subnets: i.Subnets,
            SecurityGroups: i.SecurityGroups,
            Instances: [],
            HealthCheck: {
              Target: 'TCP:80',
              Interval: 30,
              Timeout: 5,
              HealthyThreshold: 10,
              UnhealthyThreshold: 2,
            },
          },
          tags: i.Tags,
        });
        return { DNSName: `${i.LoadBalancerName}.elb.example` };
      },
    );
    on(
      elb,
      'ELB',
      DescribeLoadBalancersCommand,
      'DescribeLoadBalancers',
      (i: { LoadBalancerNames?: string[] }) => {
        if (i.LoadBalancerNames === undefined)
          return { LoadBalancerDescriptions: [...this.balancers.values()].map((b) => structuredClone(b.d)) };
        return {
          LoadBalancerDescriptions: i.LoadBalancerNames.map((n) => {
            const b = this.balancers.get(n);
            if (b === undefined)
              throw awsErr(
                'AccessPointNotFoundException',
                400,
                `There is no ACTIVE Load Balancer named '${n}'`,
              );
            return structuredClone(b.d);
          }),
        };
      },
    );
    on(elb, 'ELB', DescribeTagsCommand, 'DescribeTags', (i: { LoadBalancerNames: string[] }) => ({
      TagDescriptions: i.LoadBalancerNames.map((n) => ({ LoadBalancerName: n, Tags: this.lb(n).tags })),
    }));
    on(
      elb,
      'ELB',
      ConfigureHealthCheckCommand,
      'ConfigureHealthCheck',
      (i: { LoadBalancerName: string; HealthCheck: { Target: string } }) => {
        this.lb(i.LoadBalancerName).d.HealthCheck = {
          ...this.lb(i.LoadBalancerName).d.HealthCheck,
          Target: i.HealthCheck.Target,
        } as never;
        return {};
      },
    );
    on(
      elb,
      'ELB',
      RegisterInstancesWithLoadBalancerCommand,
      'RegisterInstancesWithLoadBalancer',
      (i: { LoadBalancerName: string; Instances: { InstanceId: string }[] }) => {
        const d = this.lb(i.LoadBalancerName).d;
        d.Instances = [...(d.Instances ?? []), ...i.Instances];
        return {};
      },
    );
    on(
      elb,
      'ELB',
      DeregisterInstancesFromLoadBalancerCommand,
      'DeregisterInstancesFromLoadBalancer',
      (i: { LoadBalancerName: string; Instances: { InstanceId: string }[] }) => {
        const d = this.lb(i.LoadBalancerName).d;
        const gone = new Set(i.Instances.map((x) => x.InstanceId));
        d.Instances = (d.Instances ?? []).filter((x) => !gone.has(x.InstanceId!));
        return {};
      },
    );
    on(
      elb,
      'ELB',
      CreateLoadBalancerListenersCommand,
      'CreateLoadBalancerListeners',
      (i: { LoadBalancerName: string; Listeners: { LoadBalancerPort: number }[] }) => {
        const d = this.lb(i.LoadBalancerName).d;
        d.ListenerDescriptions = [
          ...(d.ListenerDescriptions ?? []),
          ...i.Listeners.map((l) => ({ Listener: l as never })),
        ];
        return {};
      },
    );
    on(
      elb,
      'ELB',
      DeleteLoadBalancerListenersCommand,
      'DeleteLoadBalancerListeners',
      (i: { LoadBalancerName: string; LoadBalancerPorts: number[] }) => {
        const d = this.lb(i.LoadBalancerName).d;
        d.ListenerDescriptions = (d.ListenerDescriptions ?? []).filter(
          (l) => !i.LoadBalancerPorts.includes(l.Listener!.LoadBalancerPort!),
        );
        return {};
      },
    );
    on(
      elb,
      'ELB',
      ApplySecurityGroupsToLoadBalancerCommand,
      'ApplySecurityGroupsToLoadBalancer',
      (i: { LoadBalancerName: string; SecurityGroups: string[] }) => {
        this.lb(i.LoadBalancerName).d.SecurityGroups = i.SecurityGroups;
        return { SecurityGroups: i.SecurityGroups };
      },
    );
    on(elb, 'ELB', DeleteLoadBalancerCommand, 'DeleteLoadBalancer', (i: { LoadBalancerName: string }) => {
      this.balancers.delete(i.LoadBalancerName);
      return {};
    });

    on(s3, 'S3', HeadBucketCommand, 'HeadBucket', (i: { Bucket: string }) => {
      if (!this.buckets.has(i.Bucket)) throw awsErr('NotFound', 404);
      return {};
    });
    on(s3, 'S3', CreateBucketCommand, 'CreateBucket', (i: { Bucket: string }) => {
      if (this.buckets.has(i.Bucket)) throw awsErr('BucketAlreadyOwnedByYou', 409);
      this.buckets.set(i.Bucket, { tags: [], keys: new Set() });
      return {};
    });
    on(
      s3,
      'S3',
      PutBucketTaggingCommand,
      'PutBucketTagging',
      (i: { Bucket: string; Tagging: { TagSet: Tag[] } }) => {
        this.bucket(i.Bucket).tags = i.Tagging.TagSet;
        return {};
      },
    );
    on(s3, 'S3', GetBucketTaggingCommand, 'GetBucketTagging', (i: { Bucket: string }) => {
      const b = this.bucket(i.Bucket);
      if (b.tags.length === 0) throw awsErr('NoSuchTagSet', 404);
      return { TagSet: b.tags };
    });
    on(s3, 'S3', ListBucketsCommand, 'ListBuckets', () => ({
      Buckets: [...this.buckets.keys()].map((Name) => ({ Name })),
    }));
    on(s3, 'S3', ListObjectsV2Command, 'ListObjectsV2', (i: { Bucket: string }) => ({
      Contents: [...this.bucket(i.Bucket).keys].map((Key) => ({ Key })),
      IsTruncated: false,
    }));
    on(
      s3,
      'S3',
      DeleteObjectsCommand,
      'DeleteObjects',
      (i: { Bucket: string; Delete: { Objects: { Key: string }[] } }) => {
        for (const o of i.Delete.Objects) this.bucket(i.Bucket).keys.delete(o.Key);
        return {};
      },
    );
    on(s3, 'S3', DeleteBucketCommand, 'DeleteBucket', (i: { Bucket: string }) => {
      if (this.bucket(i.Bucket).keys.size > 0) throw awsErr('BucketNotEmpty', 409);
      this.buckets.delete(i.Bucket);
      return {};
    });
  }

  /** The next `times` calls of `op` (`EC2 CreateSecurityGroup`) fail with `error`. */
  failNext(op: string, error: Error, times = 1): void {
    this.failures.set(op, [...(this.failures.get(op) ?? []), ...Array.from({ length: times }, () => error)]);
  }

  /** `op` succeeds `n` more times, then fails once with `error`. */
  failAfter(op: string, n: number, error: Error): void {
    this.passes.set(op, { left: n, error });
  }

  ops(): string[] {
    return this.calls.map((c) => c.op);
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  live(): Instance[] {
    return [...this.instances.values()].filter((i) => i.State?.Name !== 'terminated');
  }

  restore(): void {
    for (const m of this.mocks) m.restore();
  }

  private group(id: string): SecurityGroup {
    const g = this.groups.get(id);
    if (g === undefined) throw awsErr('InvalidGroup.NotFound');
    return g;
  }

  private lb(name: string): Lb {
    const b = this.balancers.get(name);
    if (b === undefined) throw awsErr('AccessPointNotFoundException');
    return b;
  }

  private bucket(name: string): { tags: Tag[]; keys: Set<string> } {
    const b = this.buckets.get(name);
    if (b === undefined) throw awsErr('NoSuchBucket', 404);
    return b;
  }
}

/** One permission per source, as EC2 stores them. */
function split(p: IpPermission): IpPermission[] {
  const base = { IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort };
  return [
    ...(p.UserIdGroupPairs ?? []).map((u) => ({ ...base, UserIdGroupPairs: [{ GroupId: u.GroupId }] })),
    ...(p.IpRanges ?? []).map((r) => ({ ...base, IpRanges: [{ CidrIp: r.CidrIp }] })),
  ];
}

/** EC2 filters: `tag:K`, `tag-key` and plain attributes. */
function matches(
  tags: Tag[] | undefined,
  filters: Filter[] | undefined,
  attrs: Record<string, string>,
): boolean {
  return (filters ?? []).every((f) => {
    const values = f.Values ?? [];
    if (f.Name?.startsWith('tag:') === true) {
      const v = tags?.find((t) => t.Key === f.Name!.slice(4))?.Value;
      return v !== undefined && values.includes(v);
    }
    if (f.Name === 'tag-key') return tags?.some((t) => values.includes(t.Key ?? '')) === true;
    const a = attrs[f.Name ?? ''];
    return a !== undefined && values.includes(a);
  });
}
