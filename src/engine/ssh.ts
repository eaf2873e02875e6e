// `meso ssh FILE HOST [-- COMMAND...]`: a shell or one command on a host of the cluster, with the
// spec's SSH settings and meso's host-key checks (never switched off).
import { constants as osConstants } from 'node:os';
import type { Spec } from '../spec/types.js';
import { shellQuote } from '../util/shell.js';
import { openHost, pump } from './remote.js';
import type { Interrupts, LocalStreams } from './remote.js';
import type { Say } from './prepare.js';

/**
 * The remote command line for COMMAND's words: each word quoted on its own, so it arrives as the
 * same word (spaces, quotes, `$` and all); undefined for none (a login shell).
 */
export function sshCommandLine(words: readonly string[]): string | undefined {
  return words.length === 0 ? undefined : words.map(shellQuote).join(' ');
}

/** The local terminal, when the session gets a remote one (raw mode, size, resizes). */
export interface LocalTerminal {
  term: string;
  size(): { rows: number; cols: number };
  /** Raw mode on (every key goes to the remote side) or off (restored). */
  raw(on: boolean): void;
  /** Subscribe to size changes (SIGWINCH); returns the unsubscribe. */
  onResize(cb: () => void): () => void;
}

export interface SshOptions {
  /** COMMAND's words; empty for a login shell. */
  command: readonly string[];
  /** Given when a remote terminal is wanted (stdin is a terminal). */
  terminal?: LocalTerminal;
  streams: LocalStreams;
  interrupts?: Interrupts;
  say: Say;
}

/**
 * Runs the session; returns the remote exit status (128 + n for a remote killed by signal n; 128 + n
 * too when signal n ended meso itself, which hangs up; 141 when our stdout's reader went away).
 */
export async function sshToHost(
  spec: Spec,
  specFile: string,
  host: string,
  opts: SshOptions,
): Promise<number> {
  const h = await openHost(spec, specFile, host, opts.say);
  try {
    const command = sshCommandLine(opts.command);
    const t = opts.terminal;
    const proc = await h.connection.stream({
      ...(command === undefined ? {} : { command }),
      ...(t === undefined ? {} : { pty: { term: t.term, ...t.size() } }),
    });
    let offResize: (() => void) | undefined;
    if (t !== undefined) {
      t.raw(true);
      offResize = t.onResize(() => {
        const s = t.size();
        proc.resize(s.rows, s.cols);
      });
    }
    try {
      const end = await pump(proc, opts.streams, {
        onInterrupt: 'hangup',
        ...(opts.interrupts === undefined ? {} : { interrupts: opts.interrupts }),
      });
      if (end.kind === 'exit') return end.exit.code;
      if (end.kind === 'output-closed') return 128 + osConstants.signals.SIGPIPE;
      return 128 + osConstants.signals[end.signal];
    } finally {
      offResize?.();
      t?.raw(false);
    }
  } finally {
    await h.close();
  }
}
