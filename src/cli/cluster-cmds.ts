import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { applyPlan, isHostStep } from '../apply/apply.js';
import type { ApplyEvent, HostApplied } from '../apply/apply.js';
import { writeFilesCommand, writeFilesInput } from '../apply/files.js';
import { schedule } from '../apply/schedule.js';
import type { Wave } from '../apply/schedule.js';
import { secretReader, withSecretHashes } from '../apply/secrets.js';
import { readAssets } from '../engine/assets.js';
import { missingPrograms, PROGRAM_FACTS } from '../plan/software.js';
import {
  ConnectionPool,
  createMissingLocalHosts,
  destroyLocalHosts,
  knownAddresses,
  labRecord,
  readState,
  sshTarget,
  stateBackend,
} from '../engine/session.js';
import { deriveTopology } from '../model/topology.js';
import type { Topology } from '../model/topology.js';
import { fetchUpdatedContents, observeCluster } from '../observe/cluster.js';
import { planToJson } from '../plan/json.js';
import { buildPlan, sha256, summarize, withCloudChanges, withHostChanges } from '../plan/plan.js';
import type { ObservedHost } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { awsSettings } from '../providers/aws/desired.js';
import type * as AwsEntry from '../providers/aws/entry.js';
import type { AwsContext } from '../providers/aws/observe.js';
import type { CloudPlan } from '../providers/aws/session.js';
import { renderDesiredState } from '../render/render.js';
import type { DesiredState } from '../render/types.js';
import { SERVICE_ORDER } from '../render/types.js';
import type { ServiceName } from '../render/types.js';
import { planToText } from '../report/plan-text.js';
import { terminalProgress } from '../report/progress.js';
import type { Spec } from '../spec/types.js';
import type { ClusterState, StateBackend } from '../state/types.js';
import { loadTemplates } from '../templates.js';
import { MesoError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { shellQuoteArg } from '../util/shell.js';
import {
  makeGate,
  ensembleModes,
  leaderAgentsAny,
  leadingMaster,
  mastersHealth,
  mastersVerdict,
  notActive,
  probe,
  settleMesos,
} from '../verify/gates.js';
import type { GateOptions } from '../verify/gates.js';
import { drainAgent } from '../verify/drain.js';
import { ensembleVerdict } from '../verify/health.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';

export interface ClusterOptions {
  json?: boolean;
  autoApprove?: boolean;
  parallelism?: string;
  detailedExitcode?: boolean;
  purgeData?: boolean;
  /** provider aws: only the cloud resources, no SSH. */
  cloudOnly?: boolean;
  /** provider aws, destroy: sweep every balancer and bucket of the region by the cluster tag. */
  byTag?: boolean;
}

const templates = loadTemplates();

type Aws = typeof AwsEntry;
let awsModule: Promise<Aws> | undefined;
/** The aws provider, and with it the AWS SDK, loaded only for a spec that names it. */
const loadAws = (): Promise<Aws> => (awsModule ??= import('../providers/aws/entry.js'));

/** Plain, timestamped progress lines (or JSON lines with --json), one per event. */
function reporter(
  io: Io,
  json: boolean,
): (type: string, message: string, data?: Record<string, unknown>) => void {
  return (type, message, data = {}) => {
    const time = new Date().toISOString();
    if (json) io.out(`${JSON.stringify({ time, type, message, ...data })}\n`);
    else io.err(`[${time.slice(11, 19)}] ${message}\n`);
  };
}

interface Prepared {
  spec: Spec;
  backend: StateBackend;
  state: ClusterState;
  topology: Topology;
  desired: DesiredState;
  pool: ConnectionPool;
  /** Hosts that exist and can be observed. */
  reachable: string[];
  toCreate: string[];
  toRemove: string[];
  save: () => Promise<void>;
  /** provider aws: what the cloud has and the changes it needs, observed in prepare. */
  cloud?: CloudPlan;
  aws?: AwsContext;
}

async function prepare(
  spec: Spec,
  file: string,
  backend: StateBackend,
  create: boolean,
  say: ReturnType<typeof reporter>,
  /** destroy and status change no file: files the spec names may be gone. */
  lenient = false,
): Promise<Prepared> {
  const state = await readState(backend, spec);
  const names = deriveTopology(spec).hosts.map((h) => h.name);
  const known = knownAddresses(spec, state, names);
  const save = async (): Promise<void> => {
    state.serial++;
    state.updatedAt = new Date().toISOString();
    await backend.write(state);
  };
  let toCreate = spec.provider === 'local' ? names.filter((n) => labRecord(state, n) === undefined) : [];
  let cloud: CloudPlan | undefined;
  let aws: AwsContext | undefined;
  if (spec.provider === 'aws') {
    const a = await loadAws();
    aws = a.contextFor(spec, (m) => say('aws', m));
    cloud = await a.planAws(aws, spec, deriveTopology(spec));
    const running = a.runningHosts(cloud);
    toCreate = names.filter((n) => !running.has(n));
  }
  if (create && toCreate.length > 0) {
    say('hosts', `creating local hosts: ${toCreate.join(', ')}`);
    await createMissingLocalHosts(spec, state, known, names, save, (m) => say('lab', m));
    toCreate = [];
  }
  const addresses = knownAddresses(spec, state, names);
  if (cloud !== undefined) for (const [n, k] of (await loadAws()).cloudAddresses(cloud)) addresses.set(n, k);
  const topology = deriveTopology(spec, addresses);
  const desired = renderDesiredState(spec, topology, templates, await readAssets(spec, file, { lenient }));
  const pool = new ConnectionPool((name) => {
    const h = topology.hosts.find((x) => x.name === name);
    const address = h?.address ?? state.hosts[name]?.address ?? name;
    return sshTarget(spec, state, name, address, h?.sshPort ?? spec.ssh.port);
  });
  return {
    spec,
    backend,
    state,
    topology,
    desired,
    pool,
    reachable: names.filter((n) => !toCreate.includes(n)),
    toCreate,
    // aws: hosts gone from the spec are instances the cloud plan terminates, not hosts to clean over SSH.
    toRemove:
      spec.provider === 'aws'
        ? []
        : Object.keys(state.hosts)
            .filter((n) => !names.includes(n))
            .sort(),
    save,
    ...(cloud === undefined ? {} : { cloud }),
    ...(aws === undefined ? {} : { aws }),
  };
}

type Observed = { plan: Plan } & Awaited<ReturnType<typeof observeCluster>>;

/**
 * What the hosts lack to run their services when meso installs nothing (install.method none) or
 * Docker for install.method docker: an error, or with install.missing warn only a warning.
 */
function checkPrograms(p: Prepared, raw: Observed['raw'], say: ReturnType<typeof reporter>): void {
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

async function observeAndPlan(
  p: Prepared,
  opts: { secrets: boolean; say?: ReturnType<typeof reporter> } = { secrets: true },
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
    parallelism: 16,
  });
  if (opts.say !== undefined) checkPrograms(p, seen.raw, opts.say);
  const observed = new Map<string, ObservedHost>(seen.observed);
  let base = buildPlan(p.desired, observed, false);
  const contents = await fetchUpdatedContents(base, p.pool.get, templates);
  if (contents.size > 0) {
    for (const [host, c] of contents) observed.set(host, { ...observed.get(host)!, contents: c });
    base = buildPlan(p.desired, observed, false);
  }
  const plan =
    p.cloud === undefined
      ? withHostChanges(base, p.toCreate, p.toRemove)
      : withCloudChanges(withHostChanges(base, [], p.toRemove), p.cloud.changes);
  // A rolling master restart goes to the leading master last: ask Mesos which one leads.
  const restartsMasters = plan.changes.some(
    (c) => c.kind === 'service' && c.service === 'mesos-master' && c.action === 'restart',
  );
  const now: Observed = { plan, ...seen };
  if (restartsMasters && p.topology.masters.some((m) => installedOn(p, now, m.name, 'mesos-master', 'now'))) {
    const leader = await leadingMaster(gateOptions(p));
    if (leader !== undefined) return { ...now, live: { ...seen.live, masterLeader: leader } };
  }
  return now;
}

