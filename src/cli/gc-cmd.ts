import {
  describeResources,
  destroyCloud,
  expiredClusters,
  findClusterResources,
  isEmpty,
} from '../providers/aws/destroy.js';
import { awsContext, terminator } from '../providers/aws/session.js';
import { MesoError } from '../util/errors.js';
import type { Io } from './io.js';

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
  const say = (type: string, message: string, data: Record<string, unknown> = {}): void => {
    if (opts.json === true)
      io.out(`${JSON.stringify({ time: new Date().toISOString(), type, message, ...data })}\n`);
    else io.err(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  };
  const ctx = awsContext(opts.region, {}, (m) => say('aws', m));
  const expired = await expiredClusters(ctx, new Date());
  if (expired.length === 0) {
    say('done', `no expired cluster in ${opts.region}`);
    return 0;
  }
  const plans = [];
  for (const e of expired) {
    const found = await findClusterResources(ctx, e.cluster, {
      balancerNames: [],
      bucketNames: [],
      sweep: true,
    });
    if (isEmpty(found)) continue;
    plans.push({ ...e, found, lines: describeResources(found) });
  }
  for (const p of plans) {
    if (opts.json === true)
      say('expired', `cluster ${p.cluster} expired at ${p.expiresAt}`, {
        cluster: p.cluster,
        expires_at: p.expiresAt,
        resources: p.lines,
      });
    else
      io.out(
        `cluster ${p.cluster} (expired ${p.expiresAt}):\n${p.lines.map((l) => `  - ${l}`).join('\n')}\n`,
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
    await destroyCloud(ctx, p.found, undefined, terminator(ctx));
  }
  say('done', `destroyed ${plans.length} expired cluster${plans.length === 1 ? '' : 's'}`);
  return 0;
}
