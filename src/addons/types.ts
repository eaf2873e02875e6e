// Add-on services (`addons:` in cluster.yaml): the language after defaults, and what a preset is.
// Pure: no I/O. The core renders, plans and applies an add-on like one of its own services.
import type { Topology, TopologyHost } from '../model/topology.js';
import type { Diagnostic } from '../spec/diagnostics.js';
import type { Flags, Spec } from '../spec/types.js';

/** Which core phase an add-on waits for: its service wave runs right after that one. */
export type AddonAfter = 'zookeeper' | 'masters' | 'marathon' | 'agents';
export const ADDON_AFTER: readonly AddonAfter[] = ['zookeeper', 'masters', 'marathon', 'agents'];

/** Where an add-on runs. */
export type AddonOn =
  | { kind: 'masters' }
  | { kind: 'publicAgents' }
  | { kind: 'agents' }
  | { kind: 'group'; group: string }
  | { kind: 'hosts'; hosts: string[] };

/** Where the add-on's program comes from, with the same methods as the core's install. */
export type AddonInstall =
  | { kind: 'package'; name: string; version: string | undefined }
  /** A tarball on the machine running meso, unpacked under `prefix` on the hosts. */
  | { kind: 'archive'; path: string; sha256: string; prefix: string }
  /** A pinned container image run with docker. */
  | { kind: 'image'; ref: string }
  /** The program is on the hosts already. */
  | { kind: 'none' };

export interface AddonPort {
  port: number;
  protocol: 'tcp' | 'udp';
  /** aws: opened to the world on the security group of the add-on's hosts. */
  public: boolean;
  /** aws: also a listener of the admin balancer (with `public`). */
  balancer: boolean;
}

export type AddonHealth = { kind: 'http'; port: number; path: string } | { kind: 'tcp'; port: number };

/** A config file as written: literal content, or a template filled with the cluster's values. */
export interface AddonConfigFile {
  path: string;
  content: string;
  template: boolean;
  mode: number;
}

/** One entry of `addons:` after defaults (a preset's included). */
export interface AddonSpec {
  /** Also the systemd unit (`<name>.service`) and the service's name in plans. */
  name: string;
  preset: string | undefined;
  on: AddonOn;
  install: AddonInstall;
  /** ExecStart (generic add-ons); flags are appended as `--name=value`. */
  command: string | undefined;
  /** The user the service runs as. */
  user: string;
  config: AddonConfigFile[];
  flags: Flags;
  /** Written to /etc/default/<name>, the unit's EnvironmentFile. */
  env: Readonly<Record<string, string>>;
  ports: AddonPort[];
  health: AddonHealth | undefined;
  after: AddonAfter;
  /** How many of its hosts may be down at once during a rolling restart. */
  maxUnavailable: string | number;
  /** A config change reloads the service (`systemctl reload`) instead of restarting it. */
  reload: boolean;
  /**
   * A quorum service (etcd): a new cluster starts together; a running one restarts one member at a
   * time, followers first, the leader last, never below a majority.
   */
  quorum: { leader: { port: number; path: string; pattern: string } } | undefined;
  /** The preset's own options as written (haproxy `backends`, dnsmasq `domain`, ...). */
  options: Readonly<Record<string, unknown>>;
}

/** What a preset renders for one host. */
export interface AddonContext {
  spec: Spec;
  topology: Topology;
  addon: AddonSpec;
  host: TopologyHost;
  /** Every host the add-on runs on, in topology order (etcd's member list). */
  hosts: readonly TopologyHost[];
}

export interface AddonFile {
  path: string;
  content: string;
  mode?: number;
  owner?: string;
  group?: string;
}

export interface AddonDirectory {
  path: string;
  owner: string;
  mode: number;
  /** Data directories are kept by `meso destroy` unless asked to purge them. */
  data: boolean;
}

export interface AddonRender {
  files: AddonFile[];
  directories?: AddonDirectory[];
  /** The systemd unit's full text, written to /etc/systemd/system/<name>.service. */
  unit: string;
}

/** The part of a preset that the spec sets: defaults and what follows from its options. */
export type PresetDefaults = Partial<Omit<AddonSpec, 'name' | 'preset' | 'options'>>;

/**
 * A preset: the defaults of one well-known add-on, the checks of its options and the files it
 * writes. Each lives in src/addons/presets/<name>.ts and is documented in the README.
 */
export interface Preset {
  name: string;
  /** One line for `meso validate`'s did-you-mean and the README. */
  summary: string;
  /**
   * The unit its package enables and starts by itself (Debian's `etcd.service`): meso's unit of the
   * same name replaces it, so the add-on must keep the preset's name or both would run.
   */
  packageUnit?: string;
  /** Option keys the preset reads besides the generic add-on fields. */
  options: readonly string[];
  /** Defaults, given the preset's options as written (after the generic fields are taken out). */
  defaults(options: Readonly<Record<string, unknown>>): PresetDefaults;
  /** Semantic checks of the options; paths are relative to the add-on's entry (`['backends', 0]`). */
  check(addon: AddonSpec, spec: Spec): Diagnostic[];
  /** The files and the unit on one host. */
  render(ctx: AddonContext): AddonRender;
}
