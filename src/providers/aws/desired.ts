import { createHash } from 'node:crypto';
import type { Topology, TopologyHost } from '../../model/topology.js';
import type { Spec } from '../../spec/types.js';
import { balancerAddonPorts, publicAddonPorts, WORLD } from './addons.js';
import type { HostGroupRole } from './addons.js';

/**
 * What `provider: aws` wants in the account: a pure function of the spec and topology, like the
 * rendered files. Resources are named by logical keys (`master`, `internal`, a host name); the
 * observed ids are matched to them by the `meso:*` tags.
 */
export type SgRole = 'lb' | 'master' | 'agent' | 'public-agent' | 'admin';
export const SG_ROLES: readonly SgRole[] = ['lb', 'master', 'agent', 'public-agent', 'admin'];

export const TAG_CLUSTER = 'meso:cluster';
export const TAG_ROLE = 'meso:role';
export const TAG_HOST = 'meso:host';
export const TAG_EXPIRES = 'meso:expires-at';
/** Set on buckets meso created, so destroy empties and deletes only those. */
export const TAG_CREATED = 'meso:created';

export type Tags = Readonly<Record<string, string>>;

/** Endpoint overrides per service, for AWS-compatible clouds and local emulators (`aws.endpoints`). */
export interface AwsEndpoints {
  ec2?: string | undefined;
  elb?: string | undefined;
  s3?: string | undefined;
}