/** provider aws with --cloud-only: the cloud changes alone; no host is contacted. */
function cloudOnlyPlan(p: Prepared): Plan {
  if (p.cloud === undefined) {
    throw new MesoError('UsageError', '--cloud-only is for provider aws', {
      hint: `this cluster's provider is ${p.spec.provider}; run the command without --cloud-only`,
    });
  }
  const base = buildPlan(p.desired, new Map(), false);
  return { ...base, changes: p.cloud.changes, phases: [], systemd: [], summary: summarize(p.cloud.changes) };
}

function gateOptions(p: Prepared): GateOptions {
  return {
    topology: p.topology,
    connection: p.pool.get,
    templates,
    zkPort: p.spec.zookeeper.clientPort,
    masterPort: Number(p.spec.masters.flags['port'] ?? 5050),
    agentPorts: new Map(
      p.topology.agents.map((a) => [
        a.name,
        Number(p.spec.agents.find((g) => g.group === a.agentGroup)?.flags['port'] ?? 5051),
      ]),
    ),
    marathonPort: Number(p.spec.marathon.flags['http_port'] ?? 8080),
    timeoutMs: 120_000,
    intervalMs: 500,
  };
}

/** `meso plan FILE`: what would change on the hosts as they are now. */
export async function onlinePlanCommand(
  file: string,
  opts: ClusterOptions & { out?: string },
  io: Io,
): Promise<number> {
  const spec = await loadOrFail(file, io);
  const backend = await stateBackend(spec, file);
  const say = reporter(io, false);
  const p = await prepare(spec, file, backend, false, say);
  try {
    let plan: Plan;
    if (opts.cloudOnly === true) plan = cloudOnlyPlan(p);
    else {
      const seen = await observeAndPlan(p, { secrets: true, say });
      schedule(seen.plan, seen.live); // refuses an unsafe order now rather than at apply time
      plan = seen.plan;
    }
    const json = planToJson(plan);
    if (opts.out !== undefined) {
      const saved = {
        ...json,
        saved: {
          spec_file: resolve(file),
          spec_sha256: sha256(await readFile(file, 'utf8')),
          lineage: p.state.lineage,
          serial: p.state.serial,
          ...(opts.cloudOnly === true ? { cloud_only: true } : {}),
        },
      };
      await writeFileAtomic(opts.out, `${JSON.stringify(saved, null, 2)}\n`);
    }
    io.out(opts.json === true ? `${JSON.stringify(json, null, 2)}\n` : planToText(plan));
    if (opts.out !== undefined && opts.json !== true)
      io.out(`Saved the plan to ${opts.out}; apply it with \`meso apply ${opts.out}\`.\n`);
    return opts.detailedExitcode === true && plan.changes.length > 0 ? 2 : 0;
  } finally {
    await p.pool.closeAll();
  }
}

