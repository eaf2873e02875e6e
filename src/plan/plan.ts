import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Diff from 'diff';
import type {
  DesiredFile,
  DesiredSoftware,
  DesiredState,
  HostDesiredState,
  ServiceName,
} from '../render/types.js';
import { looksSecret } from '../render/paths.js';
import { servicesReading } from '../render/render.js';
import { addonRestart, withAddonPhases } from '../addons/phases.js';
import { foreignUnits, SERVICE_ORDER } from '../render/types.js';

const require = createRequire(import.meta.url);

import type {
  Change,
  CloudChange,
  FileChange,
  FileFingerprint,
  PackageChange,
  Phase,
  Plan,
  PlanSummary,
  ServiceChange,
} from './types.js';

/** What meso saw on one host; an offline plan observes nothing. */
export interface ObservedHost {
  files: ReadonlyMap<string, FileFingerprint>;
  /** Paths meso managed before (from state) that it may have to delete. */
  managed: ReadonlySet<string>;
  /** Of those, the ones the state records as sensitive: deleting them shows no hash either. */
  sensitive?: ReadonlySet<string>;
  activeServices: ReadonlySet<ServiceName>;
  /**
   * Services systemd is running or bringing up again by itself (active, activating, reloading).
   * Defaults to activeServices. Such a service is not started again; an inactive or failed one is.
   */
  startedServices?: ReadonlySet<ServiceName>;
  /** Current content of files about to be updated, when fetched: the plan shows a diff. */
  contents?: ReadonlyMap<string, string>;
  /** What is installed, by softwareKey(): version (archive: sha256; image: id), null if absent. */
  software?: ReadonlyMap<string, { version: string | null; held: boolean }>;
  /** Every unit meso looked at, by unit name; for the units a host must not run. */
  units?: ReadonlyMap<string, { loaded: boolean; enabled: string; active: string }>;
  /** Restarts an earlier apply wrote the files for and did not carry out (from the state). */
  pending?: ReadonlyMap<ServiceName, { reset: boolean }>;
}

export type ObservedState = ReadonlyMap<string, ObservedHost>;

export const EMPTY_HOST: ObservedHost = { files: new Map(), managed: new Set(), activeServices: new Set() };

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function fingerprint(f: DesiredFile): FileFingerprint {
  return { sha256: f.secretSha256 ?? sha256(f.content), owner: f.owner, group: f.group, mode: f.mode };
}

export { softwareKey } from './software-key.js';
import { softwareKey } from './software-key.js';

function softwareChange(host: string, s: DesiredSoftware, seen: ObservedHost): PackageChange | undefined {
  const key = softwareKey(s);
  const obs = seen.software?.get(key);
  const before = obs?.version ?? null;
  const base = { kind: 'package' as const, address: `host/${host}/${key}`, host, before };
  if (s.kind === 'image') {
    if (before !== null) return undefined;
    return {
      ...base,
      action: 'create',
      manager: 'docker',
      name: s.ref,
      after: s.ref,
      hold: false,
      reason: 'pull the image',
    };
  }
  if (s.kind === 'archive') {
    if (before === s.sha256) return undefined;
    return {
      ...base,
      action: before === null ? 'create' : 'update',
      manager: 'archive',
      name: s.prefix,
      after: s.sha256,
      hold: false,
      reason:
        before === null
          ? `upload and unpack under ${s.prefix}`
          : `a different tarball: upload and unpack again`,
    };
  }
  const held = obs?.held === true;
  const version = s.version;
  const pinned = version !== undefined;
  const via = s.manager === 'os' ? "the host's package manager" : s.manager;
  if (before === null) {
    return {
      ...base,
      action: 'create',
      manager: s.manager,
      name: s.name,
      after: s.version ?? null,
      hold: pinned,
      reason: `install with ${via}${pinned ? ', pinned and held' : ''}`,
    };
  }
  if (!pinned && held) {
    return {
      ...base,
      action: 'update',
      manager: s.manager,
      name: s.name,
      after: null,
      hold: false,
      reason: 'release the hold: no version is pinned any more',
    };
  }
  if (!pinned || (before === version && held)) return undefined;
  return {
    ...base,
    action: 'update',
    manager: s.manager,
    name: s.name,
    after: version,
    hold: true,
    reason: before === version ? 'hold the pinned version' : `change version ${before} -> ${version}`,
  };
}

const AGENT_IDENTITY = /^\/etc\/mesos-slave\/(attributes|resources)(\/|$)/;

/**
 * Whether this host's file changes alter what its agent checkpointed (resources, attributes):
 * Mesos then refuses to recover the agent, so a plain restart would leave it crash-looping.
 */
