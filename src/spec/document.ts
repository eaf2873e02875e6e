import { Composer, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, visit, YAMLParseError } from 'yaml';
import type { CST, Document, Node } from 'yaml';
import type { Diagnostic, LocatedDiagnostic, SpecPath } from './diagnostics.js';
import { interpolateDocument } from './interpolate.js';
import type { Env } from './interpolate.js';

/** A parsed cluster file that can say where any path of it is written. */
export interface SourceDocument {
  file: string;
  /** The document as plain data; `undefined` for an empty file. */
  data: unknown;
  locate: (d: Diagnostic) => LocatedDiagnostic;
}

export interface ParsedYaml {
  source: SourceDocument;
  /** YAML syntax errors; when there are any, `source.data` must not be trusted. */
  errors: LocatedDiagnostic[];
}

/**
 * A cluster file nests a few levels. Far deeper input (`[[[[...` 10,000 times) exhausts the stack of
 * the YAML composer, which then reports "Maximum call stack size exceeded" at a place that depends
 * on the stack size; refusing it first gives the same message and position every time.
 */
export const MAX_DEPTH = 64;

/**
 * The syntax tree of `text`, or the offset where it first nests deeper than MAX_DEPTH. The parser is
 * fed one token at a time and its stack of open nodes checked, so that a megabyte of `[` stops
 * after 64 tokens (parsing it all takes seconds).
 */
function parseTokens(text: string, lines: LineCounter): CST.Token[] | { deep: number } {
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of new Lexer().lex(text)) {
    tokens.push(...parser.next(lexeme));
    if (parser.stack.length > MAX_DEPTH) return { deep: parser.offset };
  }
  tokens.push(...parser.end());
  return tokens;
}

/** The first document of the syntax tree, as the yaml package's parseDocument makes it. */
function compose(tokens: CST.Token[], length: number): Document.Parsed {
  let doc: Document.Parsed | undefined;
  for (const d of new Composer({ uniqueKeys: true, strict: true }).compose(tokens, true, length)) {
    if (doc === undefined) doc = d;
    else {
      doc.errors.push(
        new YAMLParseError(
          [d.range[0], d.range[1]],
          'MULTIPLE_DOCS',
          'a second document starts here; a cluster file is one document',
        ),
      );
      break;
    }
  }
  // compose() with forceDoc yields at least one document, empty for an empty text.
  return doc!;
}

/**
 * Parse `text`, then expand its `${NAME}` references from `env` (see interpolate.ts); an empty
 * `env` leaves only the references with a default resolvable.
 */
export function parseYaml(text: string, file: string, env: Env = {}): ParsedYaml {
  const lineCounter = new LineCounter();
  const tokens = parseTokens(text, lineCounter);
  if (!Array.isArray(tokens)) {
    const at = { file, ...lineCounter.linePos(tokens.deep) };
    const error: LocatedDiagnostic = {
      ...at,
      severity: 'error',
      path: [],
      message: `invalid YAML: nested more than ${MAX_DEPTH} levels deep`,
      fix: 'a cluster file nests a few levels; remove the extra brackets or indentation',
    };
    return { source: { file, data: undefined, locate: (d) => ({ ...d, ...at }) }, errors: [error] };
  }
  const doc = compose(tokens, text.length);
  const errors: LocatedDiagnostic[] = doc.errors.map((e) => {
    // Unquoted inside { } or [ ], `${X}` reads as a `$` then a mapping: point at the `$`.
    const unquoted = e.pos[0] > 0 && text.startsWith('${', e.pos[0] - 1);
    const pos = lineCounter.linePos(unquoted ? e.pos[0] - 1 : e.pos[0]);
    return {
      file,
      line: pos.line,
      col: pos.col,
      severity: 'error',
      path: [],
      message: `invalid YAML: ${firstSentence(e.message)}`,
      fix: unquoted
        ? 'inside { } or [ ], quote a ${...} value: "${NAME}"'
        : 'fix the YAML syntax at this position',
    };
  });
  if (errors.length === 0) errors.push(...interpolateDocument(doc, text, lineCounter, file, env));
  let data: unknown;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      const pos = lineCounter.linePos(aliasOffset(doc, e) ?? 0);
      errors.push({
        file,
        line: pos.line,
        col: pos.col,
        severity: 'error',
        path: [],
        message: `invalid YAML: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }
  const locate = (d: Diagnostic): LocatedDiagnostic => {
    const offset = offsetOf(doc, d.path, d.atKey === true);
    const pos = lineCounter.linePos(offset);
    return { ...d, file, line: pos.line, col: pos.col };
  };
  return { source: { file, data: data ?? undefined, locate }, errors };
}

/** Where the alias an error names is written (toJS errors carry no position of their own). */
function aliasOffset(doc: Document, e: unknown): number | undefined {
  const name = /alias[^:]*: (\S+)/i.exec(e instanceof Error ? e.message : '')?.[1];
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      if (offset === undefined && (name === undefined || node.source === name)) offset = node.range?.[0];
    },
  });
  return offset;
}

function firstSentence(message: string): string {
  const cut = message.search(/ at line \d+, column \d+/);
  return (cut >= 0 ? message.slice(0, cut) : (message.split('\n')[0] ?? message)).trim();
}

/** Offset of the node at `path`, or of its nearest written ancestor when the path is absent. */
function offsetOf(doc: Document, path: SpecPath, atKey: boolean): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const part = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyValue(p.key) === String(part));
      if (pair === undefined) return offset;
      if (last && atKey) return rangeStart(pair.key) ?? offset;
      node = pair.value;
      offset = rangeStart(node) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      if (node === undefined) return offset;
      offset = rangeStart(node) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function keyValue(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range === undefined || range === null ? undefined : range[0];
}