async function confirm(io: Io, question: string, autoApprove: boolean): Promise<boolean> {
  if (autoApprove) return true;
  if (!process.stdin.isTTY || !io.isTTY) {
    throw new MesoError(
      'UsageError',
      'refusing to change hosts without confirmation: no terminal to ask on',
      {
        hint: 'review the plan above and run again with --auto-approve',
      },
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question} Only 'yes' is accepted: `)).trim() === 'yes';
  } finally {
    rl.close();
  }
}

/**
 * Once a host's files are written and its software installed, the restarts they call for are
 * pending in the state until their step has passed its gate: an apply that stops in between leaves
 * the next plan restarting them.
 */
function markPending(state: ClusterState, plan: Plan, a: HostApplied): void {
  const h = state.hosts[a.host];
  if (h === undefined) return;
  const pending = new Map((h.pending ?? []).map((x) => [x.service, x]));
  for (const c of plan.changes) {
    if (c.kind !== 'service' || c.host !== a.host || c.action !== 'restart') continue;
    const reset = c.recovery !== undefined || pending.get(c.service)?.reset === true;
    pending.set(c.service, { service: c.service, ...(reset ? { reset: true } : {}) });
  }
  if (pending.size > 0) h.pending = [...pending.values()].sort((x, y) => x.service.localeCompare(y.service));
}

function clearPending(state: ClusterState, w: Wave): boolean {
  let changed = false;
  for (const host of w.hosts) {
    const h = state.hosts[host];
    if (h?.pending === undefined) continue;
    const left = h.pending.filter((x) => x.service !== w.service);
    if (left.length === h.pending.length) continue;
    changed = true;
    if (left.length === 0) delete h.pending;
    else h.pending = left;
  }
  return changed;
}

function recordApplied(state: ClusterState, p: Prepared, a: HostApplied): void {
  const t = p.topology.hosts.find((h) => h.name === a.host)!;
  const h = (state.hosts[a.host] ??= {
    address: t.address,
    privateAddress: t.privateAddress,
    files: {},
    directories: [],
    services: [],
  });
  for (const [path, fp] of a.written) h.files[path] = fp;
  for (const path of a.deleted) delete h.files[path];
  const d = p.desired.hosts.find((x) => x.host.name === a.host)!;
  h.directories = d.directories.map((x) => ({ path: x.path, data: x.data }));
  if (a.enabled.length > 0) h.services = a.enabled;
}

/** Stop and disable meso's services on a host and remove the files meso wrote there. */
async function retireHost(
  p: Prepared,
  name: string,
  purgeData: boolean,
  say: ReturnType<typeof reporter>,
): Promise<void> {
  const h = p.state.hosts[name];
  if (h === undefined) return;
  if (p.spec.provider === 'local' && labRecord(p.state, name) !== undefined) {
    say('host', `${name}: destroying the local host`);
    await destroyLocalHosts(p.spec, [name], (m) => say('lab', m));
    delete p.state.hosts[name];
    await p.save();
    return;
  }
  const conn = await p.pool.get(name);
  const units = SERVICE_ORDER.map((s) => `${s}.service`);
  say('host', `${name}: stopping and disabling ${units.join(', ')}`);
  await conn.exec(`systemctl disable --now -- ${units.join(' ')} 2>/dev/null; systemctl daemon-reload; true`);
  const ops = Object.keys(h.files)
    .sort()
    .map((path) => ({ op: 'delete' as const, path }));
  if (ops.length > 0) {
    say('host', `${name}: removing ${ops.length} files meso wrote`);
    const r = await conn.exec(writeFilesCommand(templates['write-files.sh'] ?? ''), {
      stdin: writeFilesInput(ops),
    });
    if (r.code !== 0)
      throw new MesoError('ApplyFailed', `removing files on ${name} failed`, {
        hint: r.stdout.trim().split('\n').pop() ?? '',
      });
  }
  if (purgeData) {
    for (const d of h.directories.filter((x) => x.data)) say('host', `${name}: keeping no data: ${d.path}`);
    const dirs = h.directories.filter((x) => x.data).map((x) => shellQuoteArg(x.path));
    if (dirs.length > 0) await conn.exec(`rm -rf -- ${dirs.join(' ')}`);
  }
  delete p.state.hosts[name];
  await p.save();
}

/** `meso apply FILE`: plan, show, confirm, apply, verify; state saved as it goes; Ctrl-C stops cleanly. */
interface SavedPlan {
  format_version: string;
  changes: Record<string, unknown>[];
  saved?: { spec_file: string; spec_sha256: string; lineage: string; serial: number; cloud_only?: boolean };
}

/** What makes two plans the same plan: every change's address, action and fingerprints, in order. */
const identity = (changes: readonly Record<string, unknown>[]): string =>
  JSON.stringify(
    changes.map((c) => [
      c['address'],
      c['action'],
      c['before_sha256'] ?? c['before_version'] ?? null,
      c['sha256'] ?? c['version'] ?? null,
    ]),
  );

async function readSavedPlan(path: string): Promise<SavedPlan & { saved: NonNullable<SavedPlan['saved']> }> {
  let plan: SavedPlan;
  try {
    plan = JSON.parse(await readFile(path, 'utf8')) as SavedPlan;
  } catch (e) {
    throw new MesoError('PlanInvalid', `cannot read the saved plan ${path}: ${(e as Error).message}`);
  }
  if (plan.format_version !== '1' || plan.saved === undefined || !Array.isArray(plan.changes)) {
    throw new MesoError('PlanInvalid', `${path} is not a plan saved by \`meso plan FILE --out\``, {
      hint: 'an offline plan (--offline) cannot be applied; save one with `meso plan FILE --out plan.json`',
    });
  }
  return plan as SavedPlan & { saved: NonNullable<SavedPlan['saved']> };
}

