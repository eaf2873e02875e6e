import { offlinePlan } from '../engine/offline.js';
import { planToJson } from '../plan/json.js';
import { planToText } from '../report/plan-text.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';
import { reporter } from './report.js';

export interface PlanOptions {
  offline?: boolean;
  json?: boolean;
  out?: string;
  detailedExitcode?: boolean;
  cloudOnly?: boolean;
  strictHosts?: boolean;
  target?: string[];
}

/** `meso plan FILE`: what would change on the hosts as they are now (or, --offline, on none). */
export async function planCommand(file: string, opts: PlanOptions, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  if (opts.offline === true) {
    const plan = await offlinePlan(spec, file, opts.target);
    const json =
      opts.json === true || opts.out !== undefined ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : '';
    if (opts.out !== undefined) await writeFileAtomic(opts.out, json);
    io.out(opts.json === true ? json : planToText(plan));
    if (opts.out !== undefined && opts.json !== true) io.out(`Saved the plan to ${opts.out}.\n`);
    return opts.detailedExitcode === true && plan.changes.length > 0 ? 2 : 0;
  }
  // Against the hosts: the engine's SSH and provider modules are loaded only now.
  const { planCluster } = await import('../engine/plan.js');
  const plan = await planCluster(
    spec,
    file,
    {
      cloudOnly: opts.cloudOnly === true,
      strictHosts: opts.strictHosts === true,
      ...(opts.target === undefined ? {} : { targets: opts.target }),
      ...(opts.out === undefined ? {} : { out: opts.out }),
    },
    reporter(io, false),
  );
  io.out(opts.json === true ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : planToText(plan));
  if (opts.out !== undefined && opts.json !== true)
    io.out(`Saved the plan to ${opts.out}; apply it with \`meso apply ${opts.out}\`.\n`);
  // Skipped hosts are work left: a pipeline asking "is there anything to do" hears yes.
  const pending = plan.changes.length > 0 || (plan.unreachable?.length ?? 0) > 0;
  return opts.detailedExitcode === true && pending ? 2 : 0;
}
