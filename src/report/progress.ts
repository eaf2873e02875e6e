import { Listr } from 'listr2';
import type { ApplyEvent } from '../apply/apply.js';
import type { Wave } from '../apply/schedule.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * listr2 progress for an apply on a terminal: a phase for the files (one task per host) and one for
 * the services (one task per step, with its gate). The apply engine drives it through its events;
 * `finish` settles whatever is still open when the run ends.
 */
export function terminalProgress(
  hosts: readonly string[],
  waves: readonly Wave[],
  output: NodeJS.WritableStream,
): { onEvent: (e: ApplyEvent) => void; finish: (error?: unknown) => Promise<void> } {
  const files = new Map(hosts.map((h) => [h, deferred()]));
  const steps = waves.map(() => deferred());
  let current = -1;
  const list = new Listr(
    [
      {
        title: `Write files, install software and units on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`,
        task: (_, task) =>
          task.newListr(
            hosts.map((h) => ({ title: h, task: () => files.get(h)!.promise })),
            { concurrent: true, exitOnError: false },
          ),
      },
      {
        title: `Start services in ${waves.length} step${waves.length === 1 ? '' : 's'}, quorum-safe`,
        task: (_, task) =>
          task.newListr(
            waves.map((w, i) => ({
              title: `${w.action} ${w.service} on ${w.hosts.join(', ')} (${w.why}), then wait for ${w.gate}`,
              task: () => steps[i]!.promise,
            })),
            { concurrent: false },
          ),
      },
    ],
    { rendererOptions: { collapseSubtasks: false }, exitOnError: true, fallbackRenderer: 'simple' },
  );
  void output;
  const running = list.run().catch(() => undefined);
  return {
    onEvent: (e) => {
      if (e.type === 'files-done') files.get(e.host)?.resolve();
      if (e.type === 'wave') {
        for (const d of files.values()) d.resolve();
        if (current >= 0) steps[current]?.resolve();
        current = e.index;
      }
    },
    finish: async (error) => {
      for (const d of files.values()) (error === undefined ? d.resolve : d.reject).call(null, error);
      steps.forEach((d, i) => {
        if (error === undefined) d.resolve();
        else if (i >= current) d.reject(error);
      });
      await running;
    },
  };
}
