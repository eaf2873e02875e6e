// An add-on on one host: its files, directories, unit, software and service, as the core's are.
import type { Topology, TopologyHost } from '../model/topology.js';
import { MANAGED } from '../render/text.js';
import type { Assets, DesiredService, DesiredSoftware } from '../render/types.js';
import type { Spec } from '../spec/types.js';
import { PRESETS } from './presets/index.js';
import type { AddonContext, AddonFile, AddonRender, AddonSpec } from './types.js';
import { dockerUnit, environmentFile, systemdWord, unitText } from './unit.js';
import { addonHosts, clusterValues, fillTemplate } from './values.js';

export const UNIT_DIR = '/etc/systemd/system';
export const addonUnitPath = (name: string): string => `${UNIT_DIR}/${name}.service`;
export const addonEnvPath = (name: string): string => `/etc/default/${name}`;

export { addonHosts } from './values.js';

/** The core unit an add-on's unit starts after, by its `after`. */
const AFTER_UNIT: Readonly<Record<AddonSpec['after'], string>> = {
  zookeeper: 'zookeeper.service',
  masters: 'mesos-master.service',
  marathon: 'marathon.service',
  agents: 'mesos-agent.service',
};

const flagWords = (addon: AddonSpec): string[] =>
  Object.keys(addon.flags)
    .sort()
    .map((k) => systemdWord(`--${k}=${String(addon.flags[k])}`));

/** A generic add-on (no preset): the spec's config files, its environment and a unit running `command`. */
function renderGeneric(ctx: AddonContext): AddonRender {
  const { addon, topology } = ctx;
  const envFile = addonEnvPath(addon.name);
  // docker run --env-file needs the file even when it is empty.
  const image = addon.install.kind === 'image';
  const header = image
    ? `Docker --env-file of add-on ${addon.name}.`
    : `The environment of add-on ${addon.name}.`;
  const files =
    image || Object.keys(addon.env).length > 0
      ? [{ path: envFile, content: environmentFile(header, addon.env) }]
      : [];
  const after = [AFTER_UNIT[addon.after]];
  const description = addon.name;
  if (addon.install.kind === 'image') {
    const mounts = [...new Set(addon.config.map((f) => f.path.replace(/\/[^/]+$/, '') || '/'))]
      .sort()
      .map((d) => [d, d] as const);
    return {
      files,
      unit: dockerUnit({
        name: addon.name,
        cluster: topology.cluster,
        description,
        image: addon.install.ref,
        envFile,
        mounts,
        args: [...(addon.command === undefined ? [] : [addon.command]), ...flagWords(addon)],
        after,
      }),
    };
  }
  return {
    files,
    unit: unitText({
      name: addon.name,
      cluster: topology.cluster,
      description,
      after,
      user: addon.user,
      environmentFile: envFile,
      execStart: [addon.command ?? '/bin/false', ...flagWords(addon)].join(' '),
      ...(addon.reload ? { execReload: '/bin/kill -HUP $MAINPID' } : {}),
    }),
  };
}

export interface AddonOnHost {
  files: { path: string; content: string; mode: number; owner: string; group: string }[];
  directories: { path: string; owner: string; mode: number; data: boolean }[];
  software: DesiredSoftware[];
  service: DesiredService;
}

/** What one add-on puts on one host; undefined when it does not run there. */
export function renderAddon(
  spec: Spec,
  topology: Topology,
  host: TopologyHost,
  addon: AddonSpec,
  assets: Assets,
): AddonOnHost | undefined {
  const hosts = addonHosts(spec, topology, addon.on);
  if (!hosts.some((h) => h.name === host.name)) return undefined;
  const ctx: AddonContext = { spec, topology, addon, host, hosts };
  const preset = addon.preset === undefined ? undefined : PRESETS.get(addon.preset);
  const r = preset === undefined ? renderGeneric(ctx) : preset.render(ctx);
  const values = clusterValues(spec, topology, host);
  // The spec's config files, templates filled; they win over a preset's file of the same path.
  const own = addon.config.map((f): AddonFile => ({
    path: f.path,
    content: f.template ? fillTemplate(f.content, values) : f.content,
    mode: f.mode,
  }));
  const files = [...r.files.filter((f) => !own.some((o) => o.path === f.path)), ...own].map((f) => ({
    path: f.path,
    content: f.content,
    mode: f.mode ?? 0o644,
    owner: f.owner ?? 'root',
    group: f.group ?? f.owner ?? 'root',
  }));
  files.push({
    path: addonUnitPath(addon.name),
    content: r.unit.startsWith('#') ? r.unit : `# ${MANAGED}\n${r.unit}`,
    mode: 0o644,
    owner: 'root',
    group: 'root',
  });
  const feeds = [addon.name];
  const software: DesiredSoftware[] = [];
  const ins = addon.install;
  if (ins.kind === 'package') {
    const manager =
      spec.install.method === 'apt' || spec.install.method === 'yum' ? spec.install.method : 'os';
    software.push({
      kind: 'package',
      manager,
      name: ins.name,
      component: 'extra',
      version: ins.version,
      feeds,
    });
  } else if (ins.kind === 'archive') {
    const a = assets.addonArchives?.get(addon.name);
    software.push({
      kind: 'archive',
      prefix: ins.prefix,
      sha256: a?.sha256 ?? ins.sha256,
      source: a?.path ?? ins.path,
      feeds,
    });
  } else if (ins.kind === 'image') software.push({ kind: 'image', ref: ins.ref, feeds });
  return {
    files,
    directories: (r.directories ?? []).map((d) => ({ ...d })),
    software,
    service: {
      name: addon.name,
      unit: `${addon.name}.service`,
      addon: {
        order: spec.addons.indexOf(addon),
        after: addon.after,
        maxUnavailable: addon.maxUnavailable,
        reload: addon.reload,
        ...(addon.health === undefined ? {} : { health: addon.health }),
        ...(addon.quorum === undefined ? {} : { quorum: addon.quorum }),
      },
    },
  };
}
