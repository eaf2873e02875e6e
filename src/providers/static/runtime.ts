import { recordedAddresses } from '../recorded.js';
import { specSshTarget } from '../../transport/target.js';
import type { ProviderRuntime } from '../types.js';

/** Hosts exist already: their addresses come from the spec (the state remembers what was used). */
export const staticProvider: ProviderRuntime = {
  discover: ({ state, names }) =>
    Promise.resolve({
      addresses: recordedAddresses(state, names),
      missing: [],
      hostCreates: false,
      retireRemoved: true,
    }),
  provision: () => Promise.resolve(),
  sshTarget: ({ spec, state }, name, address, port) => specSshTarget(spec, state, name, address, port),
};