/** State records of hosts gone from the spec, once their instances are terminated. */
function forgetRemovedHosts(p: Prepared): void {
  const names = new Set(p.topology.hosts.map((h) => h.name));
  for (const n of Object.keys(p.state.hosts)) if (!names.has(n)) delete p.state.hosts[n];
}

/** `meso apply FILE --cloud-only` (provider aws): create and reconcile the cloud resources; no SSH. */
async function applyCloudOnly(
  p: Prepared,
  io: Io,
  opts: ClusterOptions,
  expected: SavedPlan | undefined,
  say: ReturnType<typeof reporter>,
): Promise<number> {
  const plan = cloudOnlyPlan(p);
  if (expected !== undefined) {
    const now = planToJson(plan)['changes'] as Record<string, unknown>[];
    if (identity(now) !== identity(expected.changes) || p.state.lineage !== expected.saved?.lineage) {
      throw new MesoError(
        'PlanStale',
        'Saved plan is stale: the cloud resources or the state changed since it was made',
        {
          hint: 'make a new plan with `meso plan FILE --cloud-only --out plan.json`, review it, and apply that',
        },
      );
    }
  }
  if (opts.json !== true) io.out(planToText(plan));
  if (plan.changes.length === 0) {
    say('done', 'no changes');
    return 0;
  }
  if (!(await confirm(io, 'Apply these changes?', opts.autoApprove === true || expected !== undefined))) {
    say('cancelled', 'apply cancelled');
    return 1;
  }
  await (
    await loadAws()
  ).applyAws(p.aws!, p.cloud!, { state: p.state, save: p.save }, { runId: randomUUID(), cloudOnly: true });
  forgetRemovedHosts(p);
  await p.save();
  const s = plan.summary;
  say(
    'done',
    `cloud applied: ${s.create} created, ${s.update} updated, ${s.replace ?? 0} replaced, ${s.delete} deleted; configure the hosts with \`meso apply FILE\``,
  );
  return 0;
}

