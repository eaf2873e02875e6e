import { sshToHost } from '../engine/ssh.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';
import { processInterrupts, processStreams, processTerminal, releaseStdin } from './remote-io.js';

export interface SshCmdOptions {
  /** A remote terminal for COMMAND too (like `ssh -t`); a shell gets one whenever stdin is a terminal. */
  tty?: boolean;
}

/** `meso ssh FILE HOST [-- COMMAND...]`: exits with the remote command's (or shell's) status. */
export async function sshCommand(
  file: string,
  host: string,
  command: string[],
  opts: SshCmdOptions,
  io: Io,
): Promise<number> {
  const spec = await loadOrFail(file, io);
  const terminal = command.length === 0 || opts.tty === true ? processTerminal() : undefined;
  try {
    return await sshToHost(spec, file, host, {
      command,
      ...(terminal === undefined ? {} : { terminal }),
      streams: processStreams(true),
      interrupts: processInterrupts,
      // Progress lines would mix with the remote bytes; failures arrive as errors.
      say: () => undefined,
    });
  } finally {
    releaseStdin();
  }
}
