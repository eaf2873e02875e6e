/** A finding about a cluster file: where it is, what is wrong, and how to fix it. */
export type Severity = 'error' | 'warning';

/** A path into the YAML document, as keys and indexes (`['masters', 'hosts', 1, 'address']`). */
export type SpecPath = readonly (string | number)[];

export interface Diagnostic {
  severity: Severity;
  /** Where in the document the problem is; `[]` means the whole document. */
  path: SpecPath;
  /** Point at the key rather than the value (unknown fields, duplicate names). */
  atKey?: boolean;
  message: string;
  /** What to do about it, when there is something better to say than the message. */
  fix?: string;
}

/** A diagnostic placed in a file, ready to print. Lines and columns are 1-based. */
export interface LocatedDiagnostic extends Diagnostic {
  file: string;
  line: number;
  col: number;
}

export function formatPath(path: SpecPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(document)' : out;
}

/** `cluster.yaml:14:11: masters.hosts: message; fix` — the form editors and CI logs understand. */
export function formatDiagnostic(d: LocatedDiagnostic): string {
  const level = d.severity === 'warning' ? 'warning: ' : '';
  const where = d.path.length > 0 ? `${formatPath(d.path)}: ` : '';
  const fix = d.fix === undefined ? '' : `; ${d.fix}`;
  return `${d.file}:${d.line}:${d.col}: ${level}${where}${d.message}${fix}`;
}

export function compareDiagnostics(a: LocatedDiagnostic, b: LocatedDiagnostic): number {
  return a.line - b.line || a.col - b.col || a.message.localeCompare(b.message);
}