export async function applyCommand(file: string, opts: ClusterOptions, io: Io): Promise<number> {
  let expected: SavedPlan | undefined;
  if (file.endsWith('.json')) {
    const saved = await readSavedPlan(file);
    const text = await readFile(saved.saved.spec_file, 'utf8').catch(() => undefined);
    if (text === undefined || sha256(text) !== saved.saved.spec_sha256) {
      throw new MesoError(
        'PlanStale',
        `Saved plan is stale: ${saved.saved.spec_file} changed (or is gone) since the plan was made`,
        {
          hint: 'make a new plan with `meso plan FILE --out plan.json`',
        },
      );
    }
    expected = saved;
    file = saved.saved.spec_file;
    if (saved.saved.cloud_only === true) opts = { ...opts, cloudOnly: true };
  }
  const spec = await loadOrFail(file, io);
  const backend = await stateBackend(spec, file);
  const say = reporter(io, opts.json === true);
  const lock = await backend.lock(`meso apply ${file}`);
  const abort = new AbortController();
  const onSigint = (): void => {
    say('interrupt', 'interrupted: finishing the steps in flight, starting no new ones');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  let p: Prepared | undefined;
  try {
    p = await prepare(spec, file, backend, false, say);
    if (opts.cloudOnly === true) return await applyCloudOnly(p, io, opts, expected, say);
    const first = await observeAndPlan(p, { secrets: true, say });
    if (expected !== undefined) {
      const now = planToJson(first.plan)['changes'] as Record<string, unknown>[];
      if (identity(now) !== identity(expected.changes) || p.state.lineage !== expected.saved?.lineage) {
        throw new MesoError(
          'PlanStale',
          'Saved plan is stale: the hosts or the state changed since it was made',
          {
            hint: 'make a new plan with `meso plan FILE --out plan.json`, review it, and apply that',
          },
        );
      }
    }
    if (opts.json !== true) io.out(planToText(first.plan));
    if (first.plan.changes.length === 0) {
      say('done', 'no changes');
      return 0;
    }
    schedule(first.plan, first.live);
    // Applying a saved plan is the approval, as with terraform apply PLANFILE.
    if (!(await confirm(io, 'Apply these changes?', opts.autoApprove === true || expected !== undefined))) {
      say('cancelled', 'apply cancelled');
      return 1;
    }
    const prepared = p;
    if (p.cloud !== undefined && p.aws !== undefined) {
      const created = p.cloud.changes.filter((c) => c.resource === 'instance' && c.action !== 'delete');
      const { applyAws, waitForSsh, realSleep } = await loadAws();
      await applyAws(
        p.aws,
        p.cloud,
        { state: p.state, save: p.save },
        { runId: randomUUID(), cloudOnly: false },
      );
      forgetRemovedHosts(p);
      await p.save();
      const wait = created.flatMap((c) => {
        const h = p!.state.hosts[c.host];
        const t = p!.topology.hosts.find((x) => x.name === c.host);
        return h === undefined
          ? []
          : [{ name: c.host, address: h.address, port: t?.sshPort ?? spec.ssh.port }];
      });
      if (wait.length > 0) {
        say('ssh', `waiting for SSH on ${wait.map((w) => w.name).join(', ')}`);
        await waitForSsh(wait, 600_000, realSleep);
      }
      await p.pool.closeAll();
      p = await prepare(spec, file, backend, false, say);
    } else if (p.toCreate.length > 0) {
      await p.pool.closeAll();
      p = await prepare(spec, file, backend, true, say);
    }
    const cur = p === prepared ? first : await observeAndPlan(p, { secrets: true, say });
    const state = p.state;
    const ready = p;
    // On a terminal, listr2 shows phases and per-host tasks; otherwise plain lines or JSON events.
    const hostsWithFiles = p.desired.hosts
      .map((h) => h.host.name)
      .filter((n) => cur.plan.changes.some((c) => c.host === n && isHostStep(c)));
    const progress =
      io.isTTY && opts.json !== true
        ? terminalProgress(hostsWithFiles, schedule(cur.plan, cur.live), process.stderr)
        : undefined;
    const onEvent = (e: ApplyEvent): void => (progress === undefined ? report(e, say) : progress.onEvent(e));
    const result = await applyPlan(cur.plan, p.desired, cur.live, {
      connection: p.pool.get,
      templates,
      secrets: secretReader(),
      gate: gateFor(ready, cur, say),
      drainAgent: (host, drain) => drainAgent(gateOptions(ready), host, drain),
      onHostApplied: async (a) => {
        recordApplied(state, ready, a);
        markPending(state, cur.plan, a);
        await ready.save();
      },
      onWaveDone: async (w) => {
        if (clearPending(state, w)) await ready.save();
      },
      onEvent,
      signal: abort.signal,
      parallelism: Number(opts.parallelism ?? 16),
    }).then(
      async (r) => {
        await progress?.finish(r.interrupted ? new Error('interrupted') : undefined);
        return r;
      },
      async (e: unknown) => {
        await progress?.finish(e);
        throw e;
      },
    );
    if (result.interrupted) {
      throw new MesoError(
        'ApplyInterrupted',
        `interrupted after ${result.wavesDone} of ${result.wavesTotal} service steps; the state is saved`,
        {
          hint: 'run meso apply again to finish',
        },
      );
    }
    for (const name of p.toRemove) await retireHost(p, name, opts.purgeData === true, say);
    // Verify: ZooKeeper has its leader and, where Mesos runs, a master is elected with its registry.
    const withMesos = ready.topology.masters
      .filter((m) => installedOn(ready, cur, m.name, 'mesos-master'))
      .map((m) => m.name);
    const agentsWithMesos = ready.topology.agents
      .filter((a) => installedOn(ready, cur, a.name, 'mesos-agent'))
      .map((a) => a.name);
    // Agents re-register after a leader change: the cluster is settled once they are all back.
    const [v, masters] = await Promise.all([
      ensembleModes(gateOptions(ready)).then(ensembleVerdict),
      withMesos.length === 0 ? undefined : settleMesos(gateOptions(ready), withMesos, agentsWithMesos),
    ]);
    say('verify', `ZooKeeper: ${v.summary}`);
    if (masters !== undefined) say('verify', `Mesos: ${masters.summary}`);
    await p.save();
    say(
      'done',
      `applied: ${cur.plan.summary.create} created, ${cur.plan.summary.update} updated, ${cur.plan.summary.delete} deleted, ${cur.plan.summary.restart} restarted`,
    );
    return v.ok && masters?.ok !== false ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    await p?.pool.closeAll();
    await lock.release();
  }
}

/**
 * Whether a service's program is on a host once apply has run: docker images carry it, a package
 * or archive meso installs provides it; otherwise the observation must have found it.
 */
function installedOn(
  p: Prepared,
  cur: Observed,
  host: string,
  service: ServiceName,
  when: 'now' | 'after-apply' = 'after-apply',
): boolean {
  if (p.spec.install.method === 'docker') return true;
  const software = when === 'now' ? [] : (p.desired.hosts.find((h) => h.host.name === host)?.software ?? []);
  const provided = software.some(
    (s) =>
      s.feeds.includes(service) &&
      (s.kind === 'archive' || (s.kind === 'package' && s.component !== 'extra')),
  );
  const facts = cur.raw.get(host)?.facts;
  return provided || PROGRAM_FACTS[service].every((anyOf) => anyOf.some((f) => facts?.has(f) === true));
}

function gateFor(p: Prepared, cur: Observed, say: ReturnType<typeof reporter>) {
  const gate = makeGate(gateOptions(p));
  return async (w: Parameters<ReturnType<typeof makeGate>>[0]): Promise<void> => {
    if (w.gate === 'zk-leader' || p.spec.install.method === 'docker') return gate(w);
    // Mesos and Marathon are waited on where they are installed; elsewhere (install.method none on
    // an image without them, as in the lab) their units are left to systemd, and meso says so.
    const installed = w.hosts.filter((h) => installedOn(p, cur, h, w.service));
    const missing = w.hosts.filter((h) => !installed.includes(h));
    if (missing.length > 0)
      say('gate', `not waiting for ${w.service} on ${missing.join(', ')}: it is not installed there`);
    if (installed.length > 0) await gate({ ...w, hosts: installed });
  };
}

function report(e: ApplyEvent, say: ReturnType<typeof reporter>): void {
  switch (e.type) {
    case 'files':
      say(e.type, `${e.host}: writing ${e.writes} files, deleting ${e.deletes}`, { host: e.host });
      break;
    case 'files-done':
      say(e.type, `${e.host}: files done`, { host: e.host });
      break;
    case 'units':
      say(e.type, `${e.host}: systemctl daemon-reload; enable ${e.enabled.join(' ')}`, { host: e.host });
      break;
    case 'wave':
      say(
        e.type,
        `step ${e.index + 1}/${e.total}: ${e.wave.action} ${e.wave.service} on ${e.wave.hosts.join(', ')} (${e.wave.why})`,
      );
      break;
    case 'gate':
      say(e.type, `waiting for ${e.wave.gate} on ${e.wave.hosts.join(', ')}`);
      break;
    case 'interrupted':
      say(e.type, `stopped before ${e.remainingWaves} remaining steps`);
      break;
    case 'packages':
      say(e.type, `${e.host}: installing ${e.packages.join(', ')}`, { host: e.host });
      break;
    case 'archive':
      say(e.type, `${e.host}: uploading the archive (${e.bytes} bytes) to unpack under ${e.prefix}`, {
        host: e.host,
      });
      break;
    case 'image':
      say(e.type, `${e.host}: docker pull ${e.image}`, { host: e.host });
      break;
    case 'warning':
      say(e.type, `${e.host}: ${e.message}`, { host: e.host });
      break;
    case 'drain':
      say(e.type, `${e.host}: ${e.message}`, { host: e.host });
      break;
    case 'agent-reset':
      say(
        e.type,
        `${e.host}: the agent's resources or attributes changed: stop, remove ${e.workDir}/meta/slaves/latest, start`,
        { host: e.host },
      );
      break;
  }
}

/** `meso status FILE`: the same checks as apply's verify, on demand, from the hosts themselves. */
export async function statusCommand(file: string, opts: ClusterOptions, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  const backend = await stateBackend(spec, file);
  const p = await prepare(spec, file, backend, false, reporter(io, false), true);
  try {
    if (p.toCreate.length > 0) {
      throw new MesoError('UsageError', `hosts not created yet: ${p.toCreate.join(', ')}`, {
        hint: 'run meso apply first',
      });
    }
    const seen = await observeAndPlan(p, { secrets: false });
    const g = gateOptions(p);
    const modes = await ensembleModes(g);
    const zk = ensembleVerdict(modes);
    // status looks at what is there now, not at what an apply would install.
    const has = (host: string, service: ServiceName): boolean => installedOn(p, seen, host, service, 'now');

    const masters = p.topology.masters.filter((m) => has(m.name, 'mesos-master'));
    const health = await mastersHealth(
      g,
      masters.map((m) => m.name),
    );
    const leaders = [...health].filter(([, h]) => h.elected).map(([n]) => n);
    const verdict = mastersVerdict(health);
    // Which agents are registered, by name: the leader's /master/slaves (a standby redirects to it).
    const asked = masters.length === 0 ? undefined : await leaderAgentsAny(g);
    const inactive = new Set(
      notActive(
        g,
        asked,
        p.topology.agents.map((a) => a.name),
      ),
    );
    const agentsRegistered = Object.fromEntries(
      p.topology.agents.map((a) => [a.name, asked === undefined ? null : !inactive.has(a.name)]),
    );
    const registered =
      asked === undefined
        ? verdict.ok
          ? verdict.agentsActive
          : 0
        : Object.values(agentsRegistered).filter((x) => x === true).length;
    const mesosOk =
      masters.length === 0 || (leaders.length === 1 && verdict.ok && registered >= p.topology.agents.length);

    const marathonHosts = spec.marathon.enabled
      ? p.topology.masters.filter((m) => has(m.name, 'marathon'))
      : [];
    const pings = new Map<string, boolean>();
    for (const m of marathonHosts) {
      const a = await probe(g, m.name, {
        zk: false,
        http: [{ name: 'ping', address: m.privateAddress, port: g.marathonPort, path: '/ping' }],
      });
      pings.set(m.name, a.http.get('ping')?.status === 200);
    }
    const marathonOk = [...pings.values()].every(Boolean);

    const units = Object.fromEntries(
      p.desired.hosts.map((h) => [
        h.host.name,
        Object.fromEntries(
          h.services.map((s) => [s.unit, seen.raw.get(h.host.name)?.units.get(s.unit)?.active ?? 'unknown']),
        ),
      ]),
    );
    const healthy = zk.ok && mesosOk && marathonOk;
    if (opts.json === true) {
      io.out(
        `${JSON.stringify(
          {
            healthy,
            zookeeper: { ok: zk.ok, members: Object.fromEntries(modes), summary: zk.summary },
            masters: {
              ok: mesosOk,
              installed: masters.map((m) => m.name),
              leader: leaders[0] ?? null,
              leaders,
              agents_registered: registered,
              agents_expected: p.topology.agents.length,
              registry_recovered: verdict.ok,
              agents: agentsRegistered,
            },
            marathon: {
              ok: marathonOk,
              enabled: spec.marathon.enabled,
              installed: marathonHosts.map((m) => m.name),
              ping: Object.fromEntries(pings),
            },
            units,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      io.out(`ZooKeeper: ${zk.ok ? 'healthy' : 'NOT healthy'} (${zk.summary})\n`);
      for (const [h, m] of modes) io.out(`  ${h}: ${m ?? 'down'}\n`);
      io.out(
        masters.length === 0
          ? 'Mesos masters: not installed on any master; their units are left to systemd\n'
          : `Mesos masters: ${mesosOk ? 'healthy' : 'NOT healthy'} (leader: ${leaders.join(', ') || 'none'}${leaders.length > 0 && !verdict.ok ? ', registry not recovered' : ''}; agents registered: ${registered} of ${p.topology.agents.length})\n`,
      );
      const unregistered = Object.entries(agentsRegistered)
        .filter(([, r]) => r === false)
        .map(([n]) => n);
      if (unregistered.length > 0) io.out(`  not registered: ${unregistered.join(', ')}\n`);
      if (spec.marathon.enabled) {
        io.out(
          marathonHosts.length === 0
            ? 'Marathon: not installed\n'
            : `Marathon: ${marathonOk ? 'healthy' : 'NOT healthy'} (${[...pings].map(([h, ok]) => `${h} ${ok ? 'pong' : 'no answer'}`).join(', ')})\n`,
        );
      }
      io.out('Units:\n');
      for (const [h, u] of Object.entries(units)) {
        io.out(
          `  ${h}: ${Object.entries(u)
            .map(([unit, st]) => `${unit} ${st}`)
            .join(', ')}\n`,
        );
      }
    }
    return healthy ? 0 : 1;
  } finally {
    await p.pool.closeAll();
  }
}

/** `meso destroy FILE`: stop and disable meso's units, remove its files (data kept unless --purge-data), remove local hosts. */
export async function destroyCommand(file: string, opts: ClusterOptions, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  const backend = await stateBackend(spec, file);
  const say = reporter(io, opts.json === true);
  if (spec.provider === 'aws') return destroyAws(spec, file, backend, opts, io, say);
  if (opts.byTag === true) {
    throw new MesoError('UsageError', '--by-tag is for provider aws', {
      hint: 'run meso destroy FILE without --by-tag',
    });
  }
  const lock = await backend.lock(`meso destroy ${file}`);
  let p: Prepared | undefined;
  try {
    p = await prepare(spec, file, backend, false, say, true);
    const hosts = Object.keys(p.state.hosts).sort();
    if (hosts.length === 0) {
      say('done', 'nothing to destroy: the state knows no hosts');
      return 0;
    }
    io.out(
      `meso will stop meso's services and remove what it wrote on: ${hosts.join(', ')}${spec.provider === 'local' ? ' (and destroy these local hosts)' : ''}.\n`,
    );
    if (!(await confirm(io, 'Destroy?', opts.autoApprove === true))) return 1;
    for (const name of hosts) await retireHost(p, name, opts.purgeData === true, say);
    say('done', `destroyed ${hosts.length} hosts`);
    return 0;
  } finally {
    await p?.pool.closeAll();
    await lock.release();
  }
}

/**
 * `meso destroy FILE` for provider aws: never needs SSH. Finds the cluster's resources by their
 * tags (with --by-tag also every balancer and bucket of the region), then deletes them in order.
 */
async function destroyAws(
  spec: Spec,
  file: string,
  backend: StateBackend,
  opts: ClusterOptions,
  io: Io,
  say: ReturnType<typeof reporter>,
): Promise<number> {
  const lock = await backend.lock(`meso destroy ${file}${opts.byTag === true ? ' --by-tag' : ''}`);
  try {
    const state = await readState(backend, spec);
    const { contextFor, describeResources, destroyCloud, isEmpty, resourcesToDestroy, terminator } =
      await loadAws();
    const ctx = contextFor(spec, (m) => say('aws', m));
    const found = await resourcesToDestroy(ctx, spec, deriveTopology(spec), state, opts.byTag === true);
    const save = async (): Promise<void> => {
      state.serial++;
      state.updatedAt = new Date().toISOString();
      await backend.write(state);
    };
    if (isEmpty(found)) {
      state.hosts = {};
      state.cloud = {};
      await save();
      say(
        'done',
        `nothing to destroy: no resource in ${contextRegion(spec)} is tagged meso:cluster=${spec.name}${opts.byTag === true ? '' : ' (--by-tag also sweeps every balancer and bucket of the region)'}`,
      );
      return 0;
    }
    const lines = describeResources(found);
    if (opts.json === true) say('resources', 'resources to destroy', { resources: lines });
    else
      io.out(
        `meso will delete these resources of cluster ${spec.name}:\n${lines.map((l) => `  - ${l}`).join('\n')}\n`,
      );
    if (!(await confirm(io, 'Destroy?', opts.autoApprove === true))) return 1;
    await destroyCloud(ctx, found, { state, save }, terminator(ctx));
    state.hosts = {};
    state.cloud = {};
    await save();
    say('done', `destroyed ${lines.length} resources`);
    return 0;
  } finally {
    await lock.release();
  }
}

const contextRegion = (spec: Spec): string => awsSettings(spec).region;
