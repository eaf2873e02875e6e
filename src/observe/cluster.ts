import type { LiveState } from '../apply/schedule.js';
import type { ObservedHost, ObservedState } from '../plan/plan.js';
import type { Change, FileFingerprint, Plan } from '../plan/types.js';
import type { DesiredState, ServiceName, Templates } from '../render/types.js';
import { SERVICE_ORDER } from '../render/types.js';
import { isSensitiveRecord } from '../state/secrets.js';
import type { ClusterState } from '../state/types.js';
import type { HostConnection } from '../transport/host.js';
import { MesoError } from '../util/errors.js';
import { mapLimit } from '../util/pool.js';
import { scriptCommand } from '../util/shell.js';
import { observeCommand, observeInput, parseObservation } from './observe.js';
import type { Observation, ZkMode } from './observe.js';

export interface ClusterObservation {
  observed: ObservedState;
  live: LiveState;
  raw: Map<string, Observation>;
}

/** From one host's answer to what planning needs: regular files only (a symlink is to be replaced). */
export function toObservedHost(obs: Observation, managed: Iterable<string>): ObservedHost {
  const files = new Map<string, FileFingerprint>();
  for (const [path, p] of obs.paths)
    if (p.type === 'file' && p.fingerprint !== undefined) files.set(path, p.fingerprint);
  const units = new Map<string, { loaded: boolean; enabled: string; active: string }>();
  for (const [name, u] of obs.units)
    units.set(name, { loaded: u.loaded, enabled: u.enabled, active: u.active });
  const active = new Set<ServiceName>();
  const started = new Set<ServiceName>();
  for (const [unit, u] of obs.units) {
    const s = unit.replace(/\.service$/, '');
    const state = u.active;
    if (state === 'active') active.add(s);
    if (state === 'active' || state === 'activating' || state === 'reloading') started.add(s);
  }
  return {
    files,
    managed: new Set(managed),
    activeServices: active,
    startedServices: started,
    software: obs.software,
    units,
  };
}

/**
 * Look at every host of the cluster: the paths meso wants or managed before, the units, and
 * ZooKeeper's role, in one command per host.
 */
export async function observeCluster(opts: {
  desired: DesiredState;
  state: ClusterState | undefined;
  connection: (host: string) => Promise<HostConnection>;
  templates: Templates;
  zkPort: number;
  masterQuorum: number;
  parallelism: number;
}): Promise<ClusterObservation> {
  const command = observeCommand(opts.templates['observe.sh'] ?? '');
  const raw = new Map<string, Observation>();
  await mapLimit(opts.desired.hosts, opts.parallelism, async (h) => {
    const before = opts.state?.hosts[h.host.name];
    const paths = [...new Set([...h.files.map((f) => f.path), ...Object.keys(before?.files ?? {})])].sort();
    const units = [
      ...new Set([
        ...SERVICE_ORDER.map((s) => `${s}.service`),
        'mesos-slave.service',
        ...h.services.map((s) => s.unit),
      ]),
    ];
    const conn = await opts.connection(h.host.name);
    const r = await conn.exec(command, {
      stdin: observeInput({
        paths,
        units,
        ...(h.host.roles.includes('zookeeper') ? { zkPort: opts.zkPort } : {}),
        packages: h.software.flatMap((s) => (s.kind === 'package' ? [s.name] : [])),
        ...(h.software.some((s) => s.kind === 'package' && s.manager === 'yum')
          ? { packageManager: 'yum' as const }
          : {}),
        archives: h.software.flatMap((s) => (s.kind === 'archive' ? [s.prefix] : [])),
        images: h.software.flatMap((s) => (s.kind === 'image' ? [s.ref] : [])),
      }),
    });
    try {
      raw.set(h.host.name, parseObservation(r.stdout));
    } catch (e) {
      throw new MesoError('ObserveFailed', `observing ${h.host.name} failed: ${(e as Error).message}`, {
        hint:
          r.stderr.trim() === ''
            ? 'check that bash and coreutils are on the host'
            : r.stderr.trim().split('\n').slice(-2).join(' / '),
      });
    }
  });
  const observed = new Map<string, ObservedHost>();
  const running = new Map<string, ReadonlySet<ServiceName>>();
  const zkMode = new Map<string, ZkMode>();
  for (const h of opts.desired.hosts) {
    const obs = raw.get(h.host.name)!;
    const before = opts.state?.hosts[h.host.name];
    const files = Object.entries(before?.files ?? {});
    const host = {
      ...toObservedHost(
        obs,
        files.map(([path]) => path),
      ),
      sensitive: new Set(files.flatMap(([path, r]) => (isSensitiveRecord(r) ? [path] : []))),
    };
    const pending = new Map((before?.pending ?? []).map((x) => [x.service, { reset: x.reset === true }]));
    observed.set(h.host.name, pending.size === 0 ? host : { ...host, pending });
    running.set(h.host.name, host.activeServices);
    if (obs.zkMode !== undefined) zkMode.set(h.host.name, obs.zkMode);
  }
  return { observed, live: { running, zkMode, masterQuorum: opts.masterQuorum }, raw };
}

/**
 * A saved plan may only be applied to the world it was made against: every file it changes must
 * still be as the plan saw it, every service it starts or restarts still in the same state.
 */
export function staleChanges(plan: Plan, now: ObservedState): Change[] {
  return plan.changes.filter((c) => {
    const host = now.get(c.host);
    if (c.kind === 'file') {
      const seen = host?.files.get(c.path);
      if (c.before === undefined) return seen !== undefined;
      return (
        seen === undefined ||
        seen.sha256 !== c.before.sha256 ||
        seen.mode !== c.before.mode ||
        seen.owner !== c.before.owner
      );
    }
    if (c.kind === 'host') return c.action === 'create' ? host !== undefined : host === undefined;
    if (c.kind === 'cloud') return false; // the cloud is re-observed by the aws provider itself
    if (c.kind === 'package')
      return (host?.software?.get(c.address.split('/').slice(2).join('/'))?.version ?? null) !== c.before;
    if (c.action === 'delete') return false; // stopping a service is safe whatever its state
    const active = (host?.startedServices ?? host?.activeServices)?.has(c.service) === true;
    return c.action === 'restart' ? !active : active;
  });
}

/**
 * The current content of the non-sensitive files a plan updates, so the plan can show diffs: one
 * command on each host that has such updates, none elsewhere (a no-op plan costs nothing more).
 */
export async function fetchUpdatedContents(
  plan: Plan,
  connection: (host: string) => Promise<HostConnection>,
  templates: Templates,
): Promise<Map<string, Map<string, string>>> {
  const byHost = new Map<string, string[]>();
  for (const c of plan.changes) {
    if (c.kind === 'file' && c.action === 'update' && !c.sensitive) {
      byHost.set(c.host, [...(byHost.get(c.host) ?? []), c.path]);
    }
  }
  const out = new Map<string, Map<string, string>>();
  const command = scriptCommand(templates['read-files.sh'] ?? '', 'meso-read-files');
  await mapLimit([...byHost], 16, async ([host, paths]) => {
    const r = await (await connection(host)).exec(command, { stdin: `${paths.join('\n')}\n` });
    const contents = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const [kind, path, data] = line.split('\t');
      if (kind === 'C' && path !== undefined && data !== undefined)
        contents.set(path, Buffer.from(data, 'base64').toString('utf8'));
    }
    out.set(host, contents);
  });
  return out;
}
