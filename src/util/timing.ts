// Where a run's time goes, for `npm run bench:apply`: with MESO_TIMINGS=1, meso prints one line
// `MESO_TIMINGS {"phase": ms, ...}` on stderr at exit, each phase's end measured from process start.
import { performance } from 'node:perf_hooks';

const enabled = process.env['MESO_TIMINGS'] === '1';
const marks = new Map<string, number>();

/** The phase that just ended (or ended at `at`, in ms since process start). */
export function phaseDone(name: string, at = performance.now()): void {
  if (enabled && !marks.has(name)) marks.set(name, Math.round(at));
}

/** Milliseconds since the process started. */
export const sinceStart = (): number => performance.now();

if (enabled) {
  process.on('exit', () => {
    phaseDone('exit');
    process.stderr.write(`MESO_TIMINGS ${JSON.stringify(Object.fromEntries(marks))}\n`);
  });
}
