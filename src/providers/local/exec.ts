// Process helpers for the local provider: every command is an argument array, never a shell string.
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { MesoError } from '../../util/errors.js';

/** Progress sink of the local provider; it prints nothing itself. */
export type LabEvent = (msg: string) => void;

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs `cmd args`; a non-zero exit becomes a LabCommandFailed MesoError carrying stderr. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; allowFail?: boolean } = {},
): Promise<RunResult & { code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ stdout, stderr, code: 0 });
        const code = typeof err.code === 'number' ? err.code : -1;
        if (opts.allowFail === true && code !== -1) return resolve({ stdout, stderr, code });
        reject(
          new MesoError(
            'LabCommandFailed',
            `${[cmd, ...args].join(' ')} failed (${err.killed ? 'timed out' : `exit ${String(err.code ?? err.signal)}`}): ${stderr.trim() || err.message}`,
            { cause: err },
          ),
        );
      },
    );
  });
}

/** The absolute path of `cmd` on PATH (also the sbin directories, which root's PATH may miss), or undefined. */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const LAB_INSTALL_HINT = 'apt-get install -y mmdebstrap systemd-container openssh-client iproute2';

/** Throws LabUnsupported unless this is Linux, we are root and every tool is on PATH. */
export function requireLab(tools: readonly string[]): void {
  if (process.platform !== 'linux') {
    throw new MesoError('LabUnsupported', `the local provider needs Linux (this is ${process.platform})`, {
      hint: 'run meso on a Debian or Ubuntu machine, or use the static or aws provider',
    });
  }
  if (process.getuid?.() !== 0) {
    throw new MesoError('LabUnsupported', 'the local provider needs root (namespaces, mounts, bridges)', {
      hint: 'run meso as root, for example with sudo',
    });
  }
  const missing = tools.filter((t) => which(t) === undefined);
  if (missing.length > 0) {
    throw new MesoError(
      'LabUnsupported',
      `the local provider needs ${missing.join(', ')}, not found on PATH`,
      {
        hint: LAB_INSTALL_HINT,
      },
    );
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/mounts', 'utf8').split('\n');
  const out: string[] = [];
  for (const l of lines) {
    const target = (l.split(' ')[1] ?? '').replace(/\\040/g, ' ');
    if (target === dir || target.startsWith(dir + '/')) out.push(target);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Removes a directory tree, first unmounting anything left mounted inside (a crashed build can leave /proc, /dev). */
export async function removeTree(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await run('umount', ['-l', m], { allowFail: true });
  if (mountsUnder(dir).length > 0) {
    throw new MesoError('LabCommandFailed', `cannot remove ${dir}: something is still mounted inside it`);
  }
  await rm(dir, { recursive: true, force: true });
}
