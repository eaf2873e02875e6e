// `meso apply`: plan, show, confirm, provision, apply in a quorum-safe order with its gates, retire
// removed hosts, verify; the state saved as it goes.
import { randomUUID } from 'node:crypto';
import { deriveTopology } from '../model/topology.js';
import { applyPlan, isHostStep } from '../apply/apply.js';
import type { ApplyEvent } from '../apply/apply.js';
import { schedule } from '../apply/schedule.js';
import type { Wave } from '../apply/schedule.js';
import { secretReader } from '../apply/secrets.js';
import type { Plan } from '../plan/types.js';
import type { Spec } from '../spec/types.js';
import { writerOf } from '../state/secrets.js';
import { MesoError } from '../util/errors.js';
import { phaseDone } from '../util/timing.js';
import { drainAgent } from '../verify/drain.js';
import { ensembleModes, makeGate, settleMesos, zkModes } from '../verify/gates.js';
import { ensembleVerdict } from '../verify/health.js';
import { askedByVerify, askedNone, askMasters, endpointsOf } from './endpoints.js';
import type { Endpoints } from './endpoints.js';
import { clearPending, markPending, recordApplied } from './ledger.js';
import { takeLock } from './lock.js';
import type { LockOptions } from './lock.js';
import { cloudOnlyPlan, observeAndPlan } from './observe.js';
import type { Observed } from './observe.js';
import { gateOptions, installedOn, prepare, templates } from './prepare.js';
import type { Say, Session } from './prepare.js';
import { retireHost } from './retire.js';
import { checkStillSame } from './saved-plan.js';
import type { SavedPlan } from './saved-plan.js';
import { stateBackend } from './session.js';

export interface ApplyOptions extends LockOptions {
  parallelism: number;
  purgeData: boolean;
  /** The cloud resources alone, no SSH (providers with a cloud). */
  cloudOnly: boolean;
  /** Applying a saved plan: it must still be the plan of the world now, and it is the approval. */
  expected?: SavedPlan;
  /** Going from one master to more resets the registry: only with --allow-registry-reset. */
  allowRegistryReset?: boolean;
  /** Stop at the first unreachable host instead of skipping agents within their maxUnreachable. */
  strictHosts?: boolean;
  /** --target: only these changes and what they need. */
  targets?: readonly string[];
}

/** How apply talks to whoever runs it. */
export interface ApplyHooks {
  say: Say;
  /** The plan, before the question. */
  showPlan(plan: Plan): void;
  /** The endpoints block, after the summary (not when cancelled or failed). */
  showEndpoints(e: Endpoints): void;
  confirm(question: string): Promise<boolean>;
  /** Progress of the host steps and service waves. */
  progress(
    hosts: string[],
    waves: Wave[],
  ): Promise<{ onEvent: (e: ApplyEvent) => void; finish: (e?: unknown) => Promise<void> }>;
  /** Aborted: finish the steps in flight, start no new ones. */
  signal: AbortSignal;
}

export type ApplyOutcome = 'no-changes' | 'applied' | 'unhealthy' | 'cancelled';

