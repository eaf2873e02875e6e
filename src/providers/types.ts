// The Provider port: everything that differs between where hosts come from. The engine asks these
// questions and never tests a provider's name; a new provider is one folder under src/providers/
// and one line in registry.ts.
import type { KnownAddress } from '../model/topology.js';
import type { CloudChange } from '../plan/types.js';
import type { Rule } from '../spec/rule-helpers.js';
import type { Spec } from '../spec/types.js';
import type { ClusterState } from '../state/types.js';
import type { SshTarget } from '../transport/host.js';

/** What the engine hands a provider for one run. */
export interface ProviderContext {
  spec: Spec;
  state: ClusterState;
  /** The spec's host names, in spec order. */
  names: readonly string[];
  /** Write the state (serial and time updated); providers record machines as they make them. */
  save: () => Promise<void>;
  say: (type: string, message: string) => void;
}

/** The cloud half of a plan: its changes, and whatever the provider needs to apply them. */
export interface CloudView {
  readonly changes: readonly CloudChange[];
}

/** A load balancer in front of the cluster, as the provider found it (for `meso endpoints`). */
export interface ProviderBalancer {
  /** The provider's name for it (an ELB name). */
  name: string;
  /** The DNS name clients connect to. */
  dns: string;
  /** `internal` (inside the VPC) or `internet-facing`. */
  scheme: string;
  /** The ports it forwards. */
  ports: readonly number[];
}

/** What a provider finds before any host is contacted. */
export interface Discovery {
  /** Every address known now (from the state, the provider's allocation or the cloud). */
  addresses: Map<string, KnownAddress>;
  /** Hosts of the spec that do not exist yet, so cannot be observed over SSH. */
  missing: string[];
  /** The plan shows missing hosts as `host/<name>` creates (false: the cloud changes stand for them). */
  hostCreates: boolean;
  /** Hosts gone from the spec are retired over SSH (false: the provider's cloud changes remove them). */
  retireRemoved: boolean;
  /** Cloud resources and their changes, for providers that have them. */
  cloud?: CloudView;
  /** The load balancers that exist now, in a stable order (providers that make them). */
  balancers?: readonly ProviderBalancer[];
}

/** `meso destroy` for a provider that destroys without SSH: what would go, and how. */
export interface Teardown {
  /** Said instead of a confirmation when there is nothing to destroy. */
  nothing?: string;
  /** One line per resource. */
  resources: string[];
  run(): Promise<void>;
}

/** The operations of a provider; loaded (with its SDKs) only when a spec names it. */
export interface ProviderRuntime {
  discover(ctx: ProviderContext): Promise<Discovery>;
  /**
   * Make what the discovery found missing: machines, cloud resources. With cloudOnly, the cloud
   * resources alone. The engine discovers again afterwards.
   */
  provision(
    ctx: ProviderContext,
    d: Discovery,
    opts: {
      cloudOnly: boolean;
      runId: string;
      /** A targeted plan: only the host and cloud changes with these addresses (undefined: all). */
      only?: ReadonlySet<string>;
    },
  ): Promise<void>;
  /** How to reach a host over SSH, with its host-key policy. */
  sshTarget(
    ctx: Pick<ProviderContext, 'spec' | 'state'>,
    name: string,
    address: string,
    port: number,
  ): SshTarget;
  /** Remove a machine meso made (a host gone from the spec, or destroy): true when it did. */
  removeMachine?(ctx: ProviderContext, name: string): Promise<boolean>;
  /** The whole cluster's destroy, for providers whose machines go without SSH. */
  teardown?(ctx: ProviderContext, opts: { byTag: boolean }): Promise<Teardown>;
}

/**
 * What `meso init` writes for this provider (src/spec/init.ts puts the file together): YAML lines
 * with comments that teach, valid as they stand so that `meso validate` passes on a new file.
 */
export interface Starter {
  /** A name for the cluster when `--name` is not given. */
  readonly name: string;
  /** Comment lines (without `# `) under the schema line: where this provider's hosts come from. */
  readonly about: readonly string[];
  /** The sections written before `zookeeper:` (ssh, install, the provider's own), as YAML lines. */
  readonly sections: readonly string[];
  /** The lines under `masters:` or an agent group that say which hosts it has (`count: N`, `hosts:`). */
  hosts(role: 'master' | 'agent', n: number): readonly string[];
  /** What to do before `meso apply` (set variables, edit addresses), one line each. */
  readonly before: readonly string[];
}

/**
 * A provider as the registry knows it: small facts read while a spec is validated and rendered
 * (no SDK, nothing heavy), and `load()` for its operations.
 */
export interface ProviderPlugin {
  readonly name: string;
  /** install.missing when the spec does not say. */
  readonly installMissing: 'warn' | 'error';
  /** Agent flags the provider's hosts need (a local host has no cgroup hierarchy of its own). */
  readonly agentFlags?: readonly (readonly [string, string])[];
  /** Added to destroy's warning, e.g. "and destroy these local hosts". */
  readonly destroyNote?: string;
  /** Whether it makes machines, so host lists may say `count:` instead of listing hosts. */
  readonly createsMachines: boolean;
  /** Validation of a spec that names this provider. */
  readonly rules?: Rule;
  /** Validation of a spec that names another provider (e.g. this provider's section given there). */
  readonly rulesWhenOther?: Rule;
  /** What `meso init --provider <name>` writes. */
  readonly starter: Starter;
  /** Command-line options only this provider supports. */
  readonly supports?: { cloudOnly?: boolean; byTag?: boolean };
  load(): Promise<ProviderRuntime>;
}
