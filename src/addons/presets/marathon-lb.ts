// marathon-lb on the public agents: HAProxy configured from Marathon's event stream, serving the apps
// whose HAPROXY_GROUP is the preset's group. Runs from its pinned image only (a Python program with
// its own HAProxy and runit inside).
import { err } from '../../spec/rule-helpers.js';
import { dockerUnit, systemdWord } from '../unit.js';
import { clusterValues } from '../values.js';
import type { AddonRender, Preset, PresetDefaults } from '../types.js';
import {
  checkInstall,
  checkString,
  envFile,
  envPath,
  flagWords,
  needsMarathon,
  stringOption,
} from './image-common.js';

export const MARATHON_LB_IMAGE = 'mesosphere/marathon-lb:v1.15.0';
/** HAProxy's stats port, where marathon-lb answers its health check. */
export const STATS_PORT = 9090;
const GROUP = /^[A-Za-z0-9_.-]+$/;

type Options = Readonly<Record<string, unknown>>;
const group = (o: Options): string => stringOption(o, 'group', 'external');

export const marathonLb: Preset = {
  name: 'marathon-lb',
  summary: "marathon-lb (HAProxy fed by Marathon's events) on the public agents, from its pinned image",
  options: ['group'],
  defaults(): PresetDefaults {
    return {
      install: { kind: 'image', ref: MARATHON_LB_IMAGE },
      on: { kind: 'publicAgents' },
      after: 'marathon',
      // http, https, HAProxy's stats (and health), and the zero-downtime deployment's port.
      ports: [80, 443, STATS_PORT, 9091].map((port) => ({
        port,
        protocol: 'tcp',
        public: false,
        balancer: false,
      })),
      health: { kind: 'http', port: STATS_PORT, path: '/_haproxy_health_check' },
      // The image's run script refuses to start without PORTS (the ports HAProxy binds for itself).
      env: { PORTS: String(STATS_PORT) },
    };
  },
  check(addon, spec) {
    return [
      ...needsMarathon(addon, spec),
      ...checkInstall(addon, ['image'], `use image: (default ${MARATHON_LB_IMAGE})`),
      ...checkString(addon, 'group', GROUP, 'external'),
      ...(addon.env['PORTS'] === ''
        ? [err(['env', 'PORTS'], 'marathon-lb needs PORTS (the ports HAProxy binds)', 'e.g. PORTS: "9090"')]
        : []),
    ];
  },
  render(ctx): AddonRender {
    const { addon } = ctx;
    const marathons = (clusterValues(ctx.spec, ctx.topology, ctx.host)['marathon_urls'] ?? '')
      .split(',')
      .filter((u) => u !== '');
    // --marathon takes several URLs: it follows whichever Marathon answers.
    const args = [
      'sse',
      '--marathon',
      ...marathons,
      '--group',
      group(addon.options),
      '--health-check',
      ...flagWords(addon.flags, '--'),
    ].map(systemdWord);
    return {
      files: [envFile(addon)],
      unit: dockerUnit({
        name: addon.name,
        cluster: ctx.topology.cluster,
        description: 'marathon-lb (HAProxy for Marathon apps)',
        image: addon.install.kind === 'image' ? addon.install.ref : MARATHON_LB_IMAGE,
        envFile: envPath(addon),
        mounts: [],
        args,
      }),
    };
  },
};
