import type { ProviderPlugin } from '../types.js';

/** Hosts that exist already, at the addresses the spec gives. */
export const staticPlugin: ProviderPlugin = {
  name: 'static',
  installMissing: 'error',
  load: () => import('./runtime.js').then((m) => m.staticProvider),
};
