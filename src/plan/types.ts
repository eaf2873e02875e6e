import type { AddonHealth } from '../addons/types.js';
import type { ServiceName } from '../render/types.js';
import type { UnreachableHost } from './unreachable.js';

/**
 * What a change does, as Terraform shows it: + create, ~ update, - delete, -/+ replace (cloud
 * resources whose changed attribute cannot be changed in place), and a service restart.
 */
export type Action = 'create' | 'update' | 'delete' | 'replace' | 'restart';

export interface FileFingerprint {
  sha256: string;
  owner: string;
  group: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

interface ChangeBase {
  /** Stable id: `host/<name>/file:<path>` or `host/<name>/service:<name>`. */
  address: string;
  action: Action;
  host: string;
  /** For display only; never parsed. */
  reason: string;
}

export interface FileChange extends ChangeBase {
  kind: 'file';
  path: string;
  before: FileFingerprint | undefined;
  after: FileFingerprint | undefined;
  sensitive: boolean;
  /** For updates of non-sensitive files whose old content was fetched: a unified diff. */
  diff?: string;
  /** A one-line value shown beside small files (`= 2`); undefined for sensitive or long files. */
  summary: string | undefined;
  lines: number;
}

export interface ServiceChange extends ChangeBase {
  kind: 'service';
  service: ServiceName;
  unit: string;
  /** Index into Plan.phases. */
  phase: number;
  /** An add-on that reloads: only its config changed, so `systemctl reload`, not a restart. */
  reload?: true;
  /** A quorum add-on meso never configured on this host (its unit is new): part of a new cluster. */
  fresh?: true;
  /** A quorum add-on whose config an earlier apply wrote and never restarted it for. */
  unsettled?: true;
  /**
   * An agent whose resources or attributes change cannot recover its checkpointed state: it is
   * stopped, its `<workDir>/meta/slaves/latest` removed, started, and waited for to re-register.
   */
  recovery?: {
    reset: true;
    workDir: string;
    /** Drained through the master first (agents[].drain). */
    drain?: { gracePeriodSeconds: number; timeoutSeconds: number };
  };
}

export type SoftwareManager = 'apt' | 'yum' | 'os' | 'archive' | 'docker';

/** A package to install or change, an archive to upload and unpack, an image to pull. */
export interface PackageChange extends ChangeBase {
  kind: 'package';
  action: 'create' | 'update';
  manager: SoftwareManager;
  /** The package, the archive's prefix, or the image reference. */
  name: string;
  /** Installed version (archive: sha256 of what was unpacked); null: not there. */
  before: string | null;
  /** Wanted version (archive: the tarball's sha256); null: any version. */
  after: string | null;
  /** Held at that version (apt-mark hold, yum versionlock). */
  hold: boolean;
}

/** A machine to create (a `local` host not made yet) or to retire (gone from the spec). */
export interface HostChange extends ChangeBase {
  kind: 'host';
  action: 'create' | 'delete';
}

export type CloudResource = 'security-group' | 'instance' | 'load-balancer' | 'bucket';

/** One attribute of a cloud resource that a change sets or changes; `null` is "not set". */
export interface CloudAttribute {
  name: string;
  before: string | null;
  after: string | null;
  /** This attribute cannot change in place: it is why the resource is replaced. */
  forcesReplacement: boolean;
}

/** A cloud resource to create, update, replace or delete (`aws/<resource>/<name>`), before any host step. */
export interface CloudChange extends ChangeBase {
  kind: 'cloud';
  action: 'create' | 'update' | 'replace' | 'delete';
  resource: CloudResource;
  /** Logical name: the security group's role, the host, the balancer (internal, admin), the bucket. */
  name: string;
  /** The provider's id of the existing resource. */
  id: string | null;
  attributes: CloudAttribute[];
}

export type Change = FileChange | PackageChange | ServiceChange | HostChange | CloudChange;

export type Strategy = 'ensemble' | 'one-at-a-time' | 'batches';

/** One step of the start order, over all hosts that run the service. */
export interface Phase {
  service: ServiceName;
  strategy: Strategy;
  /** Hosts in the order they are handled. */
  hosts: string[];
  /** For `batches`: how many hosts at once. */
  batchSize: number;
  description: string;
  /** An add-on's phase: how it is checked, reloaded and (a quorum service) ordered. */
  addon?: {
    reload: boolean;
    health?: AddonHealth;
    quorum?: { leader: { port: number; path: string; pattern: string } };
  };
}

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  restart: number;
  /** Cloud resources replaced (each also a delete and a create in the world, counted once here). */
  replace?: number;
}

/** One step of a ZooKeeper membership change (plan/sequence.ts). */
export interface ZkMembershipStep {
  host: string;
  action: 'start' | 'restart' | 'stop';
  /** The `server.N` lines written into its zoo.cfg first, by N (start, restart). */
  servers?: Record<string, string>;
  round: number;
  why: string;
  /** The ensemble has no majority while this step runs (ensembles of one or two members). */
  outage: boolean;
  /** Waited for after the step: these members serve with one leader ([]: not yet). */
  serving: string[];
  /** Also wait until another member leads. */
  handover?: boolean;
}

/** One step of a change of the masters' quorum or of the running masters. */
export interface MasterMembershipStep {
  host: string;
  action: 'start' | 'restart' | 'stop';
  /** The --quorum written first (start, restart). */
  quorum?: number;
  why: string;
  /**
   * After the step, 'answer': wait for the master to answer (a new log needs every replica before
   * any recovers); 'cluster': for its replica to recover and a leader with the registry recovered;
   * 'none': nothing to wait for (a stop).
   */
  settle: 'answer' | 'cluster' | 'none';
  /** A stop that keeps the unit startable (registry reset); other stops disable and mask it. */
  stays?: boolean;
  /** Where its replicated log lives (`<work_dir>/replicated_log`), moved aside when it stops. */
  workDir?: string;
}

/**
 * A change of who is in the ZooKeeper ensemble or among the masters, worked out from what runs
 * now; apply runs these steps instead of the usual restarts of those services.
 */
export interface Membership {
  zookeeper?: { method: 'static'; from: number; to: number; steps: ZkMembershipStep[] };
  masters?: { from: number; to: number; registryReset: boolean; steps: MasterMembershipStep[] };
}

/** A plan is a value: built once from desired and observed state, shown, saved and applied as it is. */
export interface Plan {
  formatVersion: '1';
  cluster: string;
  provider: string;
  /** Planned against an empty world, without looking at any host. */
  offline: boolean;
  hosts: { name: string; address: string; roles: string[] }[];
  /** File changes grouped by host (topology order, then path), then service changes in start order. */
  changes: Change[];
  phases: Phase[];
  /** Per host with unit file changes: systemctl daemon-reload, then enable these units. */
  systemd: { host: string; reload: boolean; enable: string[] }[];
  summary: PlanSummary;
  /** Present when the ensemble's or the masters' membership changes. */
  membership?: Membership;
  /** Agents that could not be reached and were skipped (within their group's maxUnreachable). */
  unreachable?: UnreachableHost[];
  /** `--target` addresses: the plan holds only their changes and what those need (it is partial). */
  targets?: string[];
}
