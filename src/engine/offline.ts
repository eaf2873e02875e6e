// `meso plan FILE --offline`: against an empty world; no host, provider or state is touched, so
// nothing here loads SSH or a provider.
import { deriveTopology } from '../model/topology.js';
import { buildPlan } from '../plan/plan.js';
import { checkTargets, targetPlan } from '../plan/target.js';
import type { Plan } from '../plan/types.js';
import { renderDesiredState } from '../render/render.js';
import type { Spec } from '../spec/types.js';
import { loadTemplates } from '../templates.js';
import { readAssets } from './assets.js';

export async function offlinePlan(spec: Spec, specFile: string, targets?: readonly string[]): Promise<Plan> {
  const topology = deriveTopology(spec);
  const desired = renderDesiredState(spec, topology, loadTemplates(), await readAssets(spec, specFile));
  const plan = buildPlan(desired, new Map(), true);
  if (targets === undefined) return plan;
  // Offline, no cloud is looked at: only host addresses can be targeted.
  return targetPlan(plan, desired, checkTargets(targets, { hosts: topology.hosts.map((h) => h.name) }));
}