export async function applyCluster(
  spec: Spec,
  specFile: string,
  opts: ApplyOptions,
  hooks: ApplyHooks,
): Promise<ApplyOutcome> {
  const { say } = hooks;
  const backend = await stateBackend(spec, specFile);
  const lock = await takeLock(backend, opts, say, hooks.signal);
  phaseDone('lock');
  let p: Session | undefined;
  try {
    p = await prepare(spec, specFile, backend, say);
    if (opts.cloudOnly) return await applyCloudOnly(p, opts, hooks);
    const observeOpts = {
      secrets: true,
      say,
      strictHosts: opts.strictHosts === true,
      ...(opts.targets === undefined ? {} : { targets: opts.targets }),
    };
    const first = await observeAndPlan(p, observeOpts);
    if (opts.expected !== undefined) checkStillSame(opts.expected, first.plan, p.state, false);
    hooks.showPlan(first.plan);
    if (first.plan.changes.length === 0) {
      say('done', `no changes${skippedNote(first.plan)}`, skippedData(first.plan));
      phaseDone('summary');
      // No verify ran: one probe per master where Mesos is installed (the connections are open).
      const s = p;
      const without = s.topology.masters
        .filter((m) => !installedOn(s, first.raw, m.name, 'mesos-master', 'now'))
        .map((m) => [m.name, 'mesos-master is not installed'] as const);
      const asked = await askMasters(s, new Map(without));
      hooks.showEndpoints(endpointsOf(s, s.topology, asked, s.discovery.balancers));
      phaseDone('endpoints');
      return 'no-changes';
    }
    const scheduleOpts = { allowRegistryReset: opts.allowRegistryReset === true };
    schedule(first.plan, first.live, scheduleOpts);
    if (!(opts.expected !== undefined || (await hooks.confirm('Apply these changes?')))) {
      say('cancelled', 'apply cancelled');
      return 'cancelled';
    }
    let cur = first;
    // A targeted plan makes only the machines and cloud resources it holds.
    const machines = first.plan.changes.filter((c) => c.kind === 'cloud' || c.kind === 'host');
    const only = opts.targets === undefined ? undefined : new Set(machines.map((c) => c.address));
    const provisions =
      only === undefined
        ? p.toCreate.length > 0 || (p.discovery.cloud?.changes.length ?? 0) > 0
        : machines.some((c) => c.action !== 'delete' || c.kind === 'cloud');
    if (provisions) {
      await p.provider.provision(p.providerContext, p.discovery, {
        cloudOnly: false,
        runId: randomUUID(),
        ...(only === undefined ? {} : { only }),
      });
      await p.pool.closeAll();
      const created = p.toCreate.filter((h) => only === undefined || machines.some((c) => c.host === h));
      p = await prepare(spec, specFile, backend, say);
      cur = await observeAndPlan(p, { ...observeOpts, mustReach: created });
    }
    return await applyHosts(p, cur, opts, hooks, writerOf(lock.info));
  } finally {
    await p?.pool.closeAll();
    await lock.release();
  }
}

/** The host changes of the plan, the gates after every step, retiring, and the final verify. */
async function applyHosts(
  p: Session,
  cur: Observed,
  opts: ApplyOptions,
  hooks: ApplyHooks,
  writtenBy: string,
): Promise<ApplyOutcome> {
  const { say } = hooks;
  const hostsWithFiles = p.desired.hosts
    .map((h) => h.host.name)
    .filter((n) => cur.plan.changes.some((c) => c.host === n && isHostStep(c)));
  const allowRegistryReset = opts.allowRegistryReset === true;
  const progress = await hooks.progress(hostsWithFiles, schedule(cur.plan, cur.live, { allowRegistryReset }));
  const g = gateOptions(p);
  const result = await applyPlan(cur.plan, p.desired, cur.live, {
    connection: p.pool.get,
    templates,
    secrets: secretReader(),
    gate: gateFor(p, cur, say),
    drainAgent: (host, drain) => drainAgent(g, host, drain),
    zkLeader: async (hosts) => {
      const modes = await zkModes(g, hosts);
      return hosts.find((h) => modes.get(h) === 'leader');
    },
    allowRegistryReset,
    onHostApplied: async (a) => {
      recordApplied(p, a, writtenBy);
      markPending(p.state, cur.plan, a);
      await p.save();
    },
    onWaveDone: async (w) => {
      if (clearPending(p.state, w)) await p.save();
    },
    onEvent: progress.onEvent,
    signal: hooks.signal,
    parallelism: opts.parallelism,
  }).then(
    async (r) => {
      await progress.finish(r.interrupted ? new Error('interrupted') : undefined);
      return r;
    },
    async (e: unknown) => {
      await progress.finish(e);
      throw e;
    },
  );
  if (result.interrupted) {
    throw new MesoError(
      'ApplyInterrupted',
      `interrupted after ${result.wavesDone} of ${result.wavesTotal} service steps; the state is saved`,
      { hint: 'run meso apply again to finish' },
    );
  }
  // The plan's host removals (a targeted plan may leave some for later).
  for (const name of p.toRemove)
    if (cur.plan.changes.some((c) => c.kind === 'host' && c.action === 'delete' && c.host === name))
      await retireHost(p, name, opts.purgeData, say);
  // Verify: ZooKeeper has its leader and, where Mesos runs, a master is elected with its registry.
  const withMesos = p.topology.masters
    .filter((m) => installedOn(p, cur.raw, m.name, 'mesos-master'))
    .map((m) => m.name);
  // An agent skipped as unreachable is not waited for: it was not changed and cannot register now.
  const skipped = new Set((cur.plan.unreachable ?? []).map((u) => u.host));
  const agentsWithMesos = p.topology.agents
    .filter((a) => !skipped.has(a.name) && installedOn(p, cur.raw, a.name, 'mesos-agent'))
    .map((a) => a.name);
  // Agents re-register after a leader change: the cluster is settled once they are all back.
  const [v, masters] = await Promise.all([
    ensembleModes(g).then(ensembleVerdict),
    withMesos.length === 0 ? undefined : settleMesos(g, withMesos, agentsWithMesos),
  ]);
  say('verify', `ZooKeeper: ${v.summary}`);
  if (masters !== undefined) say('verify', `Mesos: ${masters.summary}`);
  await p.save();
  const s = cur.plan.summary;
  say(
    'done',
    `applied: ${s.create} created, ${s.update} updated, ${s.delete} deleted, ${s.restart} restarted${skippedNote(cur.plan)}${partialNote(cur.plan)}`,
    skippedData(cur.plan),
  );
  phaseDone('summary');
  // The endpoints from what verify saw: no probe of its own.
  const asked = askedByVerify(p, withMesos, masters?.last);
  hooks.showEndpoints(endpointsOf(p, p.topology, asked, p.discovery.balancers));
  phaseDone('endpoints');
  return v.ok && masters?.ok !== false ? 'applied' : 'unhealthy';
}

