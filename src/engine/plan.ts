// `meso plan FILE` against the hosts as they are now.
import { schedule } from '../apply/schedule.js';

import type { Plan } from '../plan/types.js';
import type { Spec } from '../spec/types.js';
import { cloudOnlyPlan, observeAndPlan } from './observe.js';
import { prepare } from './prepare.js';
import type { Say } from './prepare.js';
import { writeSavedPlan } from './saved-plan.js';
import { stateBackend } from './session.js';

export async function planCluster(
  spec: Spec,
  specFile: string,
  opts: { cloudOnly?: boolean; out?: string; strictHosts?: boolean; targets?: readonly string[] },
  say: Say,
): Promise<Plan> {
  const backend = await stateBackend(spec, specFile);
  const p = await prepare(spec, specFile, backend, say);
  try {
    let plan: Plan;
    if (opts.cloudOnly === true) plan = cloudOnlyPlan(p, opts.targets);
    else {
      const seen = await observeAndPlan(p, {
        secrets: true,
        say,
        strictHosts: opts.strictHosts === true,
        ...(opts.targets === undefined ? {} : { targets: opts.targets }),
      });
      // Refuses an unsafe order now rather than at apply time; a registry reset is shown (apply asks for the flag).
      schedule(seen.plan, seen.live, { allowRegistryReset: true });
      plan = seen.plan;
    }
    if (opts.out !== undefined)
      await writeSavedPlan(opts.out, plan, spec, specFile, p.state, opts.cloudOnly === true);
    return plan;
  } finally {
    await p.pool.closeAll();
  }
}
