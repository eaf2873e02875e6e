/**
 * Addresses for `local` hosts: a host keeps the address it was given (from state); a new host gets
 * the lowest free one from .11 up. Pure, so adding a host never moves another.
 */
const FIRST = 11;
const LAST = 254;
/** How many local hosts one /24 subnet has addresses for. */
export const LOCAL_HOSTS_MAX = LAST - FIRST + 1;

export function allocateAddresses(
  names: readonly string[],
  subnet: string,
  existing: ReadonlyMap<string, string>,
): Map<string, string> {
  const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(subnet);
  if (m === null) throw new Error(`subnet ${subnet} is not a /24`);
  const prefix = m[1]!;
  const used = new Set([...existing.values()]);
  const out = new Map<string, string>();
  let next = FIRST;
  for (const name of names) {
    const have = existing.get(name);
    if (have !== undefined) {
      out.set(name, have);
      continue;
    }
    while (used.has(`${prefix}.${next}`)) next++;
    if (next > LAST) throw new Error(`subnet ${subnet} has no free address for ${name}`);
    const a = `${prefix}.${next}`;
    used.add(a);
    out.set(name, a);
  }
  return out;
}
