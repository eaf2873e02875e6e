// Keeping secrets' hashes out of the state: new records, and the migration of a state that has them.
import type { FileFingerprint } from '../plan/types.js';
import { looksSecret } from '../render/paths.js';
import type { ClusterState, FileRecord, HostState, LockInfo, SensitiveFileRecord } from './types.js';

/** What a migrated record says for who wrote it: the hash it replaces did not say. */
export const UNKNOWN_WRITER = 'unknown (recorded with a hash by an earlier meso)';

export const isSensitiveRecord = (r: FileRecord): r is SensitiveFileRecord =>
  'sensitive' in r && r.sensitive === true;

/** `user@machine (command)`: who holds the lock, as a sensitive file's record names its writer. */
export const writerOf = (l: LockInfo): string => `${l.user}@${l.hostname} (${l.command})`;

/** The record of a sensitive file just written: its fingerprint's hash is dropped here. */
export function sensitiveRecord(
  fp: Pick<FileFingerprint, 'owner' | 'group' | 'mode'>,
  writtenAt: string,
  writtenBy: string,
): SensitiveFileRecord {
  return { sensitive: true, owner: fp.owner, group: fp.group, mode: fp.mode, writtenAt, writtenBy };
}

/**
 * The state with no hash of a sensitive file: a record loses its sha256 when its path is in
 * `sensitive` (the spec's sensitive files) or looks secret (a secret path, mode 0600). Pure; hosts
 * with nothing to scrub keep their identity, and the state itself is returned when none has.
 */
export function scrubSecrets(state: ClusterState, sensitive: ReadonlySet<string> = new Set()): ClusterState {
  let changed = false;
  const hosts: Record<string, HostState> = {};
  for (const [name, h] of Object.entries(state.hosts)) {
    let files: Record<string, FileRecord> | undefined;
    for (const [path, r] of Object.entries(h.files)) {
      if (isSensitiveRecord(r) || !(sensitive.has(path) || looksSecret(path, r.mode))) continue;
      files ??= { ...h.files };
      files[path] = sensitiveRecord(r, state.updatedAt, UNKNOWN_WRITER);
    }
    hosts[name] = files === undefined ? h : { ...h, files };
    changed ||= files !== undefined;
  }
  return changed ? { ...state, hosts } : state;
}

/** Paths that have a sensitive record on some host. */
export function sensitivePaths(state: ClusterState): Set<string> {
  const out = new Set<string>();
  for (const h of Object.values(state.hosts))
    for (const [path, r] of Object.entries(h.files)) if (isSensitiveRecord(r)) out.add(path);
  return out;
}

/** The text a backend stores for a state. */
export const stateText = (state: ClusterState): string => `${JSON.stringify(state, null, 2)}\n`;

/**
 * The backup to keep when `next` replaces the state `previousText`: the previous state scrubbed as
 * `next` is, or undefined when it holds no hash to scrub and may be kept byte for byte (an
 * unreadable one too: there is nothing to scrub it by).
 */
export function scrubbedBackup(previousText: string, next: ClusterState): string | undefined {
  let previous: ClusterState;
  try {
    previous = JSON.parse(previousText) as ClusterState;
    if (typeof previous.hosts !== 'object' || previous.hosts === null) return undefined;
  } catch {
    return undefined;
  }
  const scrubbed = scrubSecrets(previous, sensitivePaths(next));
  return scrubbed === previous ? undefined : stateText(scrubbed);
}