export interface AwsSettings {
  region: string;
  vpcId: string | undefined;
  keyName: string;
  ami: string | Readonly<Record<string, string>>;
  instanceTypes: Readonly<Record<string, string>>;
  subnets: {
    masters: readonly string[];
    agents: readonly string[];
    publicAgents: readonly string[];
    zookeeper: readonly string[];
  };
  instanceProfile: string | undefined;
  rootVolumeSize: number | undefined;
  adminCidrs: readonly string[];
  publicPorts: readonly number[];
  tags: Tags;
  endpoints: AwsEndpoints;
  bucket: { create: boolean; name: string } | undefined;
  expiresAt: string | undefined;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** `aws:` of a validated spec, typed. */
export function awsSettings(spec: Spec): AwsSettings {
  const a = spec.aws as Record<string, unknown>;
  const subnets = (a['subnets'] ?? {}) as Record<string, unknown>;
  const bucket = a['bucket'] as { create?: boolean; name?: string } | undefined;
  const masters = strings(subnets['masters']);
  return {
    region: (a['region'] as string | undefined) ?? 'us-east-1',
    vpcId: a['vpcId'] as string | undefined,
    keyName: (a['keyName'] as string | undefined) ?? '',
    ami: (a['ami'] ?? '') as AwsSettings['ami'],
    instanceTypes: (a['instanceTypes'] ?? {}) as Record<string, string>,
    subnets: {
      masters,
      agents: strings(subnets['agents']),
      publicAgents: strings(subnets['publicAgents']),
      zookeeper: subnets['zookeeper'] === undefined ? masters : strings(subnets['zookeeper']),
    },
    instanceProfile: a['instanceProfile'] as string | undefined,
    rootVolumeSize: a['rootVolumeSize'] as number | undefined,
    adminCidrs: strings(a['adminCidrs']),
    publicPorts: ((a['publicPorts'] ?? []) as number[]).map(Number),
    tags: (a['tags'] ?? {}) as Record<string, string>,
    endpoints: a['endpoints'] ?? {},
    bucket:
      bucket === undefined
        ? undefined
        : { create: bucket.create ?? true, name: bucket.name ?? `meso-${spec.name}-files` },
    expiresAt: a['expiresAt'] as string | undefined,
  };
}

/** One ingress permission: a protocol and port range from a group of this cluster or a CIDR. */
export interface Permission {
  /** `-1` is every protocol, as EC2 writes it. */
  protocol: '-1' | 'tcp' | 'udp';
  fromPort: number;
  toPort: number;
  from: { group: SgRole } | { cidr: string };
}

export interface DesiredGroup {
  role: SgRole;
  name: string;
  description: string;
  ingress: Permission[];
  tags: Tags;
}

export type InstanceRole = 'master' | 'zookeeper' | 'agent';

export interface DesiredInstance {
  host: string;
  role: InstanceRole;
  agentGroup: string | undefined;
  public: boolean;
  ami: string;
  instanceType: string;
  subnet: string;
  keyName: string;
  instanceProfile: string | undefined;
  rootVolumeSize: number | undefined;
  groups: SgRole[];
  tags: Tags;
}

export type BalancerKey = 'internal' | 'admin';

export interface DesiredBalancer {
  key: BalancerKey;
  name: string;
  scheme: 'internal' | 'internet-facing';
  ports: number[];
  healthCheck: string;
  subnets: string[];
  groups: SgRole[];
  /** Host names registered behind it (the masters). */
  hosts: string[];
  tags: Tags;
}

export interface DesiredBucket {
  name: string;
  create: boolean;
  tags: Tags;
}

export interface DesiredCloud {
  cluster: string;
  region: string;
  vpcId: string | undefined;
  groups: DesiredGroup[];
  instances: DesiredInstance[];
  balancers: DesiredBalancer[];
  bucket: DesiredBucket | undefined;
}

const all = (group: SgRole): Permission => ({ protocol: '-1', fromPort: -1, toPort: -1, from: { group } });
const tcp = (port: number, from: Permission['from']): Permission => ({
  protocol: 'tcp',
  fromPort: port,
  toPort: port,
  from,
});

/** Classic ELB names: at most 32 letters, digits and hyphens; long cluster names get a hash. */
export function balancerName(cluster: string, suffix: string): string {
  const name = `${cluster}-${suffix}`;
  if (name.length <= 32) return name;
  const h = createHash('sha256').update(cluster).digest('hex').slice(0, 6);
  return `${cluster.slice(0, 32 - suffix.length - 8)}-${h}-${suffix}`;
}

/** The ports the internal balancer forwards to the masters (Exhibitor/ZooKeeper, Mesos, Marathon, HTTP(S)). */
export const INTERNAL_PORTS = [2181, 8181, 5050, 8080, 80, 443];
export const ADMIN_PORTS = [80, 443];
export const HEALTH_CHECK = 'HTTP:5050/health';

function pick(map: AwsSettings['ami'] | AwsSettings['instanceTypes'], keys: string[]): string {
  if (typeof map === 'string') return map;
  for (const k of keys) {
    const v = map[k];
    if (v !== undefined) return v;
  }
  return '';
}

export function desiredCloud(spec: Spec, topology: Topology): DesiredCloud {
  const s = awsSettings(spec);
  const base: Record<string, string> = { ...s.tags, [TAG_CLUSTER]: spec.name };
  if (s.expiresAt !== undefined) base[TAG_EXPIRES] = s.expiresAt;
  const tags = (role: string, name: string, extra: Record<string, string> = {}): Tags => ({
    ...base,
    [TAG_ROLE]: role,
    Name: name,
    ...extra,
  });
  // Add-ons' `public: true` ports, on the groups of the hosts they run on (unless already open).
  const opened = publicAddonPorts(spec, topology);
  const group = (role: SgRole, description: string, base: Permission[]): DesiredGroup => {
    const key = (p: Permission): string =>
      `${p.protocol} ${p.fromPort}-${p.toPort} ${'cidr' in p.from ? p.from.cidr : p.from.group}`;
    const have = new Set(base.map(key));
    const more = (opened.get(role as HostGroupRole) ?? [])
      .map((p): Permission => ({
        protocol: p.protocol,
        fromPort: p.port,
        toPort: p.port,
        from: { cidr: WORLD },
      }))
      .filter((p) => !have.has(key(p)));
    return {
      role,
      name: `${spec.name}-${role}`,
      description,
      ingress: [...base, ...more],
      tags: tags(role, `${spec.name}-${role}`),
    };
  };
  // The DC/OS-on-AWS layout. Public agents also reach the masters (they register with them).
  const groups: DesiredGroup[] = [
    group('lb', `meso ${spec.name}: load balancers`, []),
    group('master', `meso ${spec.name}: masters`, [
      ...[80, 8080, 5050, 2181, 8181].map((p) => tcp(p, { group: 'lb' })),
      all('master'),
      all('agent'),
      all('public-agent'),
    ]),
    group('agent', `meso ${spec.name}: private agents`, [all('master'), all('agent'), all('public-agent')]),
    group('public-agent', `meso ${spec.name}: public agents`, [
      all('master'),
      all('agent'),
      all('public-agent'),
      ...s.publicPorts.map((p) => tcp(p, { cidr: WORLD })),
    ]),
    group(
      'admin',
      `meso ${spec.name}: administration`,
      s.adminCidrs.map((cidr) => ({ protocol: '-1' as const, fromPort: -1, toPort: -1, from: { cidr } })),
    ),
  ];

  const counters = new Map<string, number>();
  const next = (subnets: readonly string[], key: string): string => {
    const i = counters.get(key) ?? 0;
    counters.set(key, i + 1);
    return subnets.length === 0 ? '' : subnets[i % subnets.length]!;
  };
  const publicGroups = new Set(spec.agents.filter((g) => g.public).map((g) => g.group));
  const instances = topology.hosts.map((h: TopologyHost): DesiredInstance => {
    const role: InstanceRole = h.roles.includes('master')
      ? 'master'
      : h.roles.includes('agent')
        ? 'agent'
        : 'zookeeper';
    const g = h.agentGroup;
    const isPublic = role === 'agent' && g !== undefined && publicGroups.has(g);
    const keys =
      role === 'master'
        ? ['masters', 'default']
        : role === 'zookeeper'
          ? ['zookeeper', 'default']
          : [g ?? '', 'agents', 'default'];
    const subnets =
      role === 'master'
        ? s.subnets.masters
        : role === 'zookeeper'
          ? s.subnets.zookeeper
          : isPublic
            ? s.subnets.publicAgents
            : s.subnets.agents;
    return {
      host: h.name,
      role,
      agentGroup: g,
      public: isPublic,
      ami: pick(s.ami, keys),
      instanceType: pick(s.instanceTypes, keys),
      subnet: next(subnets, role === 'agent' ? `agent:${g ?? ''}` : role),
      keyName: s.keyName,
      instanceProfile: s.instanceProfile,
      rootVolumeSize: s.rootVolumeSize,
      groups: [role === 'agent' ? (isPublic ? 'public-agent' : 'agent') : 'master', 'admin'],
      tags: tags(role, `${spec.name}-${h.name}`, {
        [TAG_HOST]: h.name,
        ...(g === undefined ? {} : { 'meso:group': g }),
      }),
    };
  });

  const masters = topology.masters.map((m) => m.name);
  const balancers: DesiredBalancer[] = [
    {
      key: 'internal',
      name: balancerName(spec.name, 'int'),
      scheme: 'internal',
      ports: INTERNAL_PORTS,
      healthCheck: HEALTH_CHECK,
      subnets: [...s.subnets.masters],
      groups: ['lb'],
      hosts: masters,
      tags: tags('internal', balancerName(spec.name, 'int')),
    },
    {
      key: 'admin',
      name: balancerName(spec.name, 'admin'),
      scheme: 'internet-facing',
      // Add-ons' `balancer: true` ports too (rules.ts allows them on the masters only, the instances behind it).
      ports: [...ADMIN_PORTS, ...balancerAddonPorts(spec, topology).filter((p) => !ADMIN_PORTS.includes(p))],
      healthCheck: HEALTH_CHECK,
      subnets: [...(s.subnets.publicAgents.length > 0 ? s.subnets.publicAgents : s.subnets.masters)],
      groups: ['lb', 'admin'],
      hosts: masters,
      tags: tags('admin', balancerName(spec.name, 'admin')),
    },
  ];
  return {
    cluster: spec.name,
    region: s.region,
    vpcId: s.vpcId,
    groups,
    instances,
    balancers,
    bucket:
      s.bucket === undefined
        ? undefined
        : {
            ...s.bucket,
            tags: tags('files', s.bucket.name, s.bucket.create ? { [TAG_CREATED]: 'true' } : {}),
          },
  };
}
