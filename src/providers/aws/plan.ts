import type { CloudAttribute, CloudChange } from '../../plan/types.js';
import type { DesiredCloud, DesiredGroup, DesiredInstance, Permission, SgRole } from './desired.js';
import type { ObservedCloud, ObservedGroup, ObservedInstance, ObservedPermission } from './observe.js';

/**
 * The cloud part of a plan: a pure diff of what the spec wants against what the tags found, in the
 * order apply creates (groups, instances, balancers, bucket), then what is to be deleted.
 */

const set = (name: string, after: string): CloudAttribute => ({
  name,
  before: null,
  after,
  forcesReplacement: false,
});

export const permissionText = (
  p: { protocol: string; fromPort: number; toPort: number },
  from: string,
): string =>
  `${p.protocol === '-1' ? 'all' : `${p.protocol}/${p.fromPort === p.toPort ? p.fromPort : `${p.fromPort}-${p.toPort}`}`} from ${from}`;

const desiredFrom = (p: Permission): string => ('group' in p.from ? `sg:${p.from.group}` : p.from.cidr);

function observedFrom(p: ObservedPermission, roles: ReadonlyMap<string, SgRole>): string {
  if ('cidr' in p.from) return p.from.cidr;
  const role = roles.get(p.from.groupId);
  return role === undefined ? p.from.groupId : `sg:${role}`;
}

/** Ingress differences of one group: desired permissions to authorize, observed ones to revoke. */
export function ingressDiff(
  want: DesiredGroup,
  seen: ObservedGroup | undefined,
  roles: ReadonlyMap<string, SgRole>,
): { add: { text: string; perm: Permission }[]; remove: { text: string; perm: ObservedPermission }[] } {
  const have = new Map((seen?.ingress ?? []).map((p) => [permissionText(p, observedFrom(p, roles)), p]));
  const wanted = new Map(want.ingress.map((p) => [permissionText(p, desiredFrom(p)), p]));
  const byText = <T>(a: { text: string; perm: T }, b: { text: string; perm: T }): number =>
    a.text.localeCompare(b.text);
  return {
    add: [...wanted]
      .filter(([t]) => !have.has(t))
      .map(([text, perm]) => ({ text, perm }))
      .sort(byText),
    remove: [...have]
      .filter(([t]) => !wanted.has(t))
      .map(([text, perm]) => ({ text, perm }))
      .sort(byText),
  };
}

function groupChanges(d: DesiredCloud, o: ObservedCloud): CloudChange[] {
  const roles = new Map([...o.groups.values()].map((g) => [g.id, g.role]));
  const out: CloudChange[] = [];
  for (const g of d.groups) {
    const seen = o.groups.get(g.role);
    const { add, remove } = ingressDiff(g, seen, roles);
    const attrs = [
      ...add.map((x) => ({ name: 'ingress', before: null, after: x.text, forcesReplacement: false })),
      ...remove.map((x) => ({ name: 'ingress', before: x.text, after: null, forcesReplacement: false })),
    ];
    if (seen !== undefined && attrs.length === 0) continue;
    out.push({
      kind: 'cloud',
      address: `aws/security-group/${g.role}`,
      action: seen === undefined ? 'create' : 'update',
      host: '',
      reason:
        seen === undefined
          ? `security group ${g.name}`
          : `rules reconciled: ${add.length} to authorize, ${remove.length} to revoke`,
      resource: 'security-group',
      name: g.role,
      id: seen?.id ?? null,
      attributes: seen === undefined ? [set('name', g.name), ...attrs] : attrs,
    });
  }
  return out;
}

/** Attributes EC2 cannot change on a running instance without replacing it. */
function instanceAttributes(i: DesiredInstance): [string, string][] {
  return [
    ['ami', i.ami],
    ['instance_type', i.instanceType],
    ['subnet', i.subnet],
    ['key_name', i.keyName],
  ];
}

function seenValue(o: ObservedInstance, name: string): string {
  switch (name) {
    case 'ami':
      return o.ami;
    case 'instance_type':
      return o.instanceType;
    case 'subnet':
      return o.subnet;
    default:
      return o.keyName;
  }
}

function instanceChanges(d: DesiredCloud, o: ObservedCloud): CloudChange[] {
  const out: CloudChange[] = [];
  for (const i of d.instances) {
    const seen = o.instances.get(i.host);
    const base = {
      kind: 'cloud' as const,
      address: `aws/instance/${i.host}`,
      host: i.host,
      resource: 'instance' as const,
      name: i.host,
    };
    if (seen === undefined) {
      out.push({
        ...base,
        action: 'create',
        reason: `${i.role}${i.agentGroup === undefined ? '' : ` (${i.agentGroup})`} instance`,
        id: null,
        attributes: [
          ...instanceAttributes(i).map(([n, v]) => set(n, v)),
          set('security_groups', i.groups.join(',')),
          ...(i.rootVolumeSize === undefined ? [] : [set('root_volume_size', `${i.rootVolumeSize}`)]),
          ...(i.instanceProfile === undefined ? [] : [set('instance_profile', i.instanceProfile)]),
        ],
      });
      continue;
    }
    const forced = instanceAttributes(i)
      .filter(([n, v]) => v !== '' && seenValue(seen, n) !== v)
      .map(([n, v]) => ({ name: n, before: seenValue(seen, n), after: v, forcesReplacement: true }));
    if (forced.length > 0) {
      out.push({
        ...base,
        action: 'replace',
        reason: `${forced.map((a) => a.name).join(', ')} changed: a new instance replaces it (its host steps follow)`,
        id: seen.id,
        attributes: forced,
      });
    } else if (seen.state === 'stopped' || seen.state === 'stopping') {
      out.push({
        ...base,
        action: 'update',
        reason: 'the instance is stopped: start it',
        id: seen.id,
        attributes: [{ name: 'state', before: seen.state, after: 'running', forcesReplacement: false }],
      });
    }
  }
  for (const x of o.extraInstances) {
    out.push({
      kind: 'cloud',
      address: `aws/instance/${x.host === '' ? x.id : x.host}`,
      action: 'delete',
      host: x.host,
      reason:
        x.host !== '' && d.instances.some((i) => i.host === x.host)
          ? 'a second instance for this host (left by an interrupted run): terminate it'
          : 'gone from the spec: terminate it',
      resource: 'instance',
      name: x.host === '' ? x.id : x.host,
      id: x.id,
      attributes: [],
    });
  }
  return out;
}

