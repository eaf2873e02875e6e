import type { FileFingerprint } from '../plan/types.js';
import { scriptCommand } from '../util/shell.js';

/** What is at a path: a regular file, a symlink, a directory, something else, or nothing. */
export type PathType = 'file' | 'symlink' | 'directory' | 'other' | 'missing';

export interface ObservedPath {
  type: PathType;
  /** For regular files. */
  fingerprint?: FileFingerprint;
}

export interface UnitState {
  loaded: boolean;
  enabled: string;
  active: string;
}

export type ZkMode = 'leader' | 'follower' | 'standalone' | 'observer' | 'down';

export interface Observation {
  paths: Map<string, ObservedPath>;
  units: Map<string, UnitState>;
  zkMode: ZkMode | undefined;
  facts: Map<string, string>;
  /** By `package:<name>`, `archive:<prefix>`, `image:<ref>`: version (sha256, id) or null. */
  software: Map<string, { version: string | null; held: boolean }>;
}

export interface ObserveRequest {
  paths: readonly string[];
  units: readonly string[];
  zkPort?: number;
  packages?: readonly string[];
  /** Whose package database to ask: yum hosts may have dpkg too. */
  packageManager?: 'apt' | 'yum';
  archives?: readonly string[];
  images?: readonly string[];
}

/** The command that runs the observe script (fixed text: the script itself, quoted). */
export function observeCommand(script: string): string {
  return scriptCommand(script, 'meso-observe');
}

/** The script's stdin: one tab-separated line per thing to look at. */
export function observeInput(req: ObserveRequest): string {
  const lines = [
    ...req.paths.map((p) => `F\t${p}`),
    ...req.units.map((u) => `U\t${u}`),
    ...(req.zkPort === undefined ? [] : [`Z\t${req.zkPort}`]),
    ...(req.packageManager === undefined ? [] : [`M\t${req.packageManager}`]),
    ...(req.packages ?? []).map((p) => `P\t${p}`),
    ...(req.archives ?? []).map((a) => `A\t${a}`),
    ...(req.images ?? []).map((i) => `D\t${i}`),
  ];
  for (const l of lines) {
    if (/[\n\r\0]/.test(l) || l.split('\t').length !== 2)
      throw new Error(`cannot observe ${JSON.stringify(l)}`);
  }
  return `${lines.join('\n')}\n`;
}

const TYPES: Readonly<Record<string, PathType>> = {
  f: 'file',
  l: 'symlink',
  d: 'directory',
  o: 'other',
  '-': 'missing',
};
const ZK_MODES = new Set(['leader', 'follower', 'standalone', 'observer', 'down']);

/**
 * Read the script's answer. An answer without its closing `E done` line was cut short (the
 * connection dropped, the host ran out of something) and is rejected rather than half-trusted.
 */
export function parseObservation(stdout: string): Observation {
  const obs: Observation = {
    paths: new Map(),
    units: new Map(),
    zkMode: undefined,
    facts: new Map(),
    software: new Map(),
  };
  let done = false;
  let unit: Record<string, string> = {};
  const flushUnit = (): void => {
    const id = unit['Id'];
    if (id !== undefined && id !== '') {
      obs.units.set(id, {
        loaded: unit['LoadState'] === 'loaded',
        enabled: unit['UnitFileState'] ?? '',
        active: unit['ActiveState'] ?? 'unknown',
      });
    }
    unit = {};
  };
  for (const line of stdout.split('\n')) {
    const [kind, ...rest] = line.split('\t');
    if (kind === 'F') {
      const [path, t, sha256, owner, group, mode] = rest;
      const type = TYPES[t ?? ''];
      if (path === undefined || type === undefined) throw new Error(`bad observation line: ${line}`);
      const entry: ObservedPath = { type };
      if (
        type === 'file' &&
        sha256 !== undefined &&
        owner !== undefined &&
        group !== undefined &&
        mode !== undefined
      ) {
        entry.fingerprint = { sha256, owner, group, mode: parseInt(mode, 8) };
      }
      obs.paths.set(path, entry);
    } else if (kind === 'S') {
      const text = rest.join('\t');
      if (text === '') flushUnit();
      else {
        const eq = text.indexOf('=');
        if (eq > 0) unit[text.slice(0, eq)] = text.slice(eq + 1);
      }
    } else if (kind === 'Z') {
      const mode = rest[0] ?? 'down';
      obs.zkMode = (ZK_MODES.has(mode) ? mode : 'down') as ZkMode;
    } else if (kind === 'P' || kind === 'A' || kind === 'D') {
      const [name = '', version = '-', held = '0'] = rest;
      const prefix = kind === 'P' ? 'package' : kind === 'A' ? 'archive' : 'image';
      obs.software.set(`${prefix}:${name}`, {
        version: version === '-' ? null : version,
        held: held === '1',
      });
    } else if (kind === 'I') {
      obs.facts.set(rest[0] ?? '', rest.slice(1).join('\t'));
    } else if (kind === 'E') {
      done = true;
    }
  }
  flushUnit();
  if (!done) throw new Error('the observation was cut short (no end marker)');
  return obs;
}
