import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';

/** The repository root (tests run from dist/test/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run meso in this process with a recording IO sink. */
export async function runMeso(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), isTTY: false };
  const code = await main(['node', 'meso', ...args], io);
  return { code, stdout, stderr };
}

/** Run the real executable, as a user or CI does. */
export function spawnMeso(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): CliResult {
  const r = spawnSync(process.execPath, [`${ROOT}bin/meso.js`, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The real executable, asynchronously: for tests that serve something from this process meanwhile. */
export function spawnMesoAsync(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${ROOT}bin/meso.js`, ...args], {
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs ?? 600_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
