// Traefik 1.7 on the public agents, routing <app>.<domain> to Marathon's apps (the Mesos cookbook's
// proxy). 1.7 is the last Traefik line with the Marathon provider; the image tag is a pin.
import { MANAGED } from '../../render/text.js';
import { dockerUnit, systemdWord, unitText } from '../unit.js';
import { clusterValues } from '../values.js';
import type { AddonContext, AddonRender, AddonSpec, Preset, PresetDefaults } from '../types.js';
import {
  boolOption,
  checkBool,
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
import { err } from '../../spec/rule-helpers.js';

export const TRAEFIK_IMAGE = 'traefik:v1.7.34';
export const TRAEFIK_TOML = '/etc/traefik/traefik.toml';
const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

type Options = Readonly<Record<string, unknown>>;
const settings = (o: Options) => ({
  port: portOption(o, 'port', 80),
  // Not 8080: Marathon may share the host.
  apiPort: portOption(o, 'apiPort', 8081),
  domain: stringOption(o, 'domain', 'marathon'),
  exposedByDefault: boolOption(o, 'exposedByDefault', true),
});

/** traefik.toml: the http entry point, the API (and /ping) on its own port, the Marathon provider. */
export function traefikToml(ctx: AddonContext): string {
  const s = settings(ctx.addon.options);
  const endpoint = clusterValues(ctx.spec, ctx.topology, ctx.host)['marathon_urls'] ?? '';
  return [
    `# ${MANAGED}`,
    `# Traefik for the apps of Marathon: <app>.${s.domain} on port ${s.port} (meso add-on ${ctx.addon.name}).`,
    'defaultEntryPoints = ["http"]',
    '',
    '[entryPoints]',
    '  [entryPoints.http]',
    `  address = ":${s.port}"`,
    '  [entryPoints.traefik]',
    `  address = ":${s.apiPort}"`,
    '',
    '[api]',
    'entryPoint = "traefik"',
    'dashboard = true',
    '',
    '# GET /ping on the API port answers OK: the health check.',
    '[ping]',
    'entryPoint = "traefik"',
    '',
    '[marathon]',
    `endpoint = ${quoted(endpoint)}`,
    'watch = true',
    `domain = ${quoted(s.domain)}`,
    `exposedByDefault = ${s.exposedByDefault}`,
    '',
  ].join('\n');
}

function unit(addon: AddonSpec, cluster: string): string {
  const args = [`--configfile=${TRAEFIK_TOML}`, ...flagWords(addon.flags, '--')].map(systemdWord);
  const description = 'Traefik proxy for Marathon apps';
  if (addon.install.kind === 'image')
    return dockerUnit({
      name: addon.name,
      cluster,
      description,
      image: addon.install.ref,
      envFile: envPath(addon),
      mounts: [['/etc/traefik', '/etc/traefik']],
      args,
    });
  // An archive (the generic archive:/sha256:/prefix: fields) holds the traefik binary at its top.
  const bin = addon.install.kind === 'archive' ? `${addon.install.prefix}/traefik` : '/usr/bin/traefik';
  return unitText({
    name: addon.name,
    cluster,
    description,
    user: addon.user,
    environmentFile: envPath(addon),
    execStart: [systemdWord(bin), ...args].join(' '),
    service: [
      'LimitNOFILE=65536',
      ...(addon.user === 'root' ? [] : ['AmbientCapabilities=CAP_NET_BIND_SERVICE']),
    ],
  });
}

export const traefik: Preset = {
  name: 'traefik',
  summary: 'Traefik 1.7 on the public agents, routing <app>.marathon to Marathon apps (image or archive)',
  options: ['port', 'apiPort', 'domain', 'exposedByDefault'],
  defaults(options): PresetDefaults {
    const s = settings(options);
    return {
      install: { kind: 'image', ref: TRAEFIK_IMAGE },
      on: { kind: 'publicAgents' },
      after: 'marathon',
      ports: [
        { port: s.port, protocol: 'tcp', public: false, balancer: false },
        { port: s.apiPort, protocol: 'tcp', public: false, balancer: false },
      ],
      health: { kind: 'http', port: s.apiPort, path: '/ping' },
    };
  },
  check(addon, spec) {
    const s = settings(addon.options);
    return [
      ...needsMarathon(addon, spec),
      ...checkInstall(
        addon,
        ['image', 'archive'],
        'use image: traefik:v1.7.x, or archive: with sha256: (a tarball with the traefik binary at its top)',
      ),
      ...checkPorts(addon, ['port', 'apiPort']),
      ...(s.port === s.apiPort
        ? [
            err(
              ['apiPort'],
              `apiPort ${s.apiPort} is also the proxy's port`,
              'give the API another port, e.g. 8081',
            ),
          ]
        : []),
      ...checkString(addon, 'domain', DOMAIN, 'marathon'),
      ...checkBool(addon, 'exposedByDefault'),
    ];
  },
  render(ctx): AddonRender {
    const { addon } = ctx;
    return {
      files: [
        ...unlessReplaced(addon, { path: TRAEFIK_TOML, content: traefikToml(ctx), mode: 0o644 }),
        envFile(addon),
      ],
      directories: [{ path: '/etc/traefik', owner: 'root', mode: 0o755, data: false }],
      unit: unit(addon, ctx.topology.cluster),
    };
  },
};
