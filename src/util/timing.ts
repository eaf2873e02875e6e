// Where a run's time goes, for `npm run bench:apply`: with MESO_TIMINGS=1, meso prints one line
// `MESO_TIMINGS {"phase": ms, ...}` on stderr at exit, each phase's end measured from process start.
import { performance } from 'node:perf_hooks';

const enabled = process.env['MESO_TIMINGS'] === '1';
const marks: [string, number][] = [];

/** The phase that just ended. */
export function phaseDone(name: string): void {
  if (enabled) marks.push([name, Math.round(performance.now())]);
}

if (enabled) {
  process.on('exit', () => {
    process.stderr.write(`MESO_TIMINGS ${JSON.stringify(Object.fromEntries(marks))}\n`);
  });
}
