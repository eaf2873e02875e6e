// `addons:` as written -> AddonSpec[]: the generic fields, then the preset's defaults under them.
import type { Flags } from '../spec/types.js';
import { PRESETS } from './presets/index.js';
import { ADDON_AFTER } from './types.js';
import type {
  AddonAfter,
  AddonConfigFile,
  AddonHealth,
  AddonInstall,
  AddonOn,
  AddonPort,
  AddonSpec,
} from './types.js';

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});

/** The generic fields of an add-on entry; anything else is a preset's option. */
export const GENERIC_FIELDS = [
  'name',
  'preset',
  'on',
  'package',
  'version',
  'archive',
  'sha256',
  'prefix',
  'image',
  'command',
  'user',
  'config',
  'flags',
  'env',
  'ports',
  'health',
  'after',
  'maxUnavailable',
  'reload',
] as const;

export function addonOn(v: unknown): AddonOn | undefined {
  if (Array.isArray(v)) return { kind: 'hosts', hosts: v.map(String) };
  if (typeof v !== 'string') return undefined;
  if (v === 'masters' || v === 'publicAgents' || v === 'agents') return { kind: v };
  return { kind: 'group', group: v };
}

function install(raw: Raw): AddonInstall | undefined {
  if (typeof raw['package'] === 'string')
    return {
      kind: 'package',
      name: raw['package'],
      version: typeof raw['version'] === 'string' ? raw['version'] : undefined,
    };
  if (typeof raw['archive'] === 'string')
    return {
      kind: 'archive',
      path: raw['archive'],
      sha256: typeof raw['sha256'] === 'string' ? raw['sha256'].toLowerCase() : '',
      prefix:
        typeof raw['prefix'] === 'string'
          ? raw['prefix']
          : `/opt/meso-addons/${typeof raw['name'] === 'string' ? raw['name'] : String(raw['preset'])}`,
    };
  if (typeof raw['image'] === 'string') return { kind: 'image', ref: raw['image'] };
  return undefined;
}

/** `8080`, `"53/udp"` or `{ port, protocol, public, balancer }`. */
export function addonPort(v: unknown): AddonPort | undefined {
  if (typeof v === 'number') return { port: v, protocol: 'tcp', public: false, balancer: false };
  if (typeof v === 'string') {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(v);
    return m === null
      ? undefined
      : { port: Number(m[1]), protocol: (m[2] ?? 'tcp') as 'tcp' | 'udp', public: false, balancer: false };
  }
  const r = obj(v);
  if (typeof r['port'] !== 'number') return undefined;
  return {
    port: r['port'],
    protocol: r['protocol'] === 'udp' ? 'udp' : 'tcp',
    public: r['public'] === true,
    balancer: r['balancer'] === true,
  };
}

/** `{ http: /path, port }`, `{ http: { path, port } }`, `{ tcp: port }` or `{ tcp: { port } }`. */
export function addonHealth(v: unknown): AddonHealth | undefined {
  const r = obj(v);
  if (r['tcp'] !== undefined) {
    const port = typeof r['tcp'] === 'number' ? r['tcp'] : obj(r['tcp'])['port'];
    return typeof port === 'number' ? { kind: 'tcp', port } : undefined;
  }
  if (r['http'] !== undefined) {
    const h = typeof r['http'] === 'string' ? { path: r['http'], port: r['port'] } : obj(r['http']);
    const path = typeof h['path'] === 'string' ? h['path'] : '/';
    return typeof h['port'] === 'number' ? { kind: 'http', port: h['port'], path } : undefined;
  }
  return undefined;
}

function config(v: unknown): AddonConfigFile[] {
  return Object.entries(obj(v))
    .map(([path, c]): AddonConfigFile => {
      if (typeof c === 'string') return { path, content: c, template: false, mode: 0o644 };
      const r = obj(c);
      const template = typeof r['template'] === 'string';
      const content = template ? r['template'] : r['content'];
      const mode = typeof r['mode'] === 'string' ? parseInt(r['mode'], 8) : 0o644;
      return { path, content: typeof content === 'string' ? content : '', template, mode };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function scalars(v: unknown): Flags {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, x] of Object.entries(obj(v)))
    if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = x;
  return out;
}

/** One entry of `addons:`; an unknown preset keeps the generic defaults (validate reports it). */
export function normalizeAddon(raw: Raw): AddonSpec {
  const presetName = typeof raw['preset'] === 'string' ? raw['preset'] : undefined;
  const preset = presetName === undefined ? undefined : PRESETS.get(presetName);
  const options = Object.fromEntries(
    Object.entries(raw).filter(([k]) => !(GENERIC_FIELDS as readonly string[]).includes(k)),
  );
  const d = preset?.defaults(options) ?? {};
  const has = (k: string): boolean => raw[k] !== undefined;
  const after = ADDON_AFTER.includes(raw['after'] as AddonAfter) ? (raw['after'] as AddonAfter) : undefined;
  const health = has('health') ? addonHealth(raw['health']) : d.health;
  const written = config(raw['config']);
  const ports = Array.isArray(raw['ports'])
    ? raw['ports'].map(addonPort).filter((p): p is AddonPort => p !== undefined)
    : (d.ports ?? []);
  return {
    name: typeof raw['name'] === 'string' ? raw['name'] : (presetName ?? ''),
    preset: presetName,
    on: addonOn(raw['on']) ?? d.on ?? { kind: 'agents' },
    install: install(raw) ?? d.install ?? { kind: 'none' },
    command: typeof raw['command'] === 'string' ? raw['command'] : d.command,
    user: typeof raw['user'] === 'string' ? raw['user'] : (d.user ?? 'root'),
    // A preset's own config files stay; the spec's are added (a same path replaces the preset's).
    config: [...(d.config ?? []).filter((f) => !written.some((c) => c.path === f.path)), ...written].sort(
      (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    ),
    flags: { ...(d.flags ?? {}), ...scalars(raw['flags']) },
    env: Object.fromEntries(
      Object.entries({ ...(d.env ?? {}), ...scalars(raw['env']) }).map(([k, v]) => [k, String(v)]),
    ),
    ports,
    health,
    after: after ?? d.after ?? 'agents',
    maxUnavailable:
      typeof raw['maxUnavailable'] === 'number' || typeof raw['maxUnavailable'] === 'string'
        ? raw['maxUnavailable']
        : (d.maxUnavailable ?? 1),
    reload: typeof raw['reload'] === 'boolean' ? raw['reload'] : (d.reload ?? false),
    quorum: d.quorum,
    options,
  };
}

export function normalizeAddons(v: unknown): AddonSpec[] {
  return Array.isArray(v) ? v.map((x) => normalizeAddon(obj(x))) : [];
}
