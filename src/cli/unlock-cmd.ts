import { stateBackend } from '../engine/session.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';

/** Remove the state lock whatever holds it, saying whose it was (Terraform's force-unlock). */
export async function forceUnlockCommand(file: string, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  const backend = await stateBackend(spec, file);
  const held = await backend.forceUnlock();
  io.out(
    held === undefined
      ? `State ${backend.location} was not locked.\n`
      : `Removed the lock of pid ${held.pid} (${held.user}@${held.hostname}, \`${held.command}\`, since ${held.startedAt}) from ${backend.location}.\n`,
  );
  return 0;
}
