import { defaultStatePath, LocalStateBackend } from '../state/local.js';
import { MesoError } from '../util/errors.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';

/** Remove the state lock whatever holds it, saying whose it was (Terraform's force-unlock). */
export async function forceUnlockCommand(file: string, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  if (spec.state.backend !== 'local') {
    throw new MesoError('NotImplemented', 'force-unlock of S3 state is not available yet', {
      hint: 'remove the lock object next to the state key in the bucket',
    });
  }
  const backend = new LocalStateBackend(spec.state.path ?? defaultStatePath(file, spec.name));
  const held = await backend.forceUnlock();
  io.out(
    held === undefined
      ? `State ${backend.location} was not locked.\n`
      : `Removed the lock of pid ${held.pid} (${held.user}@${held.hostname}, \`${held.command}\`, since ${held.startedAt}) from ${backend.location}.\n`,
  );
  return 0;
}
