// Changes of the ZooKeeper ensemble's membership: the `server.N` lists its running members have
// now against the list meso would write. Restarting every member with a different list (or adding
// or removing several members at once) can leave two majorities that do not overlap, and so two
// leaders; meso refuses such a change instead of applying it (see schedule.ts).

/** `server.N=value` lines of a zoo.cfg, by N. */
export function zkServers(zooCfg: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of zooCfg.split('\n')) {
    const m = /^\s*server\.(\d+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m !== null) out.set(Number(m[1]), m[2]!);
  }
  return out;
}

/** How the running members' list differs from the desired one, each server as `server.N (address)`. */
export interface EnsembleChange {
  /** Members the running ensemble has now (as the first running member's list says). */
  current: number;
  desired: number;
  added: string[];
  removed: string[];
  /** Same N, another address or other ports. */
  changed: string[];
  /** Running members whose lists differ from each other's: a change made by hand, half done. */
  disagreeing: string[];
}

const describe = (id: number, value: string, names: ReadonlyMap<string, string>): string => {
  const address = value.split(':')[0] ?? value;
  const name = names.get(address);
  return `server.${id} (${name === undefined ? address : `${name}, ${address}`})`;
};

/**
 * The membership change from what the running members have (`current`, by host) to `desired`, or
 * undefined when every running member already has the desired list (a change of other settings
 * restarts them one at a time as usual). `names` maps addresses to host names for the messages.
 */
export function ensembleChange(
  desired: ReadonlyMap<number, string>,
  current: ReadonlyMap<string, ReadonlyMap<number, string>>,
  names: ReadonlyMap<string, string>,
): EnsembleChange | undefined {
  const lists = [...current].sort(([a], [b]) => a.localeCompare(b));
  const same = (a: ReadonlyMap<number, string>, b: ReadonlyMap<number, string>): boolean =>
    a.size === b.size && [...a].every(([id, v]) => b.get(id) === v);
  if (lists.length === 0 || lists.every(([, l]) => same(l, desired))) return undefined;
  const first = lists[0]![1];
  const disagreeing = lists.some(([, l]) => !same(l, first)) ? lists.map(([h]) => h) : [];
  const ids = [...new Set([...first.keys(), ...desired.keys()])].sort((a, b) => a - b);
  return {
    current: first.size,
    desired: desired.size,
    added: ids.filter((id) => !first.has(id)).map((id) => describe(id, desired.get(id)!, names)),
    removed: ids.filter((id) => !desired.has(id)).map((id) => describe(id, first.get(id)!, names)),
    changed: ids
      .filter((id) => first.has(id) && desired.has(id) && first.get(id) !== desired.get(id))
      .map((id) => `${describe(id, first.get(id)!, names)} -> ${desired.get(id)!}`),
    disagreeing,
  };
}
