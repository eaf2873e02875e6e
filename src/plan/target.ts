// `--target ADDRESS`: a plan cut down to the changes an operator names and what they need, as
// Terraform's -target. Pure: a function of the full plan and the desired state.
import { servicesReading } from '../render/render.js';
import type { DesiredState, ServiceName } from '../render/types.js';
import { MesoError } from '../util/errors.js';
import { softwareKey, summarize } from './plan.js';
import type { Change, CloudResource, Plan } from './types.js';

const HOST_TARGET = /^host\/([^/\s]+)(?:\/(file:\/\S*|service:[a-z-]+|(?:package|archive|image):\S+))?$/;
const CLOUD_TARGET = /^([a-z0-9-]+)\/([a-z-]+)(?:\/(\S+))?$/;

/** What a cluster has that a target may name. */
export interface TargetScope {
  /** Hosts of the spec, and hosts in the state that are gone from it (their removal can be targeted). */
  hosts: readonly string[];
  /** The provider, when it has cloud resources (their addresses start `<provider>/`). */
  cloudProvider?: string;
}

const CLOUD_RESOURCES: readonly CloudResource[] = ['security-group', 'instance', 'load-balancer', 'bucket'];

/**
 * Check each --target against the cluster: a typo must not make an empty plan look like "nothing
 * to do". Every bad target is reported at once.
 */
export function checkTargets(targets: readonly string[], scope: TargetScope): string[] {
  const bad: string[] = [];
  for (const t of targets) {
    const host = HOST_TARGET.exec(t);
    if (host !== null) {
      if (!scope.hosts.includes(host[1]!)) bad.push(`${t}: the cluster has no host ${host[1]}`);
      continue;
    }
    const cloud = CLOUD_TARGET.exec(t);
    if (cloud !== null && scope.cloudProvider !== undefined && cloud[1] === scope.cloudProvider) {
      if (!(CLOUD_RESOURCES as readonly string[]).includes(cloud[2]!))
        bad.push(`${t}: ${cloud[1]} has no resource kind ${cloud[2]} (${CLOUD_RESOURCES.join(', ')})`);
      continue;
    }
    bad.push(
      `${t}: not an address meso plans; use host/<name>, host/<name>/file:<path>, host/<name>/service:<service>` +
        (scope.cloudProvider === undefined ? '' : ` or ${scope.cloudProvider}/<resource>/<name>`),
    );
  }
  if (bad.length > 0) {
    throw new MesoError('UsageError', `--target: ${bad.join('; ')}`, {
      hint: `the hosts are ${scope.hosts.join(', ')}; \`meso plan FILE\` shows every change's address`,
    });
  }
  return [...new Set(targets)];
}

/** A change is named by a target that is its address or a prefix of it at a `/` (a host, a directory). */
const named = (address: string, t: string): boolean =>
  address === t || address.startsWith(t.endsWith('/') ? t : `${t}/`);

/**
 * The plan with only the targeted changes and their dependencies:
 * - a file or software change brings the restart of the services it feeds on its host (the restart
 *   that follows a file); a unit file brings that host's daemon-reload;
 * - a service start or restart brings the files and software of its host that feed it;
 * - any change on a host that does not exist yet brings the host's creation (and on a cloud, its
 *   instance); an instance brings the security groups still to create;
 * - a new ZooKeeper ensemble starts together: one member's start brings every member's.
 * Dependencies are followed one step, not to a fixpoint: a restart does not pull in files that
 * feed other services. A membership change is cluster-wide and cannot be cut: it is refused.
 */
export function targetPlan(plan: Plan, desired: DesiredState, targets: readonly string[]): Plan {
  if (plan.membership !== undefined) {
    const what = plan.membership.zookeeper !== undefined ? "the ZooKeeper ensemble's" : "the masters'";
    throw new MesoError(
      'PlanUnsafe',
      `--target cannot cut this plan: ${what} membership changes, which is done for the whole cluster in one sequence`,
      { hint: 'apply the membership change without --target first (review it with `meso plan FILE`)' },
    );
  }
  const feedsOf = feedsIndex(desired);
  const selected = new Set(plan.changes.filter((c) => targets.some((t) => named(c.address, t))));
  const direct = [...selected];
  for (const c of direct) {
    if (c.kind === 'file' || c.kind === 'package') {
      const feeds = feedsOf(c);
      for (const s of plan.changes)
        if (s.kind === 'service' && s.host === c.host && s.action !== 'delete' && feeds.has(s.service))
          selected.add(s);
    }
    if (c.kind === 'service' && c.action !== 'delete') {
      for (const f of plan.changes)
        if ((f.kind === 'file' || f.kind === 'package') && f.host === c.host && feedsOf(f).has(c.service))
          selected.add(f);
    }
  }
  // A new ensemble (no member running) starts together, configured first.
  const zk = plan.changes.filter((c) => c.kind === 'service' && c.service === 'zookeeper');
  const freshEnsemble = zk.length > 0 && zk.every((c) => c.action === 'create');
  if (freshEnsemble && zk.some((c) => selected.has(c))) {
    for (const c of zk) selected.add(c);
    for (const f of plan.changes)
      if ((f.kind === 'file' || f.kind === 'package') && feedsOf(f).has('zookeeper')) selected.add(f);
  }
  // The machines the chosen changes run on, and what those machines need.
  const hosts = new Set([
    ...[...selected].map((c) => c.host).filter((h) => h !== ''),
    ...targets.flatMap((t) => HOST_TARGET.exec(t)?.[1] ?? []),
  ]);
  for (const c of plan.changes) {
    if (c.kind === 'host' && c.action === 'create' && hosts.has(c.host)) selected.add(c);
    if (c.kind === 'cloud' && c.resource === 'instance' && c.action !== 'delete' && hosts.has(c.host))
      selected.add(c);
  }
  if ([...selected].some((c) => c.kind === 'cloud' && c.resource === 'instance' && c.action !== 'delete')) {
    for (const c of plan.changes)
      if (c.kind === 'cloud' && c.resource === 'security-group' && c.action === 'create') selected.add(c);
  }
  const changes = plan.changes.filter((c) => selected.has(c));
  const reload = new Set(
    changes.flatMap((c) => (c.kind === 'file' && c.path.startsWith('/etc/systemd/system/') ? [c.host] : [])),
  );
  return {
    ...plan,
    changes,
    systemd: plan.systemd.filter((s) => reload.has(s.host)),
    summary: summarize(changes),
    targets: [...targets],
    // Only the skipped hosts a target named: the others were not asked for.
    ...(plan.unreachable === undefined
      ? {}
      : { unreachable: plan.unreachable.filter((u) => targets.some((t) => named(t, `host/${u.host}`))) }),
  };
}

/** The services a file or software change feeds on its host (a deleted file: who read it). */
function feedsIndex(desired: DesiredState): (c: Change) => Set<ServiceName> {
  const byHost = new Map(desired.hosts.map((h) => [h.host.name, h]));
  return (c) => {
    const h = byHost.get(c.host);
    if (h === undefined) return new Set();
    const runs = (s: ServiceName): boolean => h.services.some((x) => x.name === s);
    if (c.kind === 'file') {
      const f = h.files.find((x) => x.path === c.path);
      return new Set(f !== undefined ? f.feeds : servicesReading(c.path).filter(runs));
    }
    if (c.kind === 'package') {
      const s = h.software.find((x) => `host/${c.host}/${softwareKey(x)}` === c.address);
      return new Set(s === undefined || s.kind === 'image' ? [] : s.feeds);
    }
    return new Set();
  };
}
