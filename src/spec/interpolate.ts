// `${NAME}` and `${NAME:-default}` in the values of a cluster file, resolved from an environment
// passed in as a value (only the CLI reads process.env), so that this stays a pure function.
import { isPair, isScalar, isSeq, visit } from 'yaml';
import type { Document, LineCounter, Scalar, ScalarTag } from 'yaml';
import type { LocatedDiagnostic, SpecPath } from './diagnostics.js';

/** The variables a cluster file may use: `process.env` at the CLI, a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Expansion may not make the document much larger than a cluster file may be (MAX_SPEC_BYTES in
 * load.ts): a long variable used in a thousand places would otherwise cost its size a thousand times.
 */
export const MAX_EXPANDED_CHARS = 640 * 1024;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FIX_UNSET = (name: string): string =>
  `set ${name} in the environment, give a default with \${${name}:-value}, or write $\${ for a literal \${`;

/** A problem in one string, at the `ordinal`-th `${` of it (counting the one of every `$${`). */
export interface Problem {
  ordinal: number;
  message: string;
  fix: string;
}

export interface Expanded {
  value: string;
  /** The whole string was one `${...}` and nothing else: a plain scalar is then typed again. */
  whole: boolean;
  problems: Problem[];
}

/**
 * Expand one string. `$${` is a literal `${`; a `$` not followed by `{` is itself. `:-` uses the
 * default when the variable is unset or empty, as the shell does; a default runs to the first `}`.
 */
export function expandString(s: string, env: Env): Expanded {
  let out = '';
  let ordinal = 0;
  let refs = 0;
  let literal = false;
  const problems: Problem[] = [];
  let i = 0;
  while (i < s.length) {
    const at = s.indexOf('$', i);
    if (at < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, at);
    if (s.startsWith('$${', at)) {
      out += '${';
      ordinal++;
      literal = true;
      i = at + 3;
      continue;
    }
    if (s[at + 1] !== '{') {
      out += '$';
      i = at + 1;
      continue;
    }
    const close = s.indexOf('}', at + 2);
    if (close < 0) {
      problems.push({
        ordinal,
        message: `unterminated \${ (no closing })`,
        fix: 'close it with }, or write $${ for a literal ${',
      });
      return { value: out, whole: false, problems };
    }
    const body = s.slice(at + 2, close);
    const value = resolve(body, env, ordinal, problems);
    out += value ?? '';
    refs++;
    // A `${` inside the body (a bad default) is one of the source's too.
    ordinal += 1 + body.split('${').length - 1;
    i = close + 1;
  }
  return { value: out, whole: refs === 1 && !literal && /^\$\{[^}]*\}$/.test(s), problems };
}

function resolve(body: string, env: Env, ordinal: number, problems: Problem[]): string | undefined {
  const sep = body.indexOf(':-');
  const name = sep < 0 ? body : body.slice(0, sep);
  const fallback = sep < 0 ? undefined : body.slice(sep + 2);
  if (!NAME.test(name)) {
    // Only the name and the operator are shown: what follows may be anything (a password).
    const op = /^[A-Za-z_][A-Za-z0-9_]*[^A-Za-z0-9_]{1,2}/.exec(name);
    problems.push(
      op !== null
        ? {
            ordinal,
            message: `\${${op[0]}...} is not supported`,
            fix: 'write ${NAME} or ${NAME:-default}',
          }
        : {
            ordinal,
            message: name === '' ? 'empty ${}' : `'${name}' is not a variable name`,
            fix: "a name is letters, digits and '_', not starting with a digit; write $${ for a literal ${",
          },
    );
    return undefined;
  }
  if (fallback?.includes('${') === true) {
    problems.push({
      ordinal,
      message: `the default of \${${name}} holds another \${`,
      fix: 'write the default value itself (defaults are not expanded)',
    });
    return undefined;
  }
  const set = env[name];
  if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
  if (set === undefined) {
    problems.push({ ordinal, message: `environment variable ${name} is not set`, fix: FIX_UNSET(name) });
    return undefined;
  }
  return set;
}

/**
 * Offsets in `text` of every `${` between `start` and `end`, as `expandString` counts them: the
 * n-th `${` of a scalar's value is the n-th of its source (escapes in quoted scalars aside, when the
 * scalar's start stands in).
 */
function openings(text: string, start: number, end: number): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('${', start); i >= 0 && i + 1 < end; i = text.indexOf('${', i + 2)) out.push(i);
  return out;
}

/** What YAML's core schema makes of a plain scalar: null, a boolean, a number, or the string. */
function retype(doc: Document, value: string): unknown {
  for (const tag of doc.schema.tags) {
    if (!('test' in tag) || tag.default !== true) continue;
    const scalar = tag as ScalarTag;
    if (scalar.test?.test(value) !== true) continue;
    // Some tags (booleans) resolve to a Scalar that keeps the source's spelling.
    const typed = scalar.resolve(value, () => undefined, {});
    return isScalar(typed) ? typed.value : typed;
  }
  return value;
}

function specPath(ancestors: readonly unknown[], node: unknown): SpecPath {
  const out: (string | number)[] = [];
  ancestors.forEach((a, i) => {
    const child = ancestors[i + 1] ?? node;
    if (isPair(a)) out.push(isScalar(a.key) ? String(a.key.value) : '?');
    else if (isSeq(a)) out.push(a.items.indexOf(child));
  });
  return out;
}

/**
 * Expand every value of `doc` in place. Keys are never expanded (a `${` in a key is an error). A
 * plain scalar that is one whole `${...}` is typed again as YAML would (`count: ${N:-2}` is the
 * number 2); anything else stays a string, so a variable never adds structure. Every problem of the
 * document is returned, each at the line and column of its `${`.
 */
export function interpolateDocument(
  doc: Document,
  text: string,
  lines: LineCounter,
  file: string,
  env: Env,
): LocatedDiagnostic[] {
  if (!text.includes('$')) return [];
  const out: LocatedDiagnostic[] = [];
  let grown = 0;
  const at = (offset: number, path: SpecPath, message: string, fix: string): void => {
    out.push({ file, ...lines.linePos(offset), severity: 'error', path, message, fix });
  };
  visit(doc, {
    Scalar(key, node: Scalar, ancestors) {
      const range = node.range ?? [0, 0, 0];
      const path = specPath(ancestors, node);
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      if (key === 'key') {
        at(
          openings(text, range[0], range[1])[0] ?? range[0],
          path,
          'variables are not expanded in keys',
          'write the key itself',
        );
        return;
      }
      const e = expandString(node.value, env);
      if (e.problems.length > 0) {
        const offsets = openings(text, range[0], range[1]);
        for (const p of e.problems) at(offsets[p.ordinal] ?? range[0], path, p.message, p.fix);
        return;
      }
      grown += e.value.length;
      if (grown > MAX_EXPANDED_CHARS) {
        if (grown - e.value.length <= MAX_EXPANDED_CHARS)
          at(
            openings(text, range[0], range[1])[0] ?? range[0],
            path,
            `the values of the environment variables make the file larger than ${MAX_EXPANDED_CHARS / 1024} KiB`,
            'use shorter values',
          );
        return;
      }
      node.value =
        e.whole && node.type === 'PLAIN' && node.tag === undefined ? retype(doc, e.value) : e.value;
    },
  });
  return out;
}
