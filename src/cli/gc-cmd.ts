import { expiredInRegion } from '../providers/aws/gc.js';
import { MesoError } from '../util/errors.js';
import type { Io } from './io.js';
import { reporter } from './report.js';

export interface GcOptions {
  region: string;
  autoApprove?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `meso gc --region R`: destroy every cluster whose `meso:expires-at` tag (from aws.expiresAt) is in
 * the past, by its tags, for CI that forgets to clean up. No cluster file and no state are needed.
 */
export async function gcCommand(opts: GcOptions, io: Io): Promise<number> {
  const say = reporter(io, opts.json === true);
  const plans = await expiredInRegion(opts.region, (m) => say('aws', m));
  if (plans.length === 0) {
    say('done', `no expired cluster in ${opts.region}`);
    return 0;
  }
  for (const p of plans) {
    if (opts.json === true)
      say('expired', `cluster ${p.cluster} expired at ${p.expiresAt}`, {
        cluster: p.cluster,
        expires_at: p.expiresAt,
        resources: p.resources,
      });
    else
      io.out(
        `cluster ${p.cluster} (expired ${p.expiresAt}):\n${p.resources.map((l) => `  - ${l}`).join('\n')}\n`,
      );
  }
  if (opts.dryRun === true || plans.length === 0) return 0;
  if (opts.autoApprove !== true) {
    throw new MesoError('UsageError', 'refusing to destroy clusters without --auto-approve', {
      hint: 'review the list above (or use --dry-run) and run again with --auto-approve',
    });
  }
  for (const p of plans) {
    say('cluster', `destroying cluster ${p.cluster}`, { cluster: p.cluster });
    await p.destroy();
  }
  say('done', `destroyed ${plans.length} expired cluster${plans.length === 1 ? '' : 's'}`);
  return 0;
}
