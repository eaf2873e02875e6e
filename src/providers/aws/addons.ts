// The add-ons' part of the aws cloud: their `public: true` ports opened to the world on the security
// groups of the hosts they run on, and their `balancer: true` ports as listeners of the admin balancer.
// Pure, and free of the AWS SDK (rules.ts uses it at validation time).
import type { AddonPort, AddonSpec } from '../../addons/types.js';
import { addonHosts } from '../../addons/values.js';
import type { Topology, TopologyHost } from '../../model/topology.js';
import type { Spec } from '../../spec/types.js';

/** Where `public: true` ports are open from, as `aws.publicPorts` are. */
export const WORLD = '0.0.0.0/0';

/** The security group of a host's role: masters and dedicated ZooKeeper hosts share `master`. */
export type HostGroupRole = 'master' | 'agent' | 'public-agent';

export function hostGroupRole(spec: Spec, h: TopologyHost): HostGroupRole {
  if (h.roles.includes('master') || !h.roles.includes('agent')) return 'master';
  return spec.agents.some((g) => g.public && g.group === h.agentGroup) ? 'public-agent' : 'agent';
}

export interface PublicPort {
  protocol: AddonPort['protocol'];
  port: number;
}

/**
 * The add-ons' `public: true` ports by the security group they open on (the groups of the hosts the
 * add-on runs on; groups are per role, so the port opens on every host of that role), each port once,
 * sorted by port then protocol.
 */
export function publicAddonPorts(spec: Spec, topology: Topology): Map<HostGroupRole, PublicPort[]> {
  const out = new Map<HostGroupRole, PublicPort[]>();
  for (const a of spec.addons) {
    const roles = new Set(addonHosts(spec, topology, a.on).map((h) => hostGroupRole(spec, h)));
    for (const role of roles) {
      const list = out.get(role) ?? [];
      for (const p of a.ports)
        if (p.public && !list.some((q) => q.port === p.port && q.protocol === p.protocol))
          list.push({ protocol: p.protocol, port: p.port });
      out.set(role, list);
    }
  }
  for (const list of out.values())
    list.sort((x, y) => x.port - y.port || x.protocol.localeCompare(y.protocol));
  return out;
}

/**
 * The admin balancer's listeners for add-ons: TCP `balancer: true` ports of add-ons on the masters
 * (the instances behind it). rules.ts refuses the others, so nothing is silently dropped.
 */
export function balancerAddonPorts(spec: Spec, topology: Topology): number[] {
  const ports = new Set<number>();
  for (const a of spec.addons)
    for (const p of a.ports)
      if (p.balancer && balancerProblem(a, p, spec, topology) === undefined) ports.add(p.port);
  return [...ports].sort((x, y) => x - y);
}

/** Why a port cannot be an admin balancer listener; undefined when it can (or does not ask to). */
export function balancerProblem(
  a: AddonSpec,
  p: AddonPort,
  spec: Spec,
  topology: Topology,
): { message: string; fix: string } | undefined {
  if (!p.balancer) return undefined;
  if (!p.public)
    return {
      message: `port ${p.port}: balancer: true needs public: true`,
      fix: "add public: true (the port is then opened on its hosts' security group and listened on by the admin balancer)",
    };
  if (p.protocol !== 'tcp')
    return {
      message: `port ${p.port}/${p.protocol}: the admin balancer (a classic ELB) forwards TCP only`,
      fix: 'drop balancer: for this port; public: true alone opens it on the hosts',
    };
  const others = addonHosts(spec, topology, a.on).filter((h) => !h.roles.includes('master'));
  if (others.length > 0)
    return {
      message: `port ${p.port}: the admin balancer forwards to the masters only, and ${a.name} also runs on ${others
        .map((h) => h.name)
        .join(', ')}`,
      fix: "run the add-on on: masters, or drop balancer: (public: true alone opens the port on its hosts' security group)",
    };
  return undefined;
}
