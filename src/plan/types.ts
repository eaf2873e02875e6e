import type { ServiceName } from '../render/types.js';

/** What a change does, as Terraform shows it: + create, ~ update, - delete, and a service restart. */
export type Action = 'create' | 'update' | 'delete' | 'restart';

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
}

/** A machine to create (a `local` host not made yet) or to retire (gone from the spec). */
export interface HostChange extends ChangeBase {
  kind: 'host';
  action: 'create' | 'delete';
}

export type Change = FileChange | ServiceChange | HostChange;

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
}

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  restart: number;
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
}
