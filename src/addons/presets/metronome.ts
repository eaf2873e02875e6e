// Metronome (cron on Mesos) on the masters, its state in ZooKeeper next to Marathon's. The image tag
// is a pin the operator overrides with `image:`; an `archive:` runs <prefix>/bin/metronome instead.
import { MANAGED } from '../../render/text.js';
import { err, warn } from '../../spec/rule-helpers.js';
import { dockerUnit, systemdWord, unitText } from '../unit.js';
import type { AddonContext, AddonRender, AddonSpec, Preset, PresetDefaults } from '../types.js';
import {
  checkInstall,
  checkPorts,
  checkString,
  envFile,
  envPath,
  flagWords,
  needsMarathon,
  portOption,
  quoted,
  stringOption,
  unlessReplaced,
} from './image-common.js';

export const METRONOME_IMAGE = 'mesosphere/metronome:v0.6.33';
export const METRONOME_CONF = '/etc/metronome/application.conf';
const NAME = /^[A-Za-z0-9_.-]+$/;

type Options = Readonly<Record<string, unknown>>;
const settings = (o: Options) => ({
  port: portOption(o, 'port', 9000),
  // Play starts HTTPS too (a generated certificate): pinned so that the port is known and checked.
  httpsPort: portOption(o, 'httpsPort', 9443),
  frameworkName: stringOption(o, 'frameworkName', 'metronome'),
});

/**
 * application.conf: the bundled one first (it names Play's application loader), then the cluster's
 * settings over it. Read through -Dconfig.file, which replaces the bundled file unless included.
 */
export function metronomeConf(ctx: AddonContext): string {
  const s = settings(ctx.addon.options);
  const t = ctx.topology;
  return [
    `# ${MANAGED}`,
    `# Metronome for cluster ${t.cluster} (meso add-on ${ctx.addon.name}): its defaults, then these.`,
    'include classpath("application.conf")',
    '',
    `metronome.framework.name = ${quoted(s.frameworkName)}`,
    `metronome.zk.url = ${quoted(`zk://${t.zkHosts}/metronome`)}`,
    `metronome.mesos.master.url = ${quoted(t.mesosZk)}`,
    // Leader election and proxying to the leader use this name: the address the others reach.
    `metronome.leader.election.hostname = ${quoted(ctx.host.privateAddress)}`,
    `play.server.http.port = ${s.port}`,
    `play.server.https.port = ${s.httpsPort}`,
    '',
  ].join('\n');
}

function unit(addon: AddonSpec, cluster: string): string {
  // flags: are Java system properties (`metronome.history.count: 20` -> -Dmetronome.history.count=20).
  const args = flagWords(addon.flags, '-D').map(systemdWord);
  const description = 'Metronome job scheduler';
  if (addon.install.kind === 'image')
    return dockerUnit({
      name: addon.name,
      cluster,
      description,
      image: addon.install.ref,
      envFile: envPath(addon),
      mounts: [['/etc/metronome', '/etc/metronome']],
      args,
    });
  const bin =
    addon.install.kind === 'archive' ? `${addon.install.prefix}/bin/metronome` : '/usr/bin/metronome';
  return unitText({
    name: addon.name,
    cluster,
    description,
    user: addon.user,
    environmentFile: envPath(addon),
    execStart: [systemdWord(bin), ...args].join(' '),
    service: ['LimitNOFILE=65536'],
  });
}

export const metronome: Preset = {
  name: 'metronome',
  summary: 'Metronome (scheduled jobs on Mesos) on the masters, state in ZooKeeper (image or archive)',
  options: ['port', 'httpsPort', 'frameworkName'],
  defaults(options): PresetDefaults {
    const s = settings(options);
    return {
      install: { kind: 'image', ref: METRONOME_IMAGE },
      on: { kind: 'masters' },
      after: 'marathon',
      ports: [
        { port: s.port, protocol: 'tcp', public: false, balancer: false },
        { port: s.httpsPort, protocol: 'tcp', public: false, balancer: false },
      ],
      health: { kind: 'http', port: s.port, path: '/ping' },
      // The start script passes JAVA_OPTS to the JVM.
      env: { JAVA_OPTS: `-Dconfig.file=${METRONOME_CONF}` },
    };
  },
  check(addon, spec) {
    const s = settings(addon.options);
    return [
      ...needsMarathon(addon, spec),
      ...checkInstall(
        addon,
        ['image', 'archive'],
        `use image: (default ${METRONOME_IMAGE}), or archive: with sha256:`,
      ),
      ...checkPorts(addon, ['port', 'httpsPort']),
      ...(s.port === s.httpsPort
        ? [err(['httpsPort'], `httpsPort ${s.httpsPort} is also the HTTP port`, 'e.g. httpsPort: 9443')]
        : []),
      ...checkString(addon, 'frameworkName', NAME, 'metronome'),
      ...(spec.security.authenticateFrameworks
        ? [
            warn(
              ['preset'],
              'the masters require framework authentication; Metronome registers without credentials by default',
              `set metronome.mesos.authentication.* in ${METRONOME_CONF} (config:) or as flags:`,
            ),
          ]
        : []),
    ];
  },
  render(ctx): AddonRender {
    const { addon } = ctx;
    return {
      files: [
        ...unlessReplaced(addon, { path: METRONOME_CONF, content: metronomeConf(ctx), mode: 0o644 }),
        // libprocess binds and advertises this address (not what the host name resolves to).
        envFile(addon, { LIBPROCESS_IP: ctx.host.privateAddress }),
      ],
      directories: [{ path: '/etc/metronome', owner: 'root', mode: 0o755, data: false }],
      unit: unit(addon, ctx.topology.cluster),
    };
  },
};