function agentIdentityChanged(
  h: HostDesiredState,
  files: readonly FileChange[],
  seen: ObservedHost,
  running: boolean,
): boolean {
  const additive = h.agent?.additive === true;
  for (const c of files) {
    if (AGENT_IDENTITY.test(c.path)) {
      if (c.action === 'create' && (additive || !running)) continue; // added; or a new agent
      return true;
    }
    if (c.path === '/etc/default/mesos-slave' && c.action === 'update') {
      // Docker: the env file's MESOS_RESOURCES / MESOS_ATTRIBUTES lines.
      const pick = (text: string | undefined): string =>
        (text ?? '')
          .split('\n')
          .filter((l) => /^MESOS_(RESOURCES|ATTRIBUTES)=/.test(l))
          .join('\n');
      const old = seen.contents?.get(c.path);
      const text = h.files.find((f) => f.path === c.path)?.content ?? '';
      // Only the docker layout's env file has them; without its old content, assume they changed.
      if (old === undefined ? /^MESOS_MASTER=/m.test(text) : pick(old) !== pick(text)) return true;
    }
  }
  return false;
}

const sameFingerprint = (a: FileFingerprint, b: FileFingerprint): boolean =>
  a.sha256 === b.sha256 && a.owner === b.owner && a.group === b.group && a.mode === b.mode;

function summaryOf(f: DesiredFile): { summary: string | undefined; lines: number } {
  const lines = f.content === '' ? 0 : f.content.replace(/\n$/, '').split('\n').length;
  if (f.sensitive) return { summary: undefined, lines };
  if (f.content === '') return { summary: '(empty: a boolean flag)', lines };
  if (lines === 1 && f.content.length <= 80)
    return { summary: JSON.stringify(f.content.replace(/\n$/, '')), lines };
  return { summary: undefined, lines };
}

/** Counts per action, as the plan's summary line and JSON show them. */
export function summarize(changes: readonly Change[]): PlanSummary {
  const count = (a: Change['action']): number => changes.filter((c) => c.action === a).length;
  const replace = count('replace');
  return {
    create: count('create'),
    update: count('update'),
    delete: count('delete'),
    restart: count('restart'),
    ...(replace === 0 ? {} : { replace }),
  };
}

/** How many agents may be down at once: `maxUnavailable` of the group, at least 1. */
export function batchSize(maxUnavailable: string | number, count: number): number {
  if (typeof maxUnavailable === 'number') return Math.max(1, maxUnavailable);
  const pct = Number(maxUnavailable.replace('%', ''));
  return Math.max(1, Math.floor((count * pct) / 100));
}

function phases(desired: DesiredState): Phase[] {
  const on = (s: ServiceName): string[] =>
    desired.hosts.filter((h) => h.services.some((x) => x.name === s)).map((h) => h.host.name);
  const out: Phase[] = [];
  const zk = on('zookeeper');
  if (zk.length > 0) {
    out.push({
      service: 'zookeeper',
      strategy: 'ensemble',
      hosts: zk,
      batchSize: zk.length,
      description:
        'configure every member, then start them together; a running ensemble restarts followers first, the leader last',
    });
  }
  const masters = on('mesos-master');
  if (masters.length > 0) {
    out.push({
      service: 'mesos-master',
      strategy: 'one-at-a-time',
      hosts: masters,
      batchSize: 1,
      description: 'one at a time, each healthy before the next',
    });
  }
  const marathon = on('marathon');
  if (marathon.length > 0) {
    out.push({
      service: 'marathon',
      strategy: 'one-at-a-time',
      hosts: marathon,
      batchSize: 1,
      description: 'one at a time, after the masters have a leader',
    });
  }
  const agents = on('mesos-agent');
  if (agents.length > 0) {
    // The smallest batch any group allows, so no group loses more than its maxUnavailable.
    const size = Math.min(
      ...desired.topology.agentGroups
        .filter((g) => g.hosts.length > 0)
        .map((g) => batchSize(g.maxUnavailable, g.hosts.length)),
    );
    out.push({
      service: 'mesos-agent',
      strategy: 'batches',
      hosts: agents,
      batchSize: size,
      description: `in batches of ${size} (maxUnavailable)`,
    });
  }
  return out;
}

/**
 * Compare what every host should have with what it has. Pure: the same inputs give the same plan,
 * change for change, in the same order.
 */