function balancerChanges(d: DesiredCloud, o: ObservedCloud, replaced: ReadonlySet<string>): CloudChange[] {
  const out: CloudChange[] = [];
  const groupIds = new Map([...o.groups.values()].map((g) => [g.role, g.id]));
  for (const b of d.balancers) {
    const seen = o.balancers.get(b.key);
    const base = {
      kind: 'cloud' as const,
      address: `aws/load-balancer/${b.key}`,
      host: '',
      resource: 'load-balancer' as const,
      name: b.key,
    };
    const ports = b.ports.join(',');
    if (seen === undefined) {
      out.push({
        ...base,
        action: 'create',
        reason: `${b.scheme} load balancer ${b.name} over the masters`,
        id: null,
        attributes: [
          set('name', b.name),
          set('scheme', b.scheme),
          set('listeners', ports),
          set('health_check', b.healthCheck),
          set('subnets', b.subnets.join(',')),
          set('instances', b.hosts.join(',')),
        ],
      });
      continue;
    }
    const forced: CloudAttribute[] = [];
    if (seen.scheme !== b.scheme)
      forced.push({ name: 'scheme', before: seen.scheme, after: b.scheme, forcesReplacement: true });
    const wantSubnets = [...b.subnets].sort().join(',');
    if (seen.subnets.join(',') !== wantSubnets)
      forced.push({
        name: 'subnets',
        before: seen.subnets.join(','),
        after: wantSubnets,
        forcesReplacement: true,
      });
    if (forced.length > 0) {
      out.push({
        ...base,
        action: 'replace',
        reason: `${forced.map((a) => a.name).join(', ')} changed`,
        id: seen.name,
        attributes: forced,
      });
      continue;
    }
    const attrs: CloudAttribute[] = [];
    const seenPorts = [...seen.ports].sort((x, y) => x - y).join(',');
    const wantPorts = [...b.ports].sort((x, y) => x - y).join(',');
    if (seenPorts !== wantPorts)
      attrs.push({ name: 'listeners', before: seenPorts, after: wantPorts, forcesReplacement: false });
    if (seen.healthCheck !== b.healthCheck)
      attrs.push({
        name: 'health_check',
        before: seen.healthCheck,
        after: b.healthCheck,
        forcesReplacement: false,
      });
    const wantGroups = b.groups.map((r) => groupIds.get(r));
    if (
      wantGroups.every((g) => g !== undefined) &&
      seen.groupIds.join(',') !== [...wantGroups].sort().join(',')
    )
      attrs.push({
        name: 'security_groups',
        before: seen.groupIds.join(','),
        after: b.groups.join(','),
        forcesReplacement: false,
      });
    // Registered instances: by host, as ids of instances that stay (a replaced one gets a new id).
    const byId = new Map([...o.instances.values()].map((i) => [i.id, i.host]));
    const registered = seen.instanceIds.map((id) => byId.get(id) ?? id).sort();
    const wanted = b.hosts.filter((h) => o.instances.has(h) && !replaced.has(h)).sort();
    const missing = b.hosts.filter((h) => !o.instances.has(h) || replaced.has(h));
    if (registered.join(',') !== wanted.join(',') || missing.length > 0)
      attrs.push({
        name: 'instances',
        before: registered.join(','),
        after: [...b.hosts].sort().join(','),
        forcesReplacement: false,
      });
    if (attrs.length > 0)
      out.push({
        ...base,
        action: 'update',
        reason: attrs.map((a) => a.name).join(', '),
        id: seen.name,
        attributes: attrs,
      });
  }
  return out;
}

function bucketChanges(d: DesiredCloud, o: ObservedCloud): CloudChange[] {
  const b = d.bucket;
  if (b === undefined || !b.create || o.bucket?.exists === true) return [];
  return [
    {
      kind: 'cloud',
      address: `aws/bucket/${b.name}`,
      action: 'create',
      host: '',
      reason: 'bucket for cluster files (emptied and deleted by meso destroy)',
      resource: 'bucket',
      name: b.name,
      id: null,
      attributes: [set('name', b.name), set('region', d.region)],
    },
  ];
}

export function planCloud(d: DesiredCloud, o: ObservedCloud): CloudChange[] {
  const instances = instanceChanges(d, o);
  const replaced = new Set(instances.filter((c) => c.action === 'replace').map((c) => c.host));
  return [...groupChanges(d, o), ...instances, ...balancerChanges(d, o, replaced), ...bucketChanges(d, o)];
}
