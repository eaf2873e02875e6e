import { providerPlugin } from '../providers/registry.js';
import type { Topology, TopologyHost } from '../model/topology.js';
import type { Flags, FlagValue, Spec } from '../spec/types.js';
import { shellQuote } from '../util/shell.js';
import { envName, fill, MANAGED, valueFile } from './text.js';
import { SERVICE_OF_ROLE, SERVICE_ORDER } from './types.js';
import { NO_ASSETS } from './types.js';
import type {
  Assets,
  DesiredDirectory,
  DesiredFile,
  DesiredService,
  DesiredSoftware,
  DesiredState,
  HostDesiredState,
  ServiceName,
  Templates,
} from './types.js';

export const WRAPPER_DIR = '/usr/local/lib/meso';
export const MESOS_RUN = `${WRAPPER_DIR}/mesos-run`;
export const MARATHON_RUN = `${WRAPPER_DIR}/marathon-run`;
export const ZK_CONF = '/etc/zookeeper/conf/zoo.cfg';
export const MESOS_ZK_FILE = '/etc/mesos/zk';
export const CREDENTIALS_FILE = '/etc/mesos/credentials.json';
export const AGENT_CREDENTIAL_FILE = '/etc/mesos/agent-credential.json';
export const ACLS_FILE = '/etc/mesos/acls.json';
export const MARATHON_SECRET_FILE = '/etc/marathon/mesos-secret';
export const DEFAULT_WORK_DIR = '/var/lib/mesos';
export const DEFAULT_LOG_DIR = '/var/log/mesos';
const APT_SOURCE = '/etc/apt/sources.list.d/meso.sources';
const APT_KEY = '/etc/apt/keyrings/meso.asc';
const APT_PINS = '/etc/apt/preferences.d/meso';
const YUM_REPO = '/etc/yum.repos.d/meso.repo';
const YUM_KEY = '/etc/pki/rpm-gpg/RPM-GPG-KEY-meso';
const UNIT_DIR = '/etc/systemd/system';

/**
 * Which services read a path of meso's layout, for files that are no longer rendered (a removed
 * attribute or flag must still restart the service that read it).
 */
export function servicesReading(path: string): ServiceName[] {
  if (path.startsWith('/etc/mesos-master/')) return ['mesos-master'];
  if (path.startsWith('/etc/mesos-slave/')) return ['mesos-agent'];
  if (path.startsWith('/etc/marathon/')) return ['marathon'];
  if (path.startsWith('/etc/zookeeper/')) return ['zookeeper'];
  if (path.startsWith('/etc/mesos/') || path === '/etc/default/mesos') return ['mesos-master', 'mesos-agent'];
  if (path === '/etc/default/mesos-master') return ['mesos-master'];
  if (path === '/etc/default/mesos-slave') return ['mesos-agent'];
  if (path === '/etc/default/marathon') return ['marathon'];
  return [];
}

/** Builds one host's files; every `add` names the services the file feeds. */
class HostBuilder {
  readonly files = new Map<string, DesiredFile>();
  readonly directories = new Map<string, DesiredDirectory>();

  add(path: string, content: string, feeds: ServiceName[], opts: Partial<DesiredFile> = {}): void {
    const prior = this.files.get(path);
    if (prior !== undefined) {
      // Shared files (/etc/mesos/zk on a master that is also an agent) must agree.
      if (prior.content !== content) throw new Error(`meso renders ${path} twice with different content`);
      prior.feeds = [...new Set([...prior.feeds, ...feeds])].sort(byServiceOrder);
      return;
    }
    this.files.set(path, {
      path,
      content,
      owner: 'root',
      group: 'root',
      mode: 0o644,
      sensitive: false,
      feeds,
      ...opts,
    });
  }

  dir(path: string, owner = 'root', mode = 0o755, data = false): void {
    if (!this.directories.has(path)) this.directories.set(path, { path, owner, group: owner, mode, data });
  }
}

const byServiceOrder = (a: ServiceName, b: ServiceName): number =>
  SERVICE_ORDER.indexOf(a) - SERVICE_ORDER.indexOf(b);

/** Flags as files under /etc/mesos-master or /etc/mesos-slave: `name` holds the value, `?name`/`?no-name` a boolean. */
function flagFiles(
  b: HostBuilder,
  dir: string,
  flags: ReadonlyMap<string, FlagValue>,
  feeds: ServiceName[],
): void {
  for (const [name, value] of flags) {
    if (typeof value === 'boolean') b.add(`${dir}/?${value ? '' : 'no-'}${name}`, '', feeds);
    else b.add(`${dir}/${name}`, valueFile(value), feeds);
  }
}

