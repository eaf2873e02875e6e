import { createRequire } from 'node:module';

/** One Mesos flag as documented (data/mesos-flags.json, copied from the Mesos configuration docs). */
export interface FlagInfo {
  name: string;
  boolean: boolean;
  required: boolean;
  default: string | null;
  section: string;
}

export type FlagRole = 'master' | 'agent';

interface CatalogFile {
  master: FlagInfo[];
  agent: FlagInfo[];
  masterAndAgent: FlagInfo[];
}

const require = createRequire(import.meta.url);
const catalogFile = require('../../../data/mesos-flags.json') as CatalogFile;

/** The flags each role accepts: its own plus those shared by master and agent. */
export const FLAGS: Readonly<Record<FlagRole, ReadonlyMap<string, FlagInfo>>> = {
  master: new Map([...catalogFile.master, ...catalogFile.masterAndAgent].map((f) => [f.name, f])),
  agent: new Map([...catalogFile.agent, ...catalogFile.masterAndAgent].map((f) => [f.name, f])),
};

/**
 * Flags meso derives from other parts of the spec; setting them under `flags:` would fight meso.
 * The value says where to set it instead.
 */
export const RESERVED_FLAGS: Readonly<Record<FlagRole, Readonly<Record<string, string>>>> = {
  master: {
    zk: 'meso derives it from the zookeeper ensemble',
    quorum: 'use masters.quorum',
    ip: "meso sets it to each host's privateAddress",
    hostname: "meso sets it to each host's privateAddress",
    cluster: 'use masters.cluster',
    credentials: 'use security.authentication.credentials',
    authenticate_frameworks: 'use security.authentication.frameworks',
    authenticate_agents: 'use security.authentication.agents',
    acls: 'use security.acls',
  },
  agent: {
    master: 'meso derives it from the zookeeper ensemble',
    ip: "meso sets it to each host's privateAddress",
    hostname: "meso sets it to each host's privateAddress",
    attributes: 'use attributes: on the agent group',
    resources: 'use resources: on the agent group',
    containerizers: 'use containerizers: on the agent group',
    isolation: 'use isolation: on the agent group',
    credential: 'use security.authentication.agent',
  },
};

/**
 * `--[no-]` flags that data/mesos-flags.json (a verbatim copy of the shared list) records as taking
 * a value; the Mesos agent docs list them as booleans, so they are accepted as YAML booleans.
 */
const BOOLEAN_CORRECTIONS = [
  'cgroups_cpu_enable_pids_and_tids_count',
  'cgroups_enable_cfs',
  'cgroups_limit_swap',
  'docker_ignore_runtime',
];
for (const name of BOOLEAN_CORRECTIONS) {
  const info = FLAGS.agent.get(name);
  if (info !== undefined) (FLAGS.agent as Map<string, FlagInfo>).set(name, { ...info, boolean: true });
}

export function isBooleanFlag(role: FlagRole, name: string): boolean {
  return FLAGS[role].get(name)?.boolean === true;
}