/** `; partial (--target a, b)` for the summary line of a targeted apply, or nothing. */
function partialNote(plan: Plan): string {
  return plan.targets === undefined ? '' : `; partial (--target ${plan.targets.join(', ')})`;
}

/** `; skipped (unreachable): a, b` for the summary line, or nothing. */
function skippedNote(plan: Plan): string {
  const u = plan.unreachable ?? [];
  return u.length === 0 ? '' : `; skipped (unreachable): ${u.map((x) => x.host).join(', ')}`;
}

function skippedData(plan: Plan): Record<string, unknown> | undefined {
  const u = plan.unreachable ?? [];
  return u.length === 0 ? undefined : { unreachable: u.map((x) => ({ host: x.host, reason: x.reason })) };
}

/** --cloud-only: create and reconcile the cloud resources; no SSH. */
async function applyCloudOnly(p: Session, opts: ApplyOptions, hooks: ApplyHooks): Promise<ApplyOutcome> {
  const { say } = hooks;
  const plan = cloudOnlyPlan(p, opts.targets);
  if (opts.expected !== undefined) checkStillSame(opts.expected, plan, p.state, true);
  hooks.showPlan(plan);
  const noSsh = askedNone(p.topology, 'not asked: --cloud-only uses no SSH');
  if (plan.changes.length === 0) {
    say('done', 'no changes');
    hooks.showEndpoints(endpointsOf(p, p.topology, noSsh, p.discovery.balancers));
    return 'no-changes';
  }
  if (!(opts.expected !== undefined || (await hooks.confirm('Apply these changes?')))) {
    say('cancelled', 'apply cancelled');
    return 'cancelled';
  }
  await p.provider.provision(p.providerContext, p.discovery, {
    cloudOnly: true,
    runId: randomUUID(),
    ...(opts.targets === undefined ? {} : { only: new Set(plan.changes.map((c) => c.address)) }),
  });
  const s = plan.summary;
  say(
    'done',
    `cloud applied: ${s.create} created, ${s.update} updated, ${s.replace ?? 0} replaced, ${s.delete} deleted; configure the hosts with \`meso apply FILE\``,
  );
  // The provider looks again for the addresses and balancers it has just made (no SSH). The cloud
  // is applied by now: a failure to look is a warning, not a failed apply.
  try {
    const d = await p.provider.discover(p.providerContext);
    hooks.showEndpoints(endpointsOf(p, deriveTopology(p.spec, d.addresses), noSsh, d.balancers));
  } catch (e) {
    say('warning', `endpoints: ${e instanceof Error ? e.message : String(e)}`);
  }
  return 'applied';
}

function gateFor(p: Session, cur: Observed, say: Say) {
  const gate = makeGate(gateOptions(p));
  return async (w: Parameters<ReturnType<typeof makeGate>>[0]): Promise<void> => {
    if (w.gate === 'zk-leader' || w.gate === 'zk-serving' || w.gate === 'none') return gate(w);
    if (p.spec.install.method === 'docker') return gate(w);
    // Mesos and Marathon are waited on where they are installed; elsewhere (install.method none on
    // an image without them, as in the lab) their units are left to systemd, and meso says so.
    const installed = w.hosts.filter((h) => installedOn(p, cur.raw, h, w.service));
    const missing = w.hosts.filter((h) => !installed.includes(h));
    if (missing.length > 0)
      say('gate', `not waiting for ${w.service} on ${missing.join(', ')}: it is not installed there`);
    if (installed.length > 0) await gate({ ...w, hosts: installed });
  };
}
