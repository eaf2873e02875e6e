import { modeString } from '../plan/json.js';
import { scriptCommand } from '../util/shell.js';

/** One change the write-files script makes on a host. */
export type FileOp =
  | { op: 'mkdir'; path: string; owner: string; group: string; mode: number }
  | { op: 'write'; path: string; owner: string; group: string; mode: number; content: string }
  | { op: 'delete'; path: string };

export interface WriteResult {
  written: Map<string, string>;
  deleted: string[];
  directories: string[];
  /** Set when the script stopped at a failure; what came before it was done. */
  failed?: { path: string; reason: string };
  complete: boolean;
}

/** The command that runs the write-files script (fixed text: the script itself, quoted). */
export function writeFilesCommand(script: string): string {
  return scriptCommand(script, 'meso-write-files');
}

const SAFE_FIELD = /^[^\t\n\r\0]+$/;

/** The script's stdin. Contents travel base64-encoded, so any byte (and any secret) is safe. */
export function writeFilesInput(ops: readonly FileOp[]): string {
  const lines = ops.map((o) => {
    const fields =
      o.op === 'delete'
        ? ['D', o.path]
        : o.op === 'mkdir'
          ? ['M', o.path, o.owner, o.group, modeString(o.mode)]
          : [
              'W',
              o.path,
              o.owner,
              o.group,
              modeString(o.mode),
              Buffer.from(o.content, 'utf8').toString('base64'),
            ];
    if (o.op === 'write' && o.content === '') fields[5] = '';
    for (const f of fields.slice(1, o.op === 'write' ? 5 : undefined)) {
      if (!SAFE_FIELD.test(f))
        throw new Error(
          `cannot write ${JSON.stringify(o.path)}: a field is empty or has a tab or line break`,
        );
    }
    return fields.join('\t');
  });
  return `${lines.join('\n')}\n`;
}

export function parseWriteResult(stdout: string): WriteResult {
  const r: WriteResult = { written: new Map(), deleted: [], directories: [], complete: false };
  for (const line of stdout.split('\n')) {
    const [kind, a = '', b = ''] = line.split('\t');
    if (kind === 'OK') r.written.set(a, b);
    else if (kind === 'DELETED') r.deleted.push(a);
    else if (kind === 'DIR') r.directories.push(a);
    else if (kind === 'FAIL') r.failed = { path: a, reason: b };
    else if (kind === 'E') r.complete = true;
  }
  return r;
}
