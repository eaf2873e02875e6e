// Observe + plan: one command per reachable host (all in parallel), then the pure planner.
import { secretReader, withSecretHashes } from '../apply/secrets.js';
import type { LiveState } from '../apply/schedule.js';
import { fetchUpdatedContents, observeCluster } from '../observe/cluster.js';
import type { Observation } from '../observe/observe.js';
import { buildPlan, summarize, withCloudChanges, withHostChanges } from '../plan/plan.js';
import type { ObservedHost } from '../plan/plan.js';
import { missingPrograms } from '../plan/software.js';
import { checkTargets, targetPlan } from '../plan/target.js';
import type { TargetScope } from '../plan/target.js';
import type { Plan } from '../plan/types.js';
import { supporting } from '../providers/registry.js';
import type { DesiredState } from '../render/types.js';
import { MesoError } from '../util/errors.js';
import { phaseDone } from '../util/timing.js';
import { addonLeader, leadingMaster } from '../verify/gates.js';
import { membershipOf } from './membership.js';
import { reachHosts } from './reach.js';
import { gateOptions, installedOn, templates } from './prepare.js';
import type { Say, Session } from './prepare.js';

export interface Observed {
  plan: Plan;
  live: LiveState;
  raw: Map<string, Observation>;
}

/**
 * What the hosts lack to run their services when meso installs nothing (install.method none) or
 * Docker for install.method docker: an error, or with install.missing warn only a warning.
 */
function checkPrograms(p: Session, desired: DesiredState, raw: Observed['raw'], say: Say): void {
  const facts = new Map([...raw].map(([h, o]) => [h, o.facts]));
  const missing = missingPrograms(p.spec.install.method, desired, facts);
  if (missing.length === 0) return;
  const lines = missing.map((m) => `${m.program} is not on ${m.hosts.join(', ')}`);
  if (p.spec.install.method === 'docker') {
    const hosts = [...new Set(missing.flatMap((m) => m.hosts))];
    throw new MesoError(
      'SoftwareMissing',
      `install.method docker needs the Docker engine, which is not on ${hosts.join(', ')}`,
      {
        hint: 'install Docker on these hosts (or choose another install.method)',
      },
    );
  }
  if (p.spec.install.missing === 'error') {
    throw new MesoError('SoftwareMissing', `install.method none, but ${lines.join('; ')}`, {
      hint: 'install them on the image, let meso install them (install.method apt, yum or archive), or set install.missing: warn',
    });
  }
  for (const l of lines)
    say('warning', `install.method none: ${l}; its unit is left to systemd (install.missing: warn)`);
}