export function buildPlan(desired: DesiredState, observed: ObservedState, offline: boolean): Plan {
  const fileChanges: FileChange[] = [];
  const softwareChanges: PackageChange[] = [];
  const changedFeeds = new Map<string, Set<ServiceName>>();
  for (const h of desired.hosts) {
    const seen = observed.get(h.host.name) ?? EMPTY_HOST;
    const feeds = new Set<ServiceName>();
    changedFeeds.set(h.host.name, feeds);
    for (const f of h.files) {
      const after = fingerprint(f);
      const before = seen.files.get(f.path);
      if (before !== undefined && sameFingerprint(before, after)) continue;
      for (const s of f.feeds) feeds.add(s);
      const action = before === undefined ? 'create' : 'update';
      const what =
        before === undefined
          ? 'new file'
          : before.sha256 !== after.sha256
            ? 'content changed'
            : 'owner or mode changed';
      const old = seen.contents?.get(f.path);
      fileChanges.push({
        kind: 'file',
        address: `host/${h.host.name}/file:${f.path}`,
        ...(action === 'update' && old !== undefined && !f.sensitive && old !== f.content
          ? { diff: unifiedDiff(f.path, old, f.content) }
          : {}),
        action,
        host: h.host.name,
        path: f.path,
        reason: f.sensitive ? `${what} (sensitive)` : what,
        before,
        after,
        sensitive: f.sensitive,
        ...summaryOf(f),
      });
    }
    const wanted = new Set(h.files.map((f) => f.path));
    for (const path of [...seen.managed].sort()) {
      const before = seen.files.get(path);
      if (wanted.has(path) || before === undefined) continue;
      for (const svc of servicesReading(path)) if (h.services.some((s) => s.name === svc)) feeds.add(svc);
      const sensitive = seen.sensitive?.has(path) === true || looksSecret(path, before.mode);
      fileChanges.push({
        kind: 'file',
        address: `host/${h.host.name}/file:${path}`,
        action: 'delete',
        host: h.host.name,
        path,
        reason: `meso managed it and the spec no longer wants it${sensitive ? ' (sensitive)' : ''}`,
        before,
        after: undefined,
        sensitive,
        summary: undefined,
        lines: 0,
      });
    }
    for (const s of h.software) {
      const c = softwareChange(h.host.name, s, seen);
      if (c === undefined) continue;
      softwareChanges.push(c);
      if (s.kind !== 'image') for (const svc of s.feeds) feeds.add(svc);
    }
  }
  const order = withAddonPhases(phases(desired), desired);
  const filesByHost = new Map<string, FileChange[]>();
  for (const c of fileChanges) {
    const list = filesByHost.get(c.host);
    if (list === undefined) filesByHost.set(c.host, [c]);
    else list.push(c);
  }
  const serviceChanges: ServiceChange[] = [];
  // First host of each name, as `find` would give, without a scan of every host per host.
  const hostByName = new Map<string, (typeof desired.hosts)[number]>();
  for (const x of desired.hosts) if (!hostByName.has(x.host.name)) hostByName.set(x.host.name, x);
  order.forEach((phase, index) => {
    for (const name of phase.hosts) {
      const h = hostByName.get(name)!;
      const svc = h.services.find((s) => s.name === phase.service)!;
      const seen = observed.get(name) ?? EMPTY_HOST;
      const running = (seen.startedServices ?? seen.activeServices).has(svc.name);
      const pending = seen.pending?.get(svc.name);
      const changed = changedFeeds.get(name)?.has(svc.name) === true || pending !== undefined;
      if (running && !changed) continue;
      const agent = svc.name === 'mesos-agent' ? h.agent : undefined;
      const reset =
        agent !== undefined &&
        (agentIdentityChanged(h, filesByHost.get(name) ?? [], seen, running) || pending?.reset === true);
      // A stopped agent is not registered: there is nothing to drain, only a checkpoint to drop.
      const drain = reset && running ? agent.drain : undefined;
      const how =
        svc.addon === undefined
          ? {}
          : addonRestart(
              svc,
              h,
              filesByHost.get(name) ?? [],
              softwareChanges,
              running,
              pending !== undefined,
            );
      serviceChanges.push({
        ...how,
        kind: 'service',
        address: `host/${name}/service:${svc.name}`,
        action: running ? 'restart' : 'create',
        host: name,
        service: svc.name,
        unit: svc.unit,
        phase: index,
        ...(reset
          ? { recovery: { reset: true, workDir: agent.workDir, ...(drain === undefined ? {} : { drain }) } }
          : {}),
        reason: reset
          ? 'resources or attributes changed, which Mesos refuses to recover: ' +
            (drain === undefined
              ? ''
              : `drain it through the master (grace period ${drain.gracePeriodSeconds} s), `) +
            `${running ? 'stop, ' : ''}remove ${agent.workDir}/meta/slaves/latest, start, wait for it to register again` +
            (running && drain === undefined ? ' (its tasks are lost; agents[].drain drains first)' : '')
          : running
            ? changedFeeds.get(name)?.has(svc.name) === true
              ? how.reload === true
                ? 'its configuration changed: reload, no restart'
                : 'its configuration changed'
              : 'an earlier apply changed its configuration and stopped before restarting it'
            : `start and enable (step ${index + 1}: ${phase.service})`,
      });
    }
  });
  // A unit file meso removes from a host that keeps running: its service is stopped and disabled.
  for (const c of fileChanges) {
    const unit = /^\/etc\/systemd\/system\/([a-z0-9-]+)\.service$/.exec(c.path)?.[1];
    if (c.action !== 'delete' || unit === undefined) continue;
    const core = (SERVICE_ORDER as readonly string[]).includes(unit);
    serviceChanges.push({
      kind: 'service',
      address: `host/${c.host}/service:${unit}`,
      action: 'delete',
      host: c.host,
      service: unit,
      unit: `${unit}.service`,
      phase: -1,
      reason: core
        ? 'stop and disable: the host no longer has this role'
        : 'stop and disable: the add-on no longer runs here',
    });
  }
  // Units the host's roles do not call for (the packages may have brought and enabled them).
  const retiring = new Set(serviceChanges.filter((c) => c.action === 'delete').map((c) => c.address));
  for (const h of desired.hosts) {
    const units = observed.get(h.host.name)?.units;
    if (units === undefined) continue;
    for (const unit of foreignUnits(h.host.roles)) {
      const u = units.get(unit);
      const name = unit.replace(/\.service$/, '');
      const address = `host/${h.host.name}/service:${name}`;
      if (u === undefined || !u.loaded || retiring.has(address)) continue;
      const up = u.active === 'active' || u.active === 'activating' || u.active === 'reloading';
      if (!up && u.enabled !== 'enabled') continue;
      serviceChanges.push({
        kind: 'service',
        address,
        action: 'delete',
        host: h.host.name,
        service: (SERVICE_ORDER as readonly string[]).includes(name) ? name : 'mesos-agent',
        unit,
        phase: -1,
        reason:
          unit === 'mesos-slave.service'
            ? "stop and disable: the Mesos packages' own agent unit; meso runs mesos-agent.service"
            : `stop and disable: ${h.host.name} is not ${unit === 'zookeeper.service' ? 'a ZooKeeper member' : unit === 'mesos-master.service' ? 'a master' : 'an agent'}`,
      });
    }
  }
  const changes: Change[] = [...fileChanges, ...softwareChanges, ...serviceChanges];
  // Same rule as apply: a unit file that changes means daemon-reload and enabling the host's units.
  const unitChanged = new Set(
    fileChanges.filter((c) => c.path.startsWith('/etc/systemd/system/')).map((c) => c.host),
  );
  const systemd = desired.hosts.flatMap((h) =>
    unitChanged.has(h.host.name)
      ? [{ host: h.host.name, reload: true, enable: h.services.map((s) => s.unit) }]
      : [],
  );
  return {
    formatVersion: '1',
    cluster: desired.topology.name,
    provider: desired.topology.provider,
    offline,
    hosts: desired.hosts.map((h) => ({ name: h.host.name, address: h.host.address, roles: h.host.roles })),
    changes,
    phases: order,
    systemd,
    summary: summarize(changes),
  };
}

