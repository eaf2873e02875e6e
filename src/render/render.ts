// The desired state of every host. The pieces: paths.ts (where files go), host-builder.ts,
// service-config.ts (zoo.cfg and flags), software.ts (packages, repositories, archive, images).
import { renderAddon } from '../addons/render.js';
import type { Topology, TopologyHost } from '../model/topology.js';
import type { FlagValue, Spec } from '../spec/types.js';
import { shellQuote } from '../util/shell.js';
import {
  asset,
  envFile,
  flagFiles,
  HostBuilder,
  secretPlaceholder,
  sortedFlags,
  str,
} from './host-builder.js';
import {
  ACLS_FILE,
  AGENT_CREDENTIAL_FILE,
  CREDENTIALS_FILE,
  DEFAULT_LOG_DIR,
  DEFAULT_WORK_DIR,
  MARATHON_RUN,
  MARATHON_SECRET_FILE,
  MESOS_RUN,
  MESOS_ZK_FILE,
  UNIT_DIR,
  ZK_CONF,
} from './paths.js';
import { agentFlags, masterFlags, unitEnvironment, zooCfg } from './service-config.js';
import { repositoryFiles, softwareOf } from './software.js';
import { envName, fill, MANAGED, valueFile } from './text.js';
import { SERVICE_OF_ROLE, SERVICE_ORDER } from './types.js';
import { NO_ASSETS } from './types.js';
import type {
  Assets,
  DesiredService,
  DesiredState,
  HostDesiredState,
  ServiceName,
  Templates,
} from './types.js';

export {
  ACLS_FILE,
  AGENT_CREDENTIAL_FILE,
  CREDENTIALS_FILE,
  DEFAULT_LOG_DIR,
  DEFAULT_WORK_DIR,
  MARATHON_RUN,
  MARATHON_SECRET_FILE,
  MESOS_RUN,
  MESOS_ZK_FILE,
  servicesReading,
  WRAPPER_DIR,
  ZK_CONF,
} from './paths.js';
export { executorEnvironment } from './service-config.js';

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

  const services: DesiredService[] = SERVICE_ORDER.filter((s) =>
    host.roles.some((r) => SERVICE_OF_ROLE[r] === s),
  ).map((name) => ({ name, unit: `${name}.service` }));
  // Add-ons, in spec order: their files feed their own service only.
  for (const addon of spec.addons) {
    const a = renderAddon(spec, topo, host, addon, assets);
    if (a === undefined) continue;
    for (const f of a.files)
      b.add(f.path, f.content, [a.service.name], { mode: f.mode, owner: f.owner, group: f.group });
    for (const d of a.directories) b.dir(d.path, d.owner, d.mode, d.data);
    software.push(...a.software);
    services.push(a.service);
  }
  const byPath = <T extends { path: string }>(a: T, c: T): number =>
    a.path < c.path ? -1 : a.path > c.path ? 1 : 0;
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