export async function observeAndPlan(
  p: Session,
  opts: {
    secrets: boolean;
    say?: Say;
    strictHosts?: boolean;
    mustReach?: readonly string[];
    /** --target: the plan holds only these changes and what they need. */
    targets?: readonly string[];
  } = {
    secrets: true,
  },
): Promise<Observed> {
  const targets = opts.targets === undefined ? undefined : checkTargets(opts.targets, targetScope(p));
  // Against the hosts, a sensitive file is planned by its real hash (read now, never kept).
  if (opts.secrets) p.desired = await withSecretHashes(p.desired, secretReader());
  const existing = p.desired.hosts.filter((h) => p.reachable.includes(h.host.name));
  const skipped = await reachHosts(
    p,
    existing.map((h) => h.host.name),
    opts.strictHosts === true,
    opts.mustReach,
  );
  // An agent skipped as unreachable is neither observed nor planned: its state entry stays as it is.
  const gone = new Set(skipped.map((u) => u.host));
  const planned: DesiredState =
    gone.size === 0
      ? p.desired
      : { ...p.desired, hosts: p.desired.hosts.filter((h) => !gone.has(h.host.name)) };
  const observable: DesiredState = { ...p.desired, hosts: existing.filter((h) => !gone.has(h.host.name)) };
  const seen = await observeCluster({
    desired: observable,
    state: p.state,
    connection: p.pool.get,
    templates,
    zkPort: p.spec.zookeeper.clientPort,
    masterQuorum: p.topology.quorum,
    parallelism: 64,
  });
  if (p.pool.lastConnectedAt > 0) phaseDone('connect', p.pool.lastConnectedAt);
  phaseDone('observe');
  if (opts.say !== undefined) checkPrograms(p, planned, seen.raw, opts.say);
  const observed = new Map<string, ObservedHost>(seen.observed);
  let base = buildPlan(planned, observed, false);
  const contents = await fetchUpdatedContents(base, p.pool.get, templates);
  if (contents.size > 0) {
    for (const [host, c] of contents) observed.set(host, { ...observed.get(host)!, contents: c });
    base = buildPlan(planned, observed, false);
  }
  const membership = await membershipOf(p, seen.live, observed);
  const d = p.discovery;
  const withHosts = withHostChanges(base, d.hostCreates ? p.toCreate : [], p.toRemove);
  const withCloud = d.cloud === undefined ? withHosts : withCloudChanges(withHosts, [...d.cloud.changes]);
  const withMembership = membership === undefined ? withCloud : { ...withCloud, membership };
  const full = skipped.length === 0 ? withMembership : { ...withMembership, unreachable: skipped };
  const plan = targets === undefined ? full : targetPlan(full, p.desired, targets);
  const now: Observed = { plan, ...seen };
  // A rolling master restart goes to the leading master last: ask Mesos which one leads.
  const restartsMasters = plan.changes.some(
    (c) => c.kind === 'service' && c.service === 'mesos-master' && c.action === 'restart',
  );
  if (
    restartsMasters &&
    p.topology.masters.some((m) => installedOn(p, seen.raw, m.name, 'mesos-master', 'now'))
  ) {
    // Only the masters that run now are asked (new ones may not exist yet).
    const up = p.topology.masters
      .map((m) => m.name)
      .filter((m) => seen.live.running.get(m)?.has('mesos-master'));
    const leader = await leadingMaster(gateOptions(p), up);
    if (leader !== undefined) now.live = { ...seen.live, masterLeader: leader };
  }
  // A quorum add-on (etcd) restarts its leader last: ask each running member whether it leads.
  const leaders = new Map<string, string>();
  for (const phase of plan.phases) {
    const q = phase.addon?.quorum;
    const restarts = plan.changes.some(
      (c) => c.kind === 'service' && c.service === phase.service && c.action === 'restart',
    );
    if (q === undefined || !restarts) continue;
    const up = phase.hosts.filter((h) => seen.live.running.get(h)?.has(phase.service));
    const leader = await addonLeader(gateOptions(p), up, q.leader);
    if (leader !== undefined) leaders.set(phase.service, leader);
  }
  if (leaders.size > 0) now.live = { ...now.live, addonLeaders: leaders };
  phaseDone('plan');
  return now;
}

/** What a --target may name in this cluster: its hosts (also those being removed), its cloud. */
export function targetScope(p: Session): TargetScope {
  return {
    hosts: [...p.topology.hosts.map((h) => h.name), ...p.toRemove],
    ...(p.discovery.cloud === undefined ? {} : { cloudProvider: p.spec.provider }),
  };
}

/** --cloud-only: the cloud changes alone; no host is contacted. */
export function cloudOnlyPlan(p: Session, targets?: readonly string[]): Plan {
  const cloud = p.discovery.cloud;
  if (cloud === undefined) {
    throw new MesoError('UsageError', `--cloud-only is for provider ${supporting('cloudOnly').join(', ')}`, {
      hint: `this cluster's provider is ${p.spec.provider}; run the command without --cloud-only`,
    });
  }
  const base = buildPlan(p.desired, new Map(), false);
  const changes = [...cloud.changes];
  const plan = { ...base, changes, phases: [], systemd: [], summary: summarize(changes) };
  return targets === undefined ? plan : targetPlan(plan, p.desired, checkTargets(targets, targetScope(p)));
}
