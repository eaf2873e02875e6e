// Everything a command needs before it looks at a host: the state, the provider's view of which
// hosts exist and where, the topology and the desired state, and one SSH connection pool.
import { deriveTopology } from '../model/topology.js';
import type { Topology } from '../model/topology.js';
import { PROGRAM_FACTS } from '../plan/software.js';
import { loadProvider } from '../providers/registry.js';
import type { Discovery, ProviderContext, ProviderRuntime } from '../providers/types.js';
import { renderDesiredState } from '../render/render.js';
import type { DesiredState, ServiceName } from '../render/types.js';
import type { Spec } from '../spec/types.js';
import { scrubSecrets } from '../state/secrets.js';
import type { ClusterState, StateBackend } from '../state/types.js';
import { loadTemplates } from '../templates.js';
import { phaseDone } from '../util/timing.js';
import type { GateOptions } from '../verify/gates.js';
import type { Observation } from '../observe/observe.js';
import { readAssets } from './assets.js';
import { ConnectionPool, readState } from './session.js';

export const templates = loadTemplates();

/** How the engine talks back: one line per event (the CLI renders them as text or JSON lines). */
export type Say = (type: string, message: string, data?: Record<string, unknown>) => void;

export interface Session {
  spec: Spec;
  specFile: string;
  backend: StateBackend;
  state: ClusterState;
  provider: ProviderRuntime;
  discovery: Discovery;
  topology: Topology;
  desired: DesiredState;
  pool: ConnectionPool;
  /** Hosts that exist and can be observed. */
  reachable: string[];
  /** Hosts of the spec that do not exist yet. */
  toCreate: string[];
  /** Hosts in the state and gone from the spec, to retire over SSH. */
  toRemove: string[];
  save: () => Promise<void>;
  /** What the provider is handed for this session. */
  providerContext: ProviderContext;
}

/** The state and the spec's host names, as a provider is handed them. */
export function providerContext(
  spec: Spec,
  backend: StateBackend,
  state: ClusterState,
  say: Say,
): ProviderContext {
  const save = async (): Promise<void> => {
    state.serial++;
    state.updatedAt = new Date().toISOString();
    await backend.write(state);
  };
  const names = deriveTopology(spec).hosts.map((h) => h.name);
  return { spec, state, names, save, say: (t, m) => say(t, m) };
}

export async function prepare(
  spec: Spec,
  specFile: string,
  backend: StateBackend,
  say: Say,
  /** destroy and status change no file: files the spec names may be gone. */
  opts: { lenient?: boolean } = {},
): Promise<Session> {
  const [state, provider] = await Promise.all([readState(backend, spec), loadProvider(spec.provider)]);
  phaseDone('state');
  const ctx = providerContext(spec, backend, state, say);
  const { names, save } = ctx;
  const discovery = await provider.discover(ctx);
  const topology = deriveTopology(spec, discovery.addresses);
  const desired = renderDesiredState(spec, topology, templates, await readAssets(spec, specFile, opts));
  // A state written with secrets' hashes loses them here, in memory: on disk at its next write.
  const sensitive = new Set(
    desired.hosts.flatMap((h) => h.files.filter((f) => f.sensitive).map((f) => f.path)),
  );
  Object.assign(state.hosts, scrubSecrets(state, sensitive).hosts);
  const byName = new Map(topology.hosts.map((h) => [h.name, h]));
  const pool = new ConnectionPool((name) => {
    const h = byName.get(name);
    const address = h?.address ?? state.hosts[name]?.address ?? name;
    return provider.sshTarget({ spec, state }, name, address, h?.sshPort ?? spec.ssh.port);
  });
  phaseDone('prepare');
  return {
    spec,
    specFile,
    backend,
    state,
    provider,
    discovery,
    topology,
    desired,
    pool,
    reachable: names.filter((n) => !discovery.missing.includes(n)),
    toCreate: discovery.missing,
    toRemove: discovery.retireRemoved
      ? Object.keys(state.hosts)
          .filter((n) => !names.includes(n))
          .sort()
      : [],
    save,
    providerContext: ctx,
  };
}

/** The ports masters, agents (per group) and Marathon listen on, from the spec's flags. */
export function servicePorts(
  spec: Spec,
  topology: Topology,
): { masterPort: number; agentPorts: Map<string, number>; marathonPort: number } {
  return {
    masterPort: Number(spec.masters.flags['port'] ?? 5050),
    agentPorts: new Map(
      topology.agents.map((a) => [
        a.name,
        Number(spec.agents.find((g) => g.group === a.agentGroup)?.flags['port'] ?? 5051),
      ]),
    ),
    marathonPort: Number(spec.marathon.flags['http_port'] ?? 8080),
  };
}

export function gateOptions(p: Session): GateOptions {
  return {
    topology: p.topology,
    connection: p.pool.get,
    templates,
    zkPort: p.spec.zookeeper.clientPort,
    ...servicePorts(p.spec, p.topology),
    timeoutMs: 120_000,
    intervalMs: 500,
  };
}

/**
 * Whether a service's program is on a host once apply has run: docker images carry it, a package
 * or archive meso installs provides it; otherwise the observation must have found it.
 */
export function installedOn(
  p: Session,
  raw: ReadonlyMap<string, Observation>,
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
  const facts = raw.get(host)?.facts;
  return (
    provided || (PROGRAM_FACTS[service] ?? []).every((anyOf) => anyOf.some((f) => facts?.has(f) === true))
  );
}