/** Add machine-level changes (local hosts to create, hosts gone from the spec) in front of a plan. */
export function withHostChanges(plan: Plan, create: readonly string[], remove: readonly string[]): Plan {
  const hostChanges: Change[] = [
    ...create.map((host) => ({
      kind: 'host' as const,
      address: `host/${host}`,
      action: 'create' as const,
      host,
      reason: 'a local host to create',
    })),
    ...remove.map((host) => ({
      kind: 'host' as const,
      address: `host/${host}`,
      action: 'delete' as const,
      host,
      reason: 'gone from the spec: stop its services and remove what meso wrote',
    })),
  ];
  const changes = [...hostChanges, ...plan.changes];
  return {
    ...plan,
    hosts: [...plan.hosts, ...remove.map((name) => ({ name, address: '(being removed)', roles: [] }))],
    changes,
    summary: summarize(changes),
  };
}

/** A unified diff of one file, without the `Index:`/`===` preamble. */
export function unifiedDiff(path: string, before: string, after: string): string {
  // Loaded on the first diff only: a plan without file updates (a no-op) never needs it.
  const { createTwoFilesPatch } = require('diff') as typeof Diff;
  return createTwoFilesPatch(`a${path}`, `b${path}`, before, after, undefined, undefined, { context: 3 })
    .split('\n')
    .filter((l) => !l.startsWith('===') && !l.startsWith('Index:'))
    .join('\n')
    .trimEnd();
}

/** Cloud changes go first: they make the machines the host steps then configure. */
export function withCloudChanges(plan: Plan, cloud: readonly CloudChange[]): Plan {
  const changes = [...cloud, ...plan.changes];
  return { ...plan, changes, summary: summarize(changes) };
}
