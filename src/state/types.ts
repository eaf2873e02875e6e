import type { FileFingerprint } from '../plan/types.js';

/**
 * What meso remembers about a cluster between runs. Never holds a secret: sensitive files are kept
 * as fingerprints only, like every other file.
 */
export interface ClusterState {
  formatVersion: '1';
  cluster: string;
  /** Incremented on every write; a saved plan records the serial it was made against. */
  serial: number;
  /** Random id of this state's history, so a plan is never applied to another cluster's state. */
  lineage: string;
  updatedAt: string;
  hosts: Record<string, HostState>;
  /** Cloud resources meso created or adopted, by plan address (`aws/security-group/master`). */
  cloud?: Record<string, CloudRecord>;
}

/** A cloud resource as meso recorded it the moment the provider returned its id. */
export interface CloudRecord {
  id: string;
  resource: string;
  name: string;
  region: string;
  recordedAt: string;
}

export interface HostState {
  address: string;
  privateAddress: string;
  /** The SSH host key pinned for this host (`ssh-ed25519 AAAA...`), when meso pinned one. */
  hostKey?: string;
  /** Every file meso wrote, by path, as it left it. */
  files: Record<string, FileFingerprint>;
  /** Directories meso created; data directories survive `meso destroy` unless purged. */
  directories: { path: string; data: boolean }[];
  /** Units meso enabled. */
  services: string[];
  /**
   * Restarts the files written on this host call for and that have not happened yet (an apply
   * stopped or failed before their step): the next plan restarts them (`reset`: the agent's
   * recovery is reset too). Removed once the service's step has passed its health gate.
   */
  pending?: { service: string; reset?: boolean; membership?: boolean }[];
  /** Provider records (the local provider's container, the aws instance id). */
  provider?: Record<string, unknown>;
}

/** Who holds the lock, so a refused run can say so and a stale lock can be recognised. */
export interface LockInfo {
  id: string;
  pid: number;
  hostname: string;
  user: string;
  command: string;
  startedAt: string;
  /**
   * This machine's boot (`/proc/sys/kernel/random/boot_id`), the holder's start time (field 22 of
   * `/proc/<pid>/stat`) and pid namespace (`/proc/self/ns/pid`): together they prove a local holder
   * gone. Absent on other systems and in locks of older meso versions, which are then never taken over.
   */
  bootId?: string;
  startTime?: string;
  pidNamespace?: string;
  /** S3: the heartbeat, rewritten while the run lives; older than state.lockTimeoutSeconds is stale. */
  renewedAt?: string;
}

export interface StateLock {
  info: LockInfo;
  /** The lock this run took over because its holder was provably gone; the caller says so. */
  takenOver?: LockInfo;
  release(): Promise<void>;
}

/** Where state lives: the local file next to the spec, or S3 (the aws issue). */
export interface StateBackend {
  /** Human description for messages (`.meso/thegrid.state.json`). */
  readonly location: string;
  read(): Promise<ClusterState | undefined>;
  write(state: ClusterState): Promise<void>;
  lock(command: string): Promise<StateLock>;
  /** Remove a lock whatever holds it; returns what it removed. */
  forceUnlock(): Promise<LockInfo | undefined>;
}
