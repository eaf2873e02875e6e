import { applyCluster } from '../engine/apply.js';
import type { ApplyOutcome } from '../engine/apply.js';
import { checkSameValues, readSavedPlan } from '../engine/saved-plan.js';
import type { SavedPlan } from '../engine/saved-plan.js';
import { planToText } from '../report/plan-text.js';
import { parseDuration } from '../util/duration.js';
import { MesoError } from '../util/errors.js';
import { loadOrFail } from './common.js';
import { endpointsSummary, endpointsText } from './endpoints-text.js';
import type { Io } from './io.js';
import { confirm, reportApplyEvent, reporter } from './report.js';

export interface ApplyCmdOptions {
  json?: boolean;
  autoApprove?: boolean;
  parallelism?: string;
  purgeData?: boolean;
  cloudOnly?: boolean;
  allowRegistryReset?: boolean;
  strictHosts?: boolean;
  lockTimeout?: string;
  target?: string[];
}

const EXIT: Record<ApplyOutcome, number> = { 'no-changes': 0, applied: 0, unhealthy: 1, cancelled: 1 };

/** `meso apply FILE|PLAN.json`: Ctrl-C finishes the steps in flight and starts no new ones. */
export async function applyCommand(file: string, opts: ApplyCmdOptions, io: Io): Promise<number> {
  const lockTimeoutMs = parseDuration(opts.lockTimeout ?? '0s', '--lock-timeout');
  let expected: SavedPlan | undefined;
  let cloudOnly = opts.cloudOnly === true;
  let targets = opts.target;
  if (file.endsWith('.json')) {
    if (targets !== undefined) {
      throw new MesoError('UsageError', '--target goes with a cluster file, not with a saved plan', {
        hint: 'a saved plan is applied as it was made: save one with `meso plan FILE --target ADDRESS --out plan.json`',
      });
    }
    expected = await readSavedPlan(file);
    file = expected.saved.spec_file;
    cloudOnly ||= expected.saved.cloud_only === true;
    // A plan saved with --target is made again with the same targets to check it is still the same.
    if (expected.partial === true) targets = expected.targets ?? [];
  }
  const spec = await loadOrFail(file, io);
  if (expected !== undefined) checkSameValues(expected, spec);
  const json = opts.json === true;
  const say = reporter(io, json);
  const abort = new AbortController();
  const onSigint = (): void => {
    say('interrupt', 'interrupted: finishing the steps in flight, starting no new ones');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const outcome = await applyCluster(
      spec,
      file,
      {
        parallelism: Number(opts.parallelism ?? 16),
        purgeData: opts.purgeData === true,
        allowRegistryReset: opts.allowRegistryReset === true,
        strictHosts: opts.strictHosts === true,
        ...(targets === undefined ? {} : { targets }),
        cloudOnly,
        ...(expected === undefined ? {} : { expected }),
        command: `meso apply ${file}`,
        lockTimeoutMs,
      },
      {
        say,
        showPlan: (plan) => {
          if (!json) io.out(planToText(plan));
        },
        // After the summary, like Terraform's outputs. With --json one `endpoints` event whose fields,
        // besides time, type and message, are the object `meso endpoints --json` prints.
        showEndpoints: (e) => {
          if (json) say('endpoints', endpointsSummary(e), { ...e });
          else io.out(`\n${endpointsText(e)}`);
        },
        confirm: (question) => confirm(io, question, opts.autoApprove === true),
        // On a terminal, listr2 shows phases and per-host tasks; otherwise plain lines or JSON events.
        progress: async (hosts, waves) => {
          if (io.isTTY && !json) {
            const { terminalProgress } = await import('../report/progress.js');
            return terminalProgress(hosts, waves, process.stderr);
          }
          return { onEvent: (e) => reportApplyEvent(e, say), finish: () => Promise.resolve() };
        },
        signal: abort.signal,
      },
    );
    return EXIT[outcome];
  } finally {
    process.off('SIGINT', onSigint);
  }
}
