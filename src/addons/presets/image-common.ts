// What the image/archive presets (traefik, marathon-lb, metronome) share: reading their options,
// the Marathon check, and the env file their units read (port helpers are common.ts'). Pure.
import type { Diagnostic } from '../../spec/diagnostics.js';
import { err } from '../../spec/rule-helpers.js';
import type { Spec } from '../../spec/types.js';
import { environmentFile } from '../unit.js';
import type { AddonFile, AddonInstall, AddonSpec } from '../types.js';
import { isPort } from './common.js';

type Options = Readonly<Record<string, unknown>>;

export { portOption } from './common.js';

export const stringOption = (o: Options, key: string, fallback: string): string => {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : fallback;
};

export const boolOption = (o: Options, key: string, fallback: boolean): boolean => {
  const v = o[key];
  return typeof v === 'boolean' ? v : fallback;
};

/** Errors for port options that are set but are not ports. */
export function checkPorts(addon: AddonSpec, keys: readonly string[]): Diagnostic[] {
  return keys.flatMap((k) => {
    const v = addon.options[k];
    return v === undefined || isPort(v)
      ? []
      : [err([k], `${k}: ${JSON.stringify(v)} is not a port`, 'use 1-65535')];
  });
}

/** Errors for options that must be one line of `pattern`. */
export function checkString(addon: AddonSpec, key: string, pattern: RegExp, example: string): Diagnostic[] {
  const v = addon.options[key];
  if (v === undefined) return [];
  return typeof v === 'string' && pattern.test(v)
    ? []
    : [err([key], `${key}: ${JSON.stringify(v)} is not allowed here`, `e.g. ${key}: ${example}`)];
}

export function checkBool(addon: AddonSpec, key: string): Diagnostic[] {
  const v = addon.options[key];
  return v === undefined || typeof v === 'boolean'
    ? []
    : [err([key], `${key}: ${JSON.stringify(v)} is not true or false`, `use ${key}: true or false`)];
}

/** The presets that follow Marathon need it running in this cluster. */
export function needsMarathon(addon: AddonSpec, spec: Spec): Diagnostic[] {
  if (spec.marathon.enabled) return [];
  return [
    err(
      ['preset'],
      `${addon.preset ?? addon.name} reads its apps from Marathon, which this cluster does not run`,
      'enable Marathon (marathon.enabled: true), or remove this add-on',
    ),
  ];
}

/** An install method the preset cannot run from. */
export function checkInstall(
  addon: AddonSpec,
  allowed: readonly AddonInstall['kind'][],
  fix: string,
): Diagnostic[] {
  if (allowed.includes(addon.install.kind)) return [];
  const at =
    addon.install.kind === 'package' ? 'package' : addon.install.kind === 'archive' ? 'archive' : 'preset';
  return [err([at], `${addon.preset ?? addon.name} cannot be installed as ${addon.install.kind}`, fix)];
}

export const envPath = (addon: AddonSpec): string => `/etc/default/${addon.name}`;

/**
 * The unit's EnvironmentFile (docker's --env-file too): the add-on's env, then what the preset sets
 * for this host. Always written, since `docker run --env-file` fails on a missing file.
 */
export function envFile(addon: AddonSpec, extra: Readonly<Record<string, string>> = {}): AddonFile {
  return {
    path: envPath(addon),
    content: environmentFile(`Environment of the ${addon.name} add-on.`, { ...addon.env, ...extra }),
    mode: 0o644,
  };
}

/** The preset's config file, unless the spec's `config:` replaces that path (then it is the spec's). */
export const unlessReplaced = (addon: AddonSpec, file: AddonFile): AddonFile[] =>
  addon.config.some((c) => c.path === file.path) ? [] : [file];

/** TOML/HOCON basic string: quotes and backslashes escaped (values are one line: validated). */
export const quoted = (v: string): string => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** `flags:` as program arguments, `<prefix>name=value`, in the order written. */
export const flagWords = (flags: AddonSpec['flags'], prefix: string): string[] =>
  Object.entries(flags).map(([k, v]) => `${prefix}${k}=${String(v)}`);
