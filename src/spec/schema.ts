import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type * as AjvModule from 'ajv';
import type { Diagnostic } from './diagnostics.js';
import { mesoCacheDir } from '../util/fs.js';
import { didYouMean } from '../util/suggest.js';

// The schema is shipped at the repository root (schema/) for editors; compiled code sits in dist/src/spec.
const require = createRequire(import.meta.url);
export const clusterSchema = require('../../../schema/cluster.schema.json') as Record<string, unknown>;

let validator: ValidateFunction | undefined;

/**
 * Compiling the schema with ajv costs about 0.1 s at every start, more than the rest of validate.
 * So the first run saves ajv's standalone code for it in meso's cache directory, keyed by the
 * schema, ajv's version and where ajv is installed, and later runs load that file (a few ms). A
 * cache that cannot be read or written only costs the compile.
 */
export function cachedValidatorPath(): string {
  const ajvDir = dirname(require.resolve('ajv/package.json'));
  const { version } = require('ajv/package.json') as { version: string };
  const key = createHash('sha256')
    .update(JSON.stringify([clusterSchema, version, ajvDir]))
    .digest('hex')
    .slice(0, 16);
  return join(mesoCacheDir(), `schema-${key}.cjs`);
}

function ownedAndPrivate(path: string): boolean {
  const st = statSync(path);
  return (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
}

function compiled(): ValidateFunction {
  if (validator !== undefined) return validator;
  const file = cachedValidatorPath();
  try {
    // Code is only loaded from a file and directory this user owns and no one else can write.
    if (ownedAndPrivate(dirname(file)) && ownedAndPrivate(file)) {
      const cached = require(file) as unknown;
      if (typeof cached === 'function') return (validator = cached as ValidateFunction);
    }
  } catch {
    // not cached yet (or unreadable): compile below
  }
  const { Ajv: AjvClass, _ } = require('ajv') as typeof AjvModule;
  const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;
  const standalone = (
    require('ajv/dist/standalone') as { default: (ajv: Ajv, v: ValidateFunction) => string }
  ).default;
  const ajv = new AjvClass({
    allErrors: true,
    strict: false,
    verbose: true,
    code: { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` },
  });
  addFormats(ajv);
  validator = ajv.compile(clusterSchema);
  try {
    // The saved code requires ajv's runtime helpers by absolute path: the cache is not next to node_modules.
    const code = standalone(ajv, validator).replace(
      /require\("([^"]+)"\)/g,
      (_m: string, id: string) => `require(${JSON.stringify(require.resolve(id))})`,
    );
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // no cache: the next run compiles again
  }
  return validator;
}

/** Check `data` against the JSON Schema; every violation becomes one diagnostic with a fix. */
export function checkSchema(data: unknown): Diagnostic[] {
  const validate = compiled();
  if (validate(data)) return [];
  return simplify(validate.errors ?? []).map(toDiagnostic);
}

function pathOf(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * ajv reports every failed branch of a `oneOf`. Keep what helps: the errors from inside the branch
 * whose shape matches the value (deeper paths), or else one summary error for the `oneOf` itself.
 */
function simplify(errors: ErrorObject[]): ErrorObject[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  let kept = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if');
  for (const o of oneOfs) {
    // Branch errors about the value itself only say "not this branch"; errors deeper inside it come
    // from the branch whose shape matches and name the real problem.
    const deeper = kept.filter((e) => e.instancePath.startsWith(`${o.instancePath}/`));
    kept = kept.filter((e) => e.instancePath !== o.instancePath);
    if (deeper.length === 0) kept.push(o);
  }
  // ajv can report the same problem through several $refs; keep one of each.
  const seen = new Set<string>();
  return kept.filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value}'`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

const TYPE_NAMES: Readonly<Record<string, string>> = { object: 'a mapping', array: 'a list' };

function toDiagnostic(e: ErrorObject): Diagnostic {
  const path = pathOf(e.instancePath);
  // Never echo what was written where a secret belongs, whatever its type.
  const shown = path.includes('secret') ? 'a value' : describe(e.data);
  const description = (e.parentSchema as { description?: string } | undefined)?.description;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const allowed = Object.keys(
        (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {},
      );
      const hint = didYouMean(key, allowed);
      return {
        severity: 'error',
        path: [...path, key],
        atKey: true,
        message: `unknown field '${key}'`,
        fix: hint ?? (allowed.length > 0 ? `allowed here: ${allowed.join(', ')}` : 'remove it'),
      };
    }
    case 'required':
      return {
        severity: 'error',
        path,
        message: `missing required field '${String(params['missingProperty'])}'`,
        fix: `add ${String(params['missingProperty'])}:`,
      };
    case 'type':
      return {
        severity: 'error',
        path,
        message: `expected ${String(params['type'])
          .split(',')
          .map((t) => TYPE_NAMES[t] ?? t)
          .join(' or ')}, got ${shown}`,
      };
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined;
      return {
        severity: 'error',
        path,
        message: `${shown} is not allowed`,
        fix: hint ?? `use one of: ${allowed.join(', ')}`,
      };
    }
    case 'const':
      return {
        severity: 'error',
        path,
        message: `${shown} is not allowed`,
        fix: `use ${String(params['allowedValue'])}`,
      };
    case 'pattern':
      return {
        severity: 'error',
        path,
        message: `invalid value ${shown}`,
        fix: description ?? `it must match ${String(params['pattern'])}`,
      };
    case 'oneOf': {
      const branches = (e.parentSchema as { oneOf?: { const?: unknown }[] } | undefined)?.oneOf ?? [];
      const consts = branches.flatMap((b) => (typeof b.const === 'string' ? [b.const] : []));
      const hint = typeof e.data === 'string' ? didYouMean(e.data, consts) : undefined;
      return {
        severity: 'error',
        path,
        message: `invalid value ${shown}`,
        fix: hint ?? description ?? 'see the cluster.yaml reference in README.md',
      };
    }
    case 'format':
      return {
        severity: 'error',
        path,
        message: `invalid ${String(params['format'])} ${shown}`,
        fix: params['format'] === 'date-time' ? 'use RFC 3339, e.g. 2026-12-31T23:59:00Z' : 'see README.md',
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minItems':
    case 'minLength':
      return { severity: 'error', path, message: `${shown} ${e.message ?? 'is out of range'}` };
    default:
      return { severity: 'error', path, message: e.message ?? `invalid (${e.keyword})` };
  }
}
