// `meso destroy`: a provider that destroys without SSH tears the cluster down itself; otherwise
// meso's units are stopped and disabled and its files removed on every host (data kept unless
// purged), and machines meso made are removed.
import { providerPlugin, supporting } from '../providers/registry.js';
import type { Spec } from '../spec/types.js';
import { MesoError } from '../util/errors.js';
import { takeLock } from './lock.js';
import type { LockOptions } from './lock.js';
import { prepare, providerContext } from './prepare.js';
import type { Say, Session } from './prepare.js';
import { retireHost } from './retire.js';
import { readState, stateBackend } from './session.js';

export interface DestroyHooks {
  say: Say;
  /** Say what will go (one line per resource or host), then ask. */
  confirm(what: { resources?: string[]; hosts?: string[]; note?: string }): Promise<boolean>;
}

export type DestroyOutcome = 'destroyed' | 'nothing' | 'cancelled';

export async function destroyCluster(
  spec: Spec,
  specFile: string,
  opts: { byTag: boolean; purgeData: boolean } & LockOptions,
  hooks: DestroyHooks,
): Promise<DestroyOutcome> {
  const { say } = hooks;
  const plugin = providerPlugin(spec.provider);
  if (opts.byTag && plugin.supports?.byTag !== true) {
    throw new MesoError('UsageError', `--by-tag is for provider ${supporting('byTag').join(', ')}`, {
      hint: 'run meso destroy FILE without --by-tag',
    });
  }
  const backend = await stateBackend(spec, specFile);
  const lock = await takeLock(backend, opts, say);
  let p: Session | undefined;
  try {
    const provider = await plugin.load();
    if (provider.teardown !== undefined) {
      const ctx = providerContext(spec, backend, await readState(backend, spec), say);
      const t = await provider.teardown(ctx, { byTag: opts.byTag });
      if (t.nothing !== undefined) {
        say('done', t.nothing);
        return 'nothing';
      }
      if (!(await hooks.confirm({ resources: t.resources }))) return 'cancelled';
      await t.run();
      say('done', `destroyed ${t.resources.length} resources`);
      return 'destroyed';
    }
    p = await prepare(spec, specFile, backend, say, { lenient: true });
    const hosts = Object.keys(p.state.hosts).sort();
    if (hosts.length === 0) {
      say('done', 'nothing to destroy: the state knows no hosts');
      return 'nothing';
    }
    const note = plugin.destroyNote;
    if (!(await hooks.confirm({ hosts, ...(note === undefined ? {} : { note }) }))) return 'cancelled';
    for (const name of hosts) await retireHost(p, name, opts.purgeData, say);
    say('done', `destroyed ${hosts.length} hosts`);
    return 'destroyed';
  } finally {
    await p?.pool.closeAll();
    await lock.release();
  }
}
