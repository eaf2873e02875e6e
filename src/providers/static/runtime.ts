import type { KnownAddress } from '../../model/topology.js';
import { specSshTarget } from '../../transport/target.js';
import type { ProviderRuntime } from '../types.js';

/** Hosts exist already: their addresses come from the spec (the state remembers what was used). */
export const staticProvider: ProviderRuntime = {
  discover: ({ state, names }) => {
    const addresses = new Map<string, KnownAddress>();
    for (const n of names) {
      const h = state.hosts[n];
      if (h !== undefined) addresses.set(n, { address: h.address, privateAddress: h.privateAddress });
    }
    return Promise.resolve({ addresses, missing: [], hostCreates: false, retireRemoved: true });
  },
  provision: () => Promise.resolve(),
  sshTarget: ({ spec, state }, name, address, port) => specSshTarget(spec, state, name, address, port),
};
