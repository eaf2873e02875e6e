import { formatDiagnostic } from '../spec/diagnostics.js';
import { loadSpecFile } from '../spec/load.js';
import { hasErrors } from '../spec/validate.js';
import type { Spec } from '../spec/types.js';
import { MesoError } from '../util/errors.js';
import { phaseDone } from '../util/timing.js';
import type { Io } from './io.js';

/** Load and validate a spec, printing every finding; an invalid spec ends the command with exit 1. */
export async function loadOrFail(file: string, io: Io): Promise<Spec> {
  phaseDone('modules');
  const v = await loadSpecFile(file, process.env);
  phaseDone('spec');
  for (const d of v.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  if (v.spec === undefined || hasErrors(v.diagnostics)) {
    const n = v.diagnostics.filter((d) => d.severity === 'error').length;
    throw new MesoError('SpecInvalid', `${file} has ${n} error${n === 1 ? '' : 's'}`, {
      hint: 'fix the errors above and run the command again',
    });
  }
  return v.spec;
}
