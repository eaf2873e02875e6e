import { compareDiagnostics } from './diagnostics.js';
import type { LocatedDiagnostic } from './diagnostics.js';
import { parseYaml } from './document.js';
import type { Env } from './interpolate.js';
import { normalize } from './normalize.js';
import { runRules } from './rules.js';
import { checkSchema } from './schema.js';
import type { Spec } from './types.js';

export interface Validation {
  /** The spec with defaults, present only when there are no errors (warnings allowed). */
  spec: Spec | undefined;
  /** Every error and warning, in file order. */
  diagnostics: LocatedDiagnostic[];
}

export function hasErrors(diagnostics: readonly LocatedDiagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * YAML (with `${NAME}` expanded from `env`), then the JSON Schema, then the semantic rules; pure,
 * so tests need no files.
 */
export function validateText(text: string, file: string, env: Env = {}): Validation {
  const parsed = parseYaml(text, file, env);
  if (parsed.errors.length > 0) return { spec: undefined, diagnostics: parsed.errors };
  const { source } = parsed;
  if (source.data === undefined || source.data === null) {
    return {
      spec: undefined,
      diagnostics: [
        source.locate({
          severity: 'error',
          path: [],
          message: 'the file is empty',
          fix: 'start with apiVersion: meso/v1, kind: Cluster, name:, provider: and masters: (see clusters/)',
        }),
      ],
    };
  }
  const schemaFindings = checkSchema(source.data).map(source.locate);
  if (schemaFindings.length > 0)
    return { spec: undefined, diagnostics: schemaFindings.sort(compareDiagnostics) };
  const spec = normalize(source.data);
  const diagnostics = runRules({ spec, raw: source.data as Record<string, unknown> })
    .map(source.locate)
    .sort(compareDiagnostics);
  return { spec: hasErrors(diagnostics) ? undefined : spec, diagnostics };
}
