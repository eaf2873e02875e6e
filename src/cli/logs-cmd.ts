import { DEFAULT_LOG_LINES, parseLines, showLogs } from '../engine/logs.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';
import { processInterrupts, processStreams } from './remote-io.js';

export interface LogsCmdOptions {
  lines?: string;
  follow?: boolean;
}

/** `meso logs FILE HOST [SERVICE] [--lines N] [--follow]`: the journal of meso's units on HOST. */
export async function logsCommand(
  file: string,
  host: string,
  service: string | undefined,
  opts: LogsCmdOptions,
  io: Io,
): Promise<number> {
  const lines = opts.lines === undefined ? DEFAULT_LOG_LINES : parseLines(opts.lines);
  const spec = await loadOrFail(file, io);
  return showLogs(spec, file, host, {
    ...(service === undefined ? {} : { service }),
    lines,
    follow: opts.follow === true,
    streams: processStreams(false),
    interrupts: processInterrupts,
    say: () => undefined,
  });
}
