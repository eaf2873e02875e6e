/**
 * The cluster.yaml language after validation and defaults (`Spec`). Field names are a contract with
 * users and acceptance tests: extend, never rename. The JSON Schema in schema/cluster.schema.json
 * describes the same shape as written by users (with optional fields).
 */
import type { AddonSpec } from '../addons/types.js';

export type Provider = 'static' | 'local' | 'aws';
export type InstallMethod = 'apt' | 'yum' | 'docker' | 'archive' | 'none';
export type FlagValue = string | number | boolean;
export type Flags = Readonly<Record<string, FlagValue>>;

/** A secret is always a reference: `env:NAME` or `file:PATH`, resolved at apply time only. */
export type SecretRef = string;

export interface HostSpec {
  name: string;
  /** Address meso connects to over SSH. Unknown (undefined) for hosts a provider has yet to create. */
  address: string | undefined;
  /** Address used for cluster traffic (zoo.cfg, /etc/mesos/zk, --ip); defaults to `address`. */
  privateAddress: string | undefined;
  /** Explicit ZooKeeper id; wins over `zookeeper.myid`. */
  myid: number | undefined;
  /** SSH port for this host; defaults to `ssh.port`. */
  sshPort: number | undefined;
}

/** A host list as written: explicit hosts, or `count: N` for providers that create machines. */
export interface HostGroupSpec {
  hosts: HostSpec[];
  /** Set when the list was given as `count: N`; `hosts` then holds the derived names. */
  count: number | undefined;
}

export interface SshSpec {
  user: string;
  privateKeyPath: string | undefined;
  port: number;
  hostKeyPolicy: 'strict' | 'accept-new';
  knownHostsPath: string;
  useAgent: boolean;
  connectTimeoutSeconds: number;
  bastion: { host: string; user: string; port: number; privateKeyPath: string | undefined } | undefined;
}

/** What a package installs: the role-scoped components, or `extra` (every host). */
export type Component = 'zookeeper' | 'mesos' | 'marathon' | 'extra';

export interface PackageSpec {
  name: string;
  component: Component;
  /** Pinned version (apt `1.11.0-2.0.1.debian9`, yum `1.11.0-2.0.1.el7`); undefined: any, not held. */
  version: string | undefined;
}

export interface RepositorySpec {
  /** apt: URIs; yum: undefined. */
  url: string | undefined;
  suite: string | undefined;
  components: string[];
  /** yum: baseurl. */
  baseurl: string | undefined;
  /** The signing key, a file on the machine running meso (as written: `~` and relative paths allowed). */
  key: string | undefined;
}

export interface InstallSpec {
  method: InstallMethod;
  /** The rest of `install:` as written; its details belong to the install methods. */
  options: Readonly<Record<string, unknown>>;
  repository: RepositorySpec | undefined;
  /**
   * apt/yum: the packages (a component's package goes where that component runs, `extra` ones on
   * every host); archive: the runtime libraries from the OS packages (all `extra`).
   */
  packages: PackageSpec[];
  /** archive: the tarball on the machine running meso, as written. */
  archive: string | undefined;
  /** archive: the tarball's expected sha256, when given. */
  sha256: string | undefined;
  /** archive: where it is unpacked. */
  prefix: string;
  /** method none: a missing binary is an error, or only reported. */
  missing: 'error' | 'warn';
  images: {
    zookeeper: string;
    mesosMaster: string;
    mesosAgent: string;
    marathon: string;
  };
}

export interface ZookeeperSpec {
  /** `masters`: the ensemble runs on the masters; otherwise dedicated hosts. */
  onMasters: boolean;
  dedicated: HostGroupSpec;
  clientPort: number;
  peerPort: number;
  electionPort: number;
  dataDir: string;
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  myid: 'sequential' | 'last-octet';
  /** Extra zoo.cfg settings, written verbatim after meso's own. */
  settings: Readonly<Record<string, string | number | boolean>>;
}

export interface MastersSpec extends HostGroupSpec {
  quorum: 'auto' | number;
  cluster: string;
  flags: Flags;
  allowEvenCount: boolean;
}

export interface AgentGroupSpec extends HostGroupSpec {
  group: string;
  public: boolean;
  containerizers: string[];
  isolation: string[];
  attributes: Readonly<Record<string, string>>;
  /** Resources as name -> value (`ports(*)` -> `[31000-32000]`), in the order written. */
  resources: readonly (readonly [string, string])[];
  flags: Flags;
  /** How many agents of this group may be down at once during a rolling change. */
  maxUnavailable: string | number;
  /** How many agents of this group plan and apply may skip as unreachable (an integer, or `N%`, at least 1). */
  maxUnreachable: string | number;
  /** Drain through the master before an agent's recovery is reset; undefined: no drain. */
  drain: DrainSpec | undefined;
}

export interface DrainSpec {
  /** DRAIN_AGENT's max_grace_period: how long tasks get to finish. */
  gracePeriodSeconds: number;
  /** How long meso waits for the agent to be DRAINED. */
  timeoutSeconds: number;
}

export interface MarathonSpec {
  enabled: boolean;
  flags: Flags;
  javaOpts: string;
}

export interface Credential {
  principal: string;
  secret: SecretRef;
}

export interface SecuritySpec {
  authenticateFrameworks: boolean;
  authenticateAgents: boolean;
  /** Framework and agent principals the masters accept. */
  credentials: Credential[];
  /** The principal agents authenticate with. */
  agentCredential: Credential | undefined;
  /** The principal Marathon registers with. */
  marathonCredential: Credential | undefined;
  /** Mesos ACLs as the JSON object the master reads. */
  acls: Readonly<Record<string, unknown>> | undefined;
  ssl:
    | {
        enabled: boolean;
        certFile: string;
        keyFile: string;
        caFile: string | undefined;
        requireCert: boolean;
        /** Files on the machine running meso to upload: cert and ca paths, key a secret reference. */
        upload: { cert: string | undefined; key: string | undefined; ca: string | undefined };
      }
    | undefined;
}

export interface StateSpec {
  backend: 'local' | 's3';
  path: string | undefined;
  bucket: string | undefined;
  key: string | undefined;
  region: string | undefined;
  /** An S3-compatible API instead of AWS; undefined means `aws.endpoints.s3`, then AWS itself. */
  endpoint: string | undefined;
  /** s3: a lock whose heartbeat (`renewedAt`) is older than this is stale; an integer >= 1. */
  lockTimeoutSeconds: number;
}

export interface LocalSpec {
  subnet: string;
  /** Debian packages baked into the image of this cluster's hosts, besides meso's own; as written. */
  packages: string[];
}

export interface Spec {
  apiVersion: 'meso/v1';
  kind: 'Cluster';
  name: string;
  provider: Provider;
  ssh: SshSpec;
  install: InstallSpec;
  zookeeper: ZookeeperSpec;
  masters: MastersSpec;
  agents: AgentGroupSpec[];
  marathon: MarathonSpec;
  security: SecuritySpec;
  /** `aws:` as written; its meaning belongs to the aws provider. */
  aws: Readonly<Record<string, unknown>>;
  local: LocalSpec;
  state: StateSpec;
  /** Extra services (etcd, HAProxy, ...) rendered, planned and applied like the core's. */
  addons: AddonSpec[];
}
