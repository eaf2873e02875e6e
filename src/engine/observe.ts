// Observe + plan: one command per reachable host (all in parallel), then the pure planner.
import { secretReader, withSecretHashes } from '../apply/secrets.js';
import type { LiveState } from '../apply/schedule.js';
import { ensembleChange, zkServers } from '../plan/membership.js';
import type { EnsembleChange } from '../plan/membership.js';
import { MASTER_QUORUM_FILE, ZK_CONF } from '../render/paths.js';
import { fetchUpdatedContents, observeCluster } from '../observe/cluster.js';
import type { Observation } from '../observe/observe.js';
import { buildPlan, summarize, withCloudChanges, withHostChanges } from '../plan/plan.js';
import type { ObservedHost } from '../plan/plan.js';
import { missingPrograms } from '../plan/software.js';
import type { Plan } from '../plan/types.js';
import { supporting } from '../providers/registry.js';
import type { DesiredState } from '../render/types.js';
import { MesoError } from '../util/errors.js';
import { phaseDone } from '../util/timing.js';
import { leadingMaster } from '../verify/gates.js';
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
function checkPrograms(p: Session, raw: Observed['raw'], say: Say): void {
  const facts = new Map([...raw].map(([h, o]) => [h, o.facts]));
  const missing = missingPrograms(p.spec.install.method, p.desired, facts);
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
  opts: { secrets: boolean; say?: Say } = { secrets: true },
): Promise<Observed> {
  // Against the hosts, a sensitive file is planned by its real hash (read now, never kept).
  if (opts.secrets) p.desired = await withSecretHashes(p.desired, secretReader());
  const observable: DesiredState = {
    ...p.desired,
    hosts: p.desired.hosts.filter((h) => p.reachable.includes(h.host.name)),
  };
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
  if (opts.say !== undefined) checkPrograms(p, seen.raw, opts.say);
  const observed = new Map<string, ObservedHost>(seen.observed);
  let base = buildPlan(p.desired, observed, false);
  const contents = await fetchUpdatedContents(base, p.pool.get, templates);
  if (contents.size > 0) {
    for (const [host, c] of contents) observed.set(host, { ...observed.get(host)!, contents: c });
    base = buildPlan(p.desired, observed, false);
  }
  const zkChange = ensembleChangeOf(p, seen.live, observed);
  if (zkChange !== undefined) seen.live = { ...seen.live, zkChange };
  const quorumNow = runningMastersQuorum(p, seen.live, observed);
  if (quorumNow !== undefined && quorumNow !== p.topology.quorum)
    seen.live = { ...seen.live, masterQuorumChange: { from: quorumNow, to: p.topology.quorum } };
  const d = p.discovery;
  const withHosts = withHostChanges(base, d.hostCreates ? p.toCreate : [], p.toRemove);
  const plan = d.cloud === undefined ? withHosts : withCloudChanges(withHosts, [...d.cloud.changes]);
  const now: Observed = { plan, ...seen };
  // A rolling master restart goes to the leading master last: ask Mesos which one leads.
  const restartsMasters = plan.changes.some(
    (c) => c.kind === 'service' && c.service === 'mesos-master' && c.action === 'restart',
  );
  if (
    restartsMasters &&
    p.topology.masters.some((m) => installedOn(p, seen.raw, m.name, 'mesos-master', 'now'))
  ) {
    const leader = await leadingMaster(gateOptions(p));
    if (leader !== undefined) now.live = { ...seen.live, masterLeader: leader };
  }
  phaseDone('plan');
  return now;
}

/**
 * How the running ZooKeeper members' server lists differ from the one meso would write: from the
 * current zoo.cfg of every running member whose zoo.cfg the plan updates (its content was read for
 * the diff); a member whose zoo.cfg stays has the desired list already.
 */
function ensembleChangeOf(
  p: Session,
  live: LiveState,
  observed: ReadonlyMap<string, ObservedHost>,
): EnsembleChange | undefined {
  const member = p.desired.hosts.find((h) => h.host.roles.includes('zookeeper'));
  const cfg = member?.files.find((f) => f.path === ZK_CONF);
  if (cfg === undefined) return undefined;
  const desired = zkServers(cfg.content);
  const current = new Map<string, ReadonlyMap<number, string>>();
  for (const h of p.topology.ensemble) {
    if (live.running.get(h.name)?.has('zookeeper') !== true) continue;
    const now = observed.get(h.name)?.contents?.get(ZK_CONF);
    current.set(h.name, now === undefined ? desired : zkServers(now));
  }
  const names = new Map<string, string>();
  for (const h of p.topology.hosts) for (const a of [h.privateAddress, h.address]) names.set(a, h.name);
  for (const [n, h] of Object.entries(p.state.hosts))
    for (const a of [h.privateAddress, h.address]) if (!names.has(a)) names.set(a, n);
  return ensembleChange(desired, current, names);
}

/**
 * The --quorum the running masters have now, when the plan changes it: read from the quorum file
 * of a running master whose file the plan updates (its content was read for the diff).
 */
function runningMastersQuorum(
  p: Session,
  live: LiveState,
  observed: ReadonlyMap<string, ObservedHost>,
): number | undefined {
  for (const m of p.topology.masters) {
    if (live.running.get(m.name)?.has('mesos-master') !== true) continue;
    const now = observed.get(m.name)?.contents?.get(MASTER_QUORUM_FILE);
    if (now !== undefined && /^\s*\d+\s*$/.test(now)) return Number(now.trim());
  }
  return undefined;
}

/** --cloud-only: the cloud changes alone; no host is contacted. */
export function cloudOnlyPlan(p: Session): Plan {
  const cloud = p.discovery.cloud;
  if (cloud === undefined) {
    throw new MesoError('UsageError', `--cloud-only is for provider ${supporting('cloudOnly').join(', ')}`, {
      hint: `this cluster's provider is ${p.spec.provider}; run the command without --cloud-only`,
    });
  }
  const base = buildPlan(p.desired, new Map(), false);
  const changes = [...cloud.changes];
  return { ...base, changes, phases: [], systemd: [], summary: summarize(changes) };
}
