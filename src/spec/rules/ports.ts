import type { Diagnostic, SpecPath } from '../diagnostics.js';
import { ensembleEntries } from '../../model/hosts.js';
import { err, rawAt } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';
import type { Spec } from '../types.js';

// --- ports ----------------------------------------------------------------------------------------

/** One port a core service listens on, on one host, with the spec path that sets it. */
export interface CorePort {
  host: string;
  port: number;
  what: string;
  path: SpecPath;
}

/** Every port the core listens on, host by host, in claim order (ZooKeeper, masters, Marathon, agents). */
export function corePorts(spec: Spec): CorePort[] {
  const out: CorePort[] = [];
  const zk = spec.zookeeper;
  const zkPorts: [string, number][] = [
    ['clientPort', zk.clientPort],
    ['peerPort', zk.peerPort],
    ['electionPort', zk.electionPort],
  ];
  const masterPort = Number(spec.masters.flags['port'] ?? 5050);
  const marathonPorts: [string, number][] = spec.marathon.enabled
    ? [
        ['http_port', Number(spec.marathon.flags['http_port'] ?? 8080)],
        ['https_port', Number(spec.marathon.flags['https_port'] ?? 8443)],
      ]
    : [];
  const ensemble = new Set(ensembleEntries(spec).map((e) => e.host.name));
  const masters = new Set(spec.masters.hosts.map((h) => h.name));
  const claim = (host: string, port: number, what: string, path: SpecPath): void => {
    out.push({ host, port, what, path });
  };
  for (const name of ensemble)
    for (const [k, p] of zkPorts) claim(name, p, `ZooKeeper ${k}`, ['zookeeper', k]);
  for (const name of masters) {
    claim(name, masterPort, 'mesos-master', ['masters', 'flags', 'port']);
    if (spec.marathon.enabled)
      for (const [k, p] of marathonPorts) claim(name, p, `Marathon ${k}`, ['marathon', 'flags', k]);
  }
  spec.agents.forEach((g, i) => {
    const port = Number(g.flags['port'] ?? 5051);
    for (const h of g.hosts) claim(h.name, port, 'mesos-agent', ['agents', i, 'flags', 'port']);
  });
  return out;
}

export const ports: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  // Per host: port -> what uses it; the first user wins, later ones are reported where they are set.
  const used = new Map<string, Map<number, { what: string; path: SpecPath }>>();
  const reported = new Set<string>();
  const claim = (host: string, port: number, what: string, path: SpecPath): void => {
    const ports = used.get(host) ?? new Map<number, { what: string; path: SpecPath }>();
    used.set(host, ports);
    const owner = ports.get(port);
    if (owner === undefined || owner.what === what) {
      ports.set(port, { what, path });
      return;
    }
    // Report where the user wrote a port: a clash with a default is the written value's fault.
    const written = rawAt(raw, path) !== undefined || rawAt(raw, owner.path) === undefined;
    const [at, other] = written ? [path, owner.what] : [owner.path, `${what} (default)`];
    const key = `${at.join('.')}|${port}`;
    if (reported.has(key)) return;
    reported.add(key);
    out.push(
      err(at, `port ${port} on ${host} is already used by ${other}`, 'give each service its own port'),
    );
  };
  for (const c of corePorts(spec)) claim(c.host, c.port, c.what, c.path);
  return out;
};
