// What meso derives for each service: zoo.cfg, the mesos-master and mesos-agent flags, the archive's environment.
import type { Topology, TopologyHost } from '../model/topology.js';
import type { FlagValue, Spec } from '../spec/types.js';
import { sortedFlags } from './host-builder.js';
import {
  ACLS_FILE,
  AGENT_CREDENTIAL_FILE,
  CREDENTIALS_FILE,
  DEFAULT_LOG_DIR,
  DEFAULT_WORK_DIR,
} from './paths.js';
import { MANAGED } from './text.js';
import { providerPlugin } from '../providers/registry.js';

export function zooCfg(spec: Spec, topo: Topology): string {
  const zk = spec.zookeeper;
  const settings = new Map<string, string>([
    ['tickTime', String(zk.tickTime)],
    ['initLimit', String(zk.initLimit)],
    ['syncLimit', String(zk.syncLimit)],
    ['dataDir', zk.dataDir],
    ['clientPort', String(zk.clientPort)],
    // The AdminServer would take port 8080, which Marathon uses on the masters.
    ['admin.enableServer', 'false'],
    // The four-letter words meso's health checks use (srvr/mntr for the role, ruok for liveness).
    ['4lw.commands.whitelist', 'srvr,stat,ruok,mntr,conf,isro'],
    ['autopurge.snapRetainCount', '3'],
    ['autopurge.purgeInterval', '24'],
  ]);
  for (const [k, v] of Object.entries(zk.settings)) settings.set(k, String(v));
  const servers = [...topo.ensemble]
    .sort((a, b) => (a.zkId ?? 0) - (b.zkId ?? 0))
    .map((h) => `server.${h.zkId ?? '?'}=${h.privateAddress}:${zk.peerPort}:${zk.electionPort}`);
  return [
    `# ${MANAGED}`,
    `# ZooKeeper ensemble of cluster ${topo.name}: ${topo.ensemble.length} member(s).`,
    ...[...settings].map(([k, v]) => `${k}=${v}`),
    ...servers,
    '',
  ].join('\n');
}

export function masterFlags(spec: Spec, topo: Topology, host: TopologyHost): Map<string, FlagValue> {
  const sec = spec.security;
  const derived: [string, FlagValue][] = [
    ['quorum', topo.quorum],
    ['ip', host.privateAddress],
    ['hostname', host.privateAddress],
    ['cluster', topo.cluster],
    ['work_dir', DEFAULT_WORK_DIR],
    ['log_dir', DEFAULT_LOG_DIR],
  ];
  if (sec.authenticateFrameworks) derived.push(['authenticate_frameworks', true]);
  if (sec.authenticateAgents) derived.push(['authenticate_agents', true]);
  if (sec.credentials.length > 0) derived.push(['credentials', CREDENTIALS_FILE]);
  if (sec.acls !== undefined) derived.push(['acls', ACLS_FILE]);
  return sortedFlags([...new Map([...derived, ...Object.entries(spec.masters.flags)])]);
}

export function agentFlags(spec: Spec, host: TopologyHost): Map<string, FlagValue> {
  const group = spec.agents.find((g) => g.group === host.agentGroup)!;
  const derived: [string, FlagValue][] = [
    ['ip', host.privateAddress],
    ['hostname', host.privateAddress],
    ['work_dir', DEFAULT_WORK_DIR],
    ['log_dir', DEFAULT_LOG_DIR],
    ['containerizers', group.containerizers.join(',')],
  ];
  if (group.isolation.length > 0) derived.push(['isolation', group.isolation.join(',')]);
  // Flags the provider's hosts need (systemd-nspawn mounts the cgroup controllers read-only; the
  // POSIX launcher works there).
  for (const [k, v] of providerPlugin(spec.provider).agentFlags ?? []) derived.push([k, v]);
  // Public agents offer their resources to the slave_public role, as DC/OS lays them out.
  if (group.public) derived.push(['default_role', 'slave_public']);
  if (spec.security.agentCredential !== undefined) derived.push(['credential', AGENT_CREDENTIAL_FILE]);
  const flags = new Map([...derived, ...Object.entries(group.flags)]);
  if (spec.install.method === 'archive') {
    const env = executorEnvironment(spec.install.prefix, flags.get('executor_environment_variables'));
    if (env !== undefined) flags.set('executor_environment_variables', env);
  }
  return sortedFlags([...flags]);
}

/**
 * The agent starts executors with an environment of its own (not the unit's), so an archive's
 * executors would not find its libraries: give them LD_LIBRARY_PATH=<prefix>/lib, appended to any
 * LD_LIBRARY_PATH the spec's own executor_environment_variables set. Not an ld.so.conf.d entry:
 * the archive bundles copies of libssl, libz, libresolv... that would then shadow the host's own
 * for every program on it.
 */
export function executorEnvironment(prefix: string, given: FlagValue | undefined): string | undefined {
  let env: Record<string, unknown> = {};
  if (typeof given === 'string') {
    try {
      const parsed = JSON.parse(given) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      env = parsed as Record<string, unknown>;
    } catch {
      return undefined; // not JSON (e.g. file:///...): the operator's value stands as it is
    }
  } else if (given !== undefined) return undefined;
  const lib = `${prefix}/lib`;
  const current = typeof env['LD_LIBRARY_PATH'] === 'string' ? env['LD_LIBRARY_PATH'] : '';
  const paths = current.split(':').filter((x) => x !== '');
  if (!paths.includes(lib)) paths.push(lib);
  return JSON.stringify({ ...env, LD_LIBRARY_PATH: paths.join(':') });
}

export function unitEnvironment(spec: Spec): string {
  if (spec.install.method !== 'archive') return '';
  const prefix = spec.install.prefix;
  return `Environment=MESO_MESOS_SBIN=${prefix}/sbin\nEnvironment=LD_LIBRARY_PATH=${prefix}/lib\n`;
}
