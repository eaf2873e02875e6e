import { deriveTopology } from '../model/topology.js';
import { planToJson } from '../plan/json.js';
import { buildPlan } from '../plan/plan.js';
import { readAssets } from '../engine/assets.js';
import { renderDesiredState } from '../render/render.js';
import { planToText } from '../report/plan-text.js';
import { loadTemplates } from '../templates.js';
import { MesoError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';

export interface PlanOptions {
  offline?: boolean;
  json?: boolean;
  out?: string;
  detailedExitcode?: boolean;
}

export async function planCommand(file: string, opts: PlanOptions, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  if (opts.offline !== true) {
    throw new MesoError('NotImplemented', 'planning against live hosts is not available yet', {
      hint: 'use `meso plan FILE --offline` to plan against an empty world',
    });
  }
  const desired = renderDesiredState(
    spec,
    deriveTopology(spec),
    loadTemplates(),
    await readAssets(spec, file),
  );
  const plan = buildPlan(desired, new Map(), true);
  const json =
    opts.json === true || opts.out !== undefined ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : '';
  if (opts.out !== undefined) await writeFileAtomic(opts.out, json);
  io.out(opts.json === true ? json : planToText(plan));
  if (opts.out !== undefined && opts.json !== true) io.out(`Saved the plan to ${opts.out}.\n`);
  const changes = plan.changes.length > 0;
  return opts.detailedExitcode === true && changes ? 2 : 0;
}
