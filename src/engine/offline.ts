// `meso plan FILE --offline`: against an empty world; no host, provider or state is touched, so
// nothing here loads SSH or a provider.
import { deriveTopology } from '../model/topology.js';
import { buildPlan } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { renderDesiredState } from '../render/render.js';
import type { Spec } from '../spec/types.js';
import { loadTemplates } from '../templates.js';
import { readAssets } from './assets.js';

export async function offlinePlan(spec: Spec, specFile: string): Promise<Plan> {
  const desired = renderDesiredState(
    spec,
    deriveTopology(spec),
    loadTemplates(),
    await readAssets(spec, specFile),
  );
  return buildPlan(desired, new Map(), true);
}
