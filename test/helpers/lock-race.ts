// Child processes that take a local state lock: to race for it, or to hold it and die.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import type { LockInfo } from '../../src/state/types.js';

const moduleUrl = new URL('../../src/state/local.js', import.meta.url).href;

/**
 * A node child that tries `lock()` once and prints one JSON line: `{ won, takenOver?, code? }` or,
 * once won, its lock. It then stays alive (holding what it won) until its stdin ends.
 */
function contender(statePath: string): {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<string>;
  line: Promise<string>;
  closed: Promise<void>;
} {
  // Loaded first, then 'ready'; the lock is tried on the parent's 'go', so that all try at once.
  const script = `
    const { LocalStateBackend } = await import(${JSON.stringify(moduleUrl)});
    process.stdout.write('ready\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    try {
      const l = await new LocalStateBackend(${JSON.stringify(statePath)}).lock('meso apply race.yaml');
      process.stdout.write(JSON.stringify({ won: true, info: l.info, takenOver: l.takenOver }) + '\\n');
    } catch (e) {
      process.stdout.write(JSON.stringify({ won: false, code: e.code ?? String(e) }) + '\\n');
    }
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const lines = (n: number): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const ls = out.split('\n');
        if (ls.length > n) resolve(ls[n - 1] ?? '');
      };
      child.stdout.on('data', check);
      child.on('error', reject);
      void closed.then(() => resolve(''));
      check();
    });
  const ready = lines(1);
  const line = lines(2);
  return { child, ready, line, closed };
}

export interface Outcome {
  won: boolean;
  info?: LockInfo;
  takenOver?: LockInfo;
  code?: string;
}

/** `n` children race for the lock at once; every one has tried before any winner lets go. */
export async function race(statePath: string, n: number): Promise<Outcome[]> {
  const cs = Array.from({ length: n }, () => contender(statePath));
  await Promise.all(cs.map((c) => c.ready));
  for (const c of cs) c.child.stdin.write('go\n');
  const lines = await Promise.all(cs.map((c) => c.line));
  for (const c of cs) c.child.stdin.end();
  await Promise.all(cs.map((c) => c.closed));
  return lines.map((l) => (l === '' ? { won: false, code: 'no output' } : (JSON.parse(l) as Outcome)));
}

/** A child that holds the lock until `stop()`, which ends it with SIGKILL (`kill`) or lets it exit. */
export async function holder(
  statePath: string,
): Promise<{ info: LockInfo; stop: (how: 'kill' | 'exit') => Promise<void> }> {
  const c = contender(statePath);
  await c.ready;
  c.child.stdin.write('go\n');
  const o = JSON.parse(await c.line) as Outcome;
  if (!o.won || o.info === undefined) throw new Error(`the holder did not get the lock: ${o.code}`);
  return {
    info: o.info,
    stop: async (how) => {
      if (how === 'kill') c.child.kill('SIGKILL');
      else c.child.stdin.end();
      // 'close' comes after node has reaped the child: its pid is gone, not a zombie.
      await c.closed;
    },
  };
}

/** The lock left by a holder killed with SIGKILL: what it recorded, and its pid now absent. */
export async function deadHolder(statePath: string): Promise<LockInfo> {
  const h = await holder(statePath);
  await h.stop('kill');
  return h.info;
}
