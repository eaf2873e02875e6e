// Every provider meso knows: one line each. A plugin here is small (facts and rules); its
// operations, and the SDKs they need, are imported by `load()` only for a spec that names it.
import { awsPlugin } from './aws/index.js';
import { localPlugin } from './local/index.js';
import { staticPlugin } from './static/index.js';
import type { ProviderPlugin, ProviderRuntime } from './types.js';
import { MesoError } from '../util/errors.js';

export const PROVIDERS: readonly ProviderPlugin[] = [staticPlugin, localPlugin, awsPlugin];

export function providerPlugin(name: string): ProviderPlugin {
  const p = PROVIDERS.find((x) => x.name === name);
  if (p === undefined) {
    throw new MesoError('SpecInvalid', `unknown provider '${name}'`, {
      hint: `use one of ${PROVIDERS.map((x) => x.name).join(', ')}`,
    });
  }
  return p;
}

const loaded = new Map<string, Promise<ProviderRuntime>>();

/** The provider's operations, imported once per process. */
export function loadProvider(name: string): Promise<ProviderRuntime> {
  let r = loaded.get(name);
  if (r === undefined) {
    r = providerPlugin(name).load();
    loaded.set(name, r);
  }
  return r;
}

/** The providers that support a command-line option, for the error when the spec's does not. */
export const supporting = (option: 'cloudOnly' | 'byTag'): string[] =>
  PROVIDERS.filter((p) => p.supports?.[option] === true).map((p) => p.name);
