import type { DesiredState, ServiceName } from '../render/types.js';

/** The facts (from observe.sh) that show a service's program is on a host: any one of them will do. */
export const PROGRAM_FACTS: Readonly<Record<ServiceName, readonly (readonly string[])[]>> = {
  zookeeper: [['bin:java'], ['zookeeper-jar']],
  'mesos-master': [['bin:mesos-master']],
  'mesos-agent': [['bin:mesos-agent', 'bin:mesos-slave']],
  marathon: [['bin:marathon']],
};

const PROGRAM_NAMES: Readonly<Record<ServiceName, string>> = {
  zookeeper: 'ZooKeeper (java and /usr/share/java/zookeeper.jar)',
  'mesos-master': 'mesos-master',
  'mesos-agent': 'mesos-agent (or mesos-slave)',
  marathon: 'marathon',
};

export interface MissingProgram {
  service: ServiceName;
  program: string;
  hosts: string[];
}

/**
 * What a host lacks to run its services when meso installs nothing there (install.method none), or
 * the Docker engine for install.method docker. Pure: facts are what observe.sh reported per host.
 */
export function missingPrograms(
  method: string,
  desired: DesiredState,
  facts: ReadonlyMap<string, ReadonlyMap<string, string>>,
): MissingProgram[] {
  const has = (host: string, f: string): boolean => facts.get(host)?.has(f) === true;
  const out = new Map<string, MissingProgram>();
  const add = (service: ServiceName, program: string, host: string): void => {
    const key = `${service}|${program}`;
    const m = out.get(key) ?? { service, program, hosts: [] };
    m.hosts.push(host);
    out.set(key, m);
  };
  for (const h of desired.hosts) {
    const name = h.host.name;
    if (!facts.has(name)) continue;
    if (method === 'docker') {
      if (!has(name, 'bin:docker')) for (const s of h.services.slice(0, 1)) add(s.name, 'docker', name);
      continue;
    }
    if (method !== 'none') continue;
    for (const s of h.services) {
      const ok = (PROGRAM_FACTS[s.name] ?? []).every((anyOf) => anyOf.some((f) => has(name, f)));
      if (!ok) add(s.name, PROGRAM_NAMES[s.name] ?? s.name, name);
    }
  }
  return [...out.values()];
}