/** `KEY=value` lines for a Docker --env-file, which takes values literally (no quotes). */
function envFile(header: string, vars: readonly (readonly [string, FlagValue])[]): string {
  return `# ${MANAGED}\n# ${header}\n${vars.map(([k, v]) => `${k}=${String(v)}`).join('\n')}\n`;
}

function sortedFlags(entries: Iterable<readonly [string, FlagValue]>): Map<string, FlagValue> {
  return new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function zooCfg(spec: Spec, topo: Topology): string {
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

function masterFlags(spec: Spec, topo: Topology, host: TopologyHost): Map<string, FlagValue> {
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

function agentFlags(spec: Spec, host: TopologyHost): Map<string, FlagValue> {
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

function str(flags: Flags | Map<string, FlagValue>, name: string, fallback: string): string {
  const v = flags instanceof Map ? flags.get(name) : flags[name];
  return typeof v === 'string' ? v : fallback;
}

function unitEnvironment(spec: Spec): string {
  if (spec.install.method !== 'archive') return '';
  const prefix = spec.install.prefix;
  return `Environment=MESO_MESOS_SBIN=${prefix}/sbin\nEnvironment=LD_LIBRARY_PATH=${prefix}/lib\n`;
}

function asset(assets: Assets, path: string, what: string): string {
  const text = assets.text.get(path);
  if (text === undefined) throw new Error(`${what} ${path} was not read before rendering`);
  return text;
}

/** The repository files of apt or yum: source, signing key, version pins. */
function repositoryFiles(b: HostBuilder, spec: Spec, software: DesiredSoftware[], assets: Assets): void {
  const ins = spec.install;
  const repo = ins.repository;
  const pinned = software.flatMap((s) =>
    s.kind === 'package' && s.version !== undefined ? [[s.name, s.version] as const] : [],
  );
  // An archive's runtime libraries may come from a repository too: apt by url, yum by baseurl.
  const apt = ins.method === 'apt' || (ins.method === 'archive' && repo?.url !== undefined);
  const yum = ins.method === 'yum' || (ins.method === 'archive' && repo?.baseurl !== undefined);
  if (apt) {
    if (repo !== undefined) {
      const lines = [
        `# ${MANAGED}`,
        `# The package repository of cluster ${spec.name}.`,
        'Types: deb',
        `URIs: ${repo.url ?? ''}`,
        `Suites: ${repo.suite ?? ''}`,
      ];
      if (repo.components.length > 0) lines.push(`Components: ${repo.components.join(' ')}`);
      if (repo.key !== undefined) {
        lines.push(`Signed-By: ${APT_KEY}`);
        b.add(APT_KEY, asset(assets, repo.key, 'the repository key'), []);
      }
      b.add(APT_SOURCE, `${lines.join('\n')}\n`, []);
    }
    if (pinned.length > 0) {
      const stanzas = pinned.map(
        ([name, version]) => `Package: ${name}\nPin: version ${version}\nPin-Priority: 1001`,
      );
      b.add(
        APT_PINS,
        `# ${MANAGED}\n# The versions install.versions pins; meso also holds them (apt-mark hold).\n\n${stanzas.join('\n\n')}\n`,
        [],
      );
    }
  }
  if (yum && repo !== undefined) {
    const lines = [
      `# ${MANAGED}`,
      '[meso]',
      `name=meso: packages of cluster ${spec.name}`,
      `baseurl=${repo.baseurl ?? ''}`,
      'enabled=1',
    ];
    if (repo.key !== undefined) {
      lines.push('gpgcheck=1', `gpgkey=file://${YUM_KEY}`);
      b.add(YUM_KEY, asset(assets, repo.key, 'the repository key'), []);
    } else lines.push('gpgcheck=0');
    b.add(YUM_REPO, `${lines.join('\n')}\n`, []);
  }
}

/** What the host runs, and the packages, archive or images that provide it. */
function softwareOf(spec: Spec, host: TopologyHost, assets: Assets): DesiredSoftware[] {
  const ins = spec.install;
  const roles = new Set(host.roles);
  const mesosFeeds: ServiceName[] = [
    ...(roles.has('master') ? (['mesos-master'] as const) : []),
    ...(roles.has('agent') ? (['mesos-agent'] as const) : []),
  ];
  const out: DesiredSoftware[] = [];
  if (ins.method === 'apt' || ins.method === 'yum' || ins.method === 'archive') {
    const manager = ins.method === 'archive' ? 'os' : ins.method;
    for (const p of ins.packages) {
      const feeds: ServiceName[] =
        p.component === 'zookeeper'
          ? roles.has('zookeeper')
            ? ['zookeeper']
            : []
          : p.component === 'marathon'
            ? roles.has('marathon')
              ? ['marathon']
              : []
            : mesosFeeds;
      if (p.component !== 'extra' && feeds.length === 0) continue;
      out.push({ kind: 'package', manager, name: p.name, component: p.component, version: p.version, feeds });
    }
  }
  if (ins.method === 'archive' && mesosFeeds.length > 0 && assets.archive !== undefined) {
    out.push({
      kind: 'archive',
      prefix: ins.prefix,
      sha256: assets.archive.sha256,
      source: assets.archive.path,
      feeds: mesosFeeds,
    });
  }
  if (ins.method === 'docker') {
    const images: [ServiceName, string][] = [
      ['zookeeper', ins.images.zookeeper],
      ['mesos-master', ins.images.mesosMaster],
      ['marathon', ins.images.marathon],
      ['mesos-agent', ins.images.mesosAgent],
    ];
    for (const [service, ref] of images)
      if (host.roles.some((r) => SERVICE_OF_ROLE[r] === service))
        out.push({ kind: 'image', ref, feeds: [service] });
  }
  return out;
}

function secretPlaceholder(refs: string[]): string {
  return `(sensitive: built at apply time from ${refs.join(', ')})\n`;
}

function renderHost(
  spec: Spec,
  topo: Topology,
  host: TopologyHost,
  templates: Templates,
  assets: Assets,
): HostDesiredState {
  const b = new HostBuilder();
  const software = softwareOf(spec, host, assets);
  let agentState: HostDesiredState['agent'];
  repositoryFiles(b, spec, software, assets);
  const docker = spec.install.method === 'docker';
  const unitDir = docker ? 'docker' : 'systemd';
  const template = (name: string): string => {
    const t = templates[`${unitDir}/${name}`] ?? templates[name];
    if (t === undefined) throw new Error(`template ${unitDir}/${name} is missing`);
    return t;
  };
  const unit = (name: ServiceName, vars: Record<string, string | number>): void => {
    const vars_ = { cluster: topo.cluster, environment: unitEnvironment(spec), ...vars };
    b.add(
      `${UNIT_DIR}/${name}.service`,
      fill(template(`${name}.service`), vars_, `${unitDir}/${name}.service`),
      [name],
    );
  };
  const roles = new Set(host.roles);
  const zkFeeds: ServiceName[] = [
    ...(roles.has('master') ? (['mesos-master'] as const) : []),
    ...(roles.has('agent') ? (['mesos-agent'] as const) : []),
  ];

  if (roles.has('zookeeper')) {
    const zk = spec.zookeeper;
    b.dir(zk.dataDir, 'zookeeper', 0o750, true);
    b.add(ZK_CONF, zooCfg(spec, topo), ['zookeeper']);
    b.add(`${zk.dataDir}/myid`, valueFile(host.zkId ?? '?'), ['zookeeper'], {
      owner: 'zookeeper',
      group: 'zookeeper',
    });
    unit('zookeeper', { myid: host.zkId ?? '?', dataDir: zk.dataDir, image: spec.install.images.zookeeper });
  }

  if (!docker && (roles.has('master') || roles.has('agent'))) {
    b.add(MESOS_ZK_FILE, valueFile(topo.mesosZk), zkFeeds);
    b.add(MESOS_RUN, templates['mesos-run.sh'] ?? '', zkFeeds, { mode: 0o755 });
    const ssl = spec.security.ssl;
    const defaults: [string, string][] = [['ULIMIT', '-n 8192']];
    if (ssl !== undefined && ssl.enabled) {
      defaults.push(
        ['LIBPROCESS_SSL_ENABLED', 'true'],
        ['LIBPROCESS_SSL_CERT_FILE', ssl.certFile],
        ['LIBPROCESS_SSL_KEY_FILE', ssl.keyFile],
      );
      if (ssl.caFile !== undefined) defaults.push(['LIBPROCESS_SSL_CA_FILE', ssl.caFile]);
      defaults.push(['LIBPROCESS_SSL_REQUIRE_CERT', String(ssl.requireCert)]);
      const up = ssl.upload;
      if (up.cert !== undefined) b.add(ssl.certFile, asset(assets, up.cert, 'the certificate'), zkFeeds);
      if (up.ca !== undefined && ssl.caFile !== undefined)
        b.add(ssl.caFile, asset(assets, up.ca, 'the CA certificate'), zkFeeds);
      if (up.key !== undefined) {
        b.add(ssl.keyFile, secretPlaceholder([up.key]), zkFeeds, {
          mode: 0o600,
          sensitive: true,
          secret: { kind: 'raw', secret: up.key },
        });
      }
    }
    b.add(
      '/etc/default/mesos',
      `# ${MANAGED}\n# Sourced by the Mesos init wrapper for the master and the agent.\n${defaults.map(([k, v]) => `${k}=${shellQuote(v)}`).join('\n')}\n`,
      zkFeeds,
    );
  }

  if (roles.has('master')) {
    const flags = masterFlags(spec, topo, host);
    b.dir(str(flags, 'work_dir', DEFAULT_WORK_DIR), 'root', 0o755, true);
    b.dir(str(flags, 'log_dir', DEFAULT_LOG_DIR));
    if (docker) {
      b.add(
        '/etc/default/mesos-master',
        envFile('Docker --env-file of the mesos-master container: one MESOS_* variable per flag.', [
          ['MESOS_ZK', topo.mesosZk],
          ...[...flags].map(([k, v]) => [envName('MESOS_', k), v] as const),
        ]),
        ['mesos-master'],
      );
    } else {
      b.add(
        '/etc/default/mesos-master',
        `# ${MANAGED}\n# Sourced by the Mesos init wrapper; the flags are the files under /etc/mesos-master.\nZK="$(cat ${MESOS_ZK_FILE})"\n`,
        ['mesos-master'],
      );
      flagFiles(b, '/etc/mesos-master', flags, ['mesos-master']);
    }
    if (spec.security.credentials.length > 0) {
      const credentials = spec.security.credentials.map((c) => ({
        principal: c.principal,
        secret: c.secret,
      }));
      b.add(CREDENTIALS_FILE, secretPlaceholder(credentials.map((c) => c.secret)), ['mesos-master'], {
        mode: 0o600,
        sensitive: true,
        secret: { kind: 'mesos-credentials', credentials },
      });
    }
    if (spec.security.acls !== undefined) {
      b.add(ACLS_FILE, `${JSON.stringify(spec.security.acls, null, 2)}\n`, ['mesos-master'], { mode: 0o640 });
    }
    unit('mesos-master', {
      image: spec.install.images.mesosMaster,
      workDir: str(flags, 'work_dir', DEFAULT_WORK_DIR),
      logDir: str(flags, 'log_dir', DEFAULT_LOG_DIR),
    });
  }

  if (roles.has('marathon')) {
    const m = spec.marathon;
    const marathonFlags = sortedFlags([['hostname', host.privateAddress], ...Object.entries(m.flags)]);
    const cred = spec.security.marathonCredential;
    if (cred !== undefined) {
      marathonFlags.set('mesos_authentication', true);
      marathonFlags.set('mesos_authentication_principal', cred.principal);
      marathonFlags.set('mesos_authentication_secret_file', MARATHON_SECRET_FILE);
      b.add(MARATHON_SECRET_FILE, secretPlaceholder([cred.secret]), ['marathon'], {
        mode: 0o600,
        sensitive: true,
        secret: { kind: 'raw', secret: cred.secret },
      });
    }
    const sorted = sortedFlags(marathonFlags);
    if (docker) {
      b.add(
        '/etc/default/marathon',
        envFile('Docker --env-file of the marathon container: one MARATHON_* variable per flag.', [
          ['MARATHON_MASTER', topo.mesosZk],
          ['MARATHON_ZK', topo.marathonZk],
          ['JAVA_OPTS', m.javaOpts],
          ...[...sorted].map(([k, v]) => [envName('MARATHON_', k), v] as const),
        ]),
        ['marathon'],
      );
    } else {
      b.add(
        '/etc/default/marathon',
        `# ${MANAGED}\n# Read by Marathon from its environment; other flags are the files under /etc/marathon/conf.\n` +
          `MARATHON_MASTER=${shellQuote(topo.mesosZk)}\nMARATHON_ZK=${shellQuote(topo.marathonZk)}\nJAVA_OPTS=${shellQuote(m.javaOpts)}\n`,
        ['marathon'],
      );
      for (const [name, value] of sorted) {
        if (typeof value === 'boolean') {
          if (value) b.add(`/etc/marathon/conf/?${name}`, '', ['marathon']);
        } else b.add(`/etc/marathon/conf/${name}`, valueFile(value), ['marathon']);
      }
      b.add(MARATHON_RUN, templates['marathon-run.sh'] ?? '', ['marathon'], { mode: 0o755 });
    }
    unit('marathon', { image: spec.install.images.marathon });
  }

  if (roles.has('agent')) {
    const group = spec.agents.find((g) => g.group === host.agentGroup)!;
    const flags = agentFlags(spec, host);
    b.dir(str(flags, 'work_dir', DEFAULT_WORK_DIR), 'root', 0o755, true);
    b.dir(str(flags, 'log_dir', DEFAULT_LOG_DIR));
    if (docker) {
      const attributes = Object.entries(group.attributes).sort(([a], [b_]) => (a < b_ ? -1 : 1));
      const env: (readonly [string, FlagValue])[] = [
        ['MESOS_MASTER', topo.mesosZk],
        ...[...flags].map(([k, v]) => [envName('MESOS_', k), v] as const),
      ];
      if (attributes.length > 0)
        env.push(['MESOS_ATTRIBUTES', attributes.map(([k, v]) => `${k}:${v}`).join(';')]);
      if (group.resources.length > 0)
        env.push(['MESOS_RESOURCES', group.resources.map(([k, v]) => `${k}:${v}`).join(';')]);
      b.add(
        '/etc/default/mesos-slave',
        envFile(
          'Docker --env-file of the mesos-agent container: one MESOS_* variable per flag.',
          env.sort(([a], [b_]) => (a < b_ ? -1 : 1)),
        ),
        ['mesos-agent'],
      );
    } else {
      b.add(
        '/etc/default/mesos-slave',
        `# ${MANAGED}\n# Sourced by the Mesos init wrapper; the flags are the files under /etc/mesos-slave.\nMASTER="$(cat ${MESOS_ZK_FILE})"\n`,
        ['mesos-agent'],
      );
      flagFiles(b, '/etc/mesos-slave', flags, ['mesos-agent']);
      for (const [name, value] of Object.entries(group.attributes))
        b.add(`/etc/mesos-slave/attributes/${name}`, valueFile(value), ['mesos-agent']);
      for (const [name, value] of group.resources)
        b.add(`/etc/mesos-slave/resources/${name}`, valueFile(value), ['mesos-agent']);
    }
    const cred = spec.security.agentCredential;
    if (cred !== undefined) {
      b.add(AGENT_CREDENTIAL_FILE, secretPlaceholder([cred.secret]), ['mesos-agent'], {
        mode: 0o600,
        sensitive: true,
        secret: { kind: 'mesos-credential', principal: cred.principal, secret: cred.secret },
      });
    }
    agentState = {
      workDir: str(flags, 'work_dir', DEFAULT_WORK_DIR),
      additive: flags.get('reconfiguration_policy') === 'additive',
      ...(group.drain === undefined ? {} : { drain: group.drain }),
    };
    unit('mesos-agent', {
      group: group.group,
      image: spec.install.images.mesosAgent,
      workDir: str(flags, 'work_dir', DEFAULT_WORK_DIR),
      logDir: str(flags, 'log_dir', DEFAULT_LOG_DIR),
    });
  }

  const byPath = <T extends { path: string }>(a: T, c: T): number =>
    a.path < c.path ? -1 : a.path > c.path ? 1 : 0;
  const services: DesiredService[] = SERVICE_ORDER.filter((s) =>
    host.roles.some((r) => SERVICE_OF_ROLE[r] === s),
  ).map((name) => ({ name, unit: `${name}.service` }));
  return {
    host,
    files: [...b.files.values()].sort(byPath),
    directories: [...b.directories.values()].sort(byPath),
    services,
    software,
    ...(agentState === undefined ? {} : { agent: agentState }),
  };
}

/** Every file, directory, package and service every host must have. Pure: same spec, same bytes. */
export function renderDesiredState(
  spec: Spec,
  topology: Topology,
  templates: Templates,
  assets: Assets = NO_ASSETS,
): DesiredState {
  return { topology, hosts: topology.hosts.map((h) => renderHost(spec, topology, h, templates, assets)) };
}
