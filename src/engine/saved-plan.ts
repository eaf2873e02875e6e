// Plans saved with `meso plan FILE --out plan.json` and applied with `meso apply plan.json`.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { planToJson } from '../plan/json.js';
import { sha256 } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import type { Spec } from '../spec/types.js';
import type { ClusterState } from '../state/types.js';
import { MesoError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

export interface SavedPlan {
  format_version: string;
  changes: Record<string, unknown>[];
  /** Made with --target: applying it plans again with the same targets. */
  partial?: boolean;
  targets?: string[];
  saved: {
    spec_file: string;
    spec_sha256: string;
    /** The spec as validated, its `${NAME}` references resolved: the environment is part of the plan. */
    spec_values_sha256?: string;
    lineage: string;
    serial: number;
    cloud_only?: boolean;
  };
}

const specValues = (spec: Spec): string => sha256(JSON.stringify(spec));

/** What makes two plans the same plan: every change's address, action and fingerprints, in order. */
const identity = (changes: readonly Record<string, unknown>[]): string =>
  JSON.stringify(
    changes.map((c) => [
      c['address'],
      c['action'],
      c['before_sha256'] ?? c['before_version'] ?? null,
      c['sha256'] ?? c['version'] ?? null,
    ]),
  );

export async function writeSavedPlan(
  out: string,
  plan: Plan,
  spec: Spec,
  specFile: string,
  state: ClusterState,
  cloudOnly: boolean,
): Promise<void> {
  const saved = {
    ...planToJson(plan),
    saved: {
      spec_file: resolve(specFile),
      spec_sha256: sha256(await readFile(specFile, 'utf8')),
      spec_values_sha256: specValues(spec),
      lineage: state.lineage,
      serial: state.serial,
      ...(cloudOnly ? { cloud_only: true } : {}),
    },
  };
  await writeFileAtomic(out, `${JSON.stringify(saved, null, 2)}\n`);
}

/** A saved plan whose spec file is still as it was when the plan was made. */
export async function readSavedPlan(path: string): Promise<SavedPlan> {
  let plan: Partial<SavedPlan>;
  try {
    plan = JSON.parse(await readFile(path, 'utf8')) as Partial<SavedPlan>;
  } catch (e) {
    throw new MesoError('PlanInvalid', `cannot read the saved plan ${path}: ${(e as Error).message}`);
  }
  if (plan.format_version !== '1' || plan.saved === undefined || !Array.isArray(plan.changes)) {
    throw new MesoError('PlanInvalid', `${path} is not a plan saved by \`meso plan FILE --out\``, {
      hint: 'an offline plan (--offline) cannot be applied; save one with `meso plan FILE --out plan.json`',
    });
  }
  const saved = plan as SavedPlan;
  const text = await readFile(saved.saved.spec_file, 'utf8').catch(() => undefined);
  if (text === undefined || sha256(text) !== saved.saved.spec_sha256) {
    throw new MesoError(
      'PlanStale',
      `Saved plan is stale: ${saved.saved.spec_file} changed (or is gone) since the plan was made`,
      {
        hint: 'make a new plan with `meso plan FILE --out plan.json`',
      },
    );
  }
  return saved;
}

/**
 * The same file can mean another cluster when the environment variables it uses changed (another
 * AMI, another count): such a saved plan is stale too.
 */
export function checkSameValues(expected: SavedPlan, spec: Spec): void {
  const want = expected.saved.spec_values_sha256;
  if (want === undefined || want === specValues(spec)) return;
  throw new MesoError(
    'PlanStale',
    `Saved plan is stale: the environment variables ${expected.saved.spec_file} uses have other values than when the plan was made`,
    { hint: 'set them as they were, or make a new plan with `meso plan FILE --out plan.json`' },
  );
}

/** A saved plan may only be applied to the world it was made against. */
export function checkStillSame(
  expected: SavedPlan,
  plan: Plan,
  state: ClusterState,
  cloudOnly: boolean,
): void {
  const now = planToJson(plan)['changes'] as Record<string, unknown>[];
  if (identity(now) === identity(expected.changes) && state.lineage === expected.saved.lineage) return;
  throw new MesoError(
    'PlanStale',
    cloudOnly
      ? 'Saved plan is stale: the cloud resources or the state changed since it was made'
      : 'Saved plan is stale: the hosts or the state changed since it was made',
    {
      hint: cloudOnly
        ? 'make a new plan with `meso plan FILE --cloud-only --out plan.json`, review it, and apply that'
        : 'make a new plan with `meso plan FILE --out plan.json`, review it, and apply that',
    },
  );
}
