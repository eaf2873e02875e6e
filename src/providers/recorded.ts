import type { KnownAddress } from '../model/topology.js';
import type { ClusterState } from '../state/types.js';

/** The addresses the state remembers for the spec's hosts: where every provider starts from. */
export function recordedAddresses(state: ClusterState, names: readonly string[]): Map<string, KnownAddress> {
  const out = new Map<string, KnownAddress>();
  for (const n of names) {
    const h = state.hosts[n];
    if (h !== undefined) out.set(n, { address: h.address, privateAddress: h.privateAddress });
  }
  return out;
}
