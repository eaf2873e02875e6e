// The cluster's values an add-on's config can use: `{{ name }}` in a template, and the presets' input.
import type { Topology, TopologyHost } from '../model/topology.js';
import type { Spec } from '../spec/types.js';
import type { AddonOn } from './types.js';

/** The names a template may use, with what each holds (for the README and validate's hint). */
export const TEMPLATE_VALUES: Readonly<Record<string, string>> = {
  cluster: 'the Mesos cluster name',
  zookeeper: 'the ensemble as host:port,host:port',
  zk_url: "the masters' ZooKeeper URL, as in /etc/mesos/zk (zk://…/mesos)",
  masters: 'the masters as address:port,address:port',
  master_urls: 'the masters as http://address:port, comma-separated',
  marathon_url: "the first master's Marathon, http://address:port",
  marathon_urls: 'every Marathon as http://address:port, comma-separated',
  public_agents: "the public agents' private addresses, comma-separated",
  'host.name': 'the host the file is written on',
  'host.address': "that host's private address",
};

export const masterPort = (spec: Spec): number => Number(spec.masters.flags['port'] ?? 5050);
export const marathonPort = (spec: Spec): number => Number(spec.marathon.flags['http_port'] ?? 8080);

/** The public agents: the hosts of agent groups with `public: true`, in topology order. */
export function publicAgents(spec: Spec, topology: Topology): TopologyHost[] {
  const groups = new Set(spec.agents.filter((g) => g.public).map((g) => g.group));
  return topology.agents.filter((h) => h.agentGroup !== undefined && groups.has(h.agentGroup));
}

/** The hosts an add-on's `on` names, in topology order (a name that is no host is left out: validate reports it). */
export function addonHosts(spec: Spec, topology: Topology, on: AddonOn): TopologyHost[] {
  switch (on.kind) {
    case 'masters':
      return topology.masters;
    case 'agents':
      return topology.agents;
    case 'publicAgents':
      return publicAgents(spec, topology);
    case 'group':
      return topology.agents.filter((h) => h.agentGroup === on.group);
    case 'hosts':
      return topology.hosts.filter((h) => on.hosts.includes(h.name));
  }
}

/** Every value of TEMPLATE_VALUES for one host. */
export function clusterValues(spec: Spec, topology: Topology, host: TopologyHost): Record<string, string> {
  const mp = masterPort(spec);
  const marathon = spec.marathon.enabled
    ? topology.masters.map((m) => `http://${m.privateAddress}:${marathonPort(spec)}`)
    : [];
  return {
    cluster: topology.cluster,
    zookeeper: topology.zkHosts,
    zk_url: topology.mesosZk,
    masters: topology.masters.map((m) => `${m.privateAddress}:${mp}`).join(','),
    master_urls: topology.masters.map((m) => `http://${m.privateAddress}:${mp}`).join(','),
    marathon_url: marathon[0] ?? '',
    marathon_urls: marathon.join(','),
    public_agents: publicAgents(spec, topology)
      .map((h) => h.privateAddress)
      .join(','),
    'host.name': host.name,
    'host.address': host.privateAddress,
  };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g;

/** The names a template uses that are not values (validate reports them). */
export function unknownValues(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (!(name in TEMPLATE_VALUES) && !out.includes(name)) out.push(name);
  }
  return out;
}

/** Fill `{{ name }}` with the cluster's values; validate has refused unknown names before. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
}
