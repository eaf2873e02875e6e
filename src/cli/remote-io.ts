// The process's own terminal, streams and signals, for the commands that talk to one remote
// process (`meso ssh`, `meso logs`): its bytes go to our stdout and stderr untouched.
import type { Interrupts, LocalStreams } from '../engine/remote.js';
import type { LocalTerminal } from '../engine/ssh.js';

/** SIGINT, SIGTERM and SIGHUP end the session instead of the process (which then restores the terminal). */
export const processInterrupts: Interrupts = (on) => {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handler = (s: NodeJS.Signals): void => on(s);
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
};

export const processStreams = (withStdin: boolean): LocalStreams => ({
  ...(withStdin ? { stdin: process.stdin } : {}),
  stdout: process.stdout,
  stderr: process.stderr,
});

/** Our terminal, for a remote one of the same type and size; undefined when stdin is not a terminal. */
export function processTerminal(): LocalTerminal | undefined {
  if (process.stdin.isTTY !== true) return undefined;
  const screen = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  return {
    term: process.env['TERM'] || 'xterm',
    size: () => ({ rows: screen?.rows ?? 24, cols: screen?.columns ?? 80 }),
    raw: (on) => void process.stdin.setRawMode(on),
    onResize: (cb) => {
      // The tty stream's 'resize' comes after Node has read the new size on SIGWINCH.
      screen?.on('resize', cb);
      return () => void screen?.off('resize', cb);
    },
  };
}

/** Stop reading our stdin, so the process can end while nobody closed it. */
export function releaseStdin(): void {
  if (process.stdin.readableFlowing === null) return; // never read
  process.stdin.pause();
  process.stdin.unref?.();
}
