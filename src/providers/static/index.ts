import type { ProviderPlugin } from '../types.js';
import { starter } from './starter.js';
import { rules } from './rules.js';

/** Hosts that exist already, at the addresses the spec gives. */
export const staticPlugin: ProviderPlugin = {
  name: 'static',
  createsMachines: false,
  rules,
  starter,
  installMissing: 'error',
  load: () => import('./runtime.js').then((m) => m.staticProvider),
};
