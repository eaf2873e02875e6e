// How the CLI shows what the engine says: timestamped lines on stderr, or JSON lines on stdout.
import { createInterface } from 'node:readline/promises';
import type { ApplyEvent } from '../apply/apply.js';
import type { Say } from '../engine/prepare.js';
import { MesoError } from '../util/errors.js';
import type { Io } from './io.js';

/** Plain, timestamped progress lines (or JSON lines with --json), one per event. */
export function reporter(io: Io, json: boolean): Say {
  return (type, message, data = {}) => {
    const time = new Date().toISOString();
    if (json) io.out(`${JSON.stringify({ time, type, message, ...data })}\n`);
    else io.err(`[${time.slice(11, 19)}] ${message}\n`);
  };
}

/** Ask on the terminal; without one, only --auto-approve goes on. */
export async function confirm(io: Io, question: string, autoApprove: boolean): Promise<boolean> {
  if (autoApprove) return true;
  if (!process.stdin.isTTY || !io.isTTY) {
    throw new MesoError(
      'UsageError',
      'refusing to change hosts without confirmation: no terminal to ask on',
      {
        hint: 'review the plan above and run again with --auto-approve',
      },
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question} Only 'yes' is accepted: `)).trim() === 'yes';
  } finally {
    rl.close();
  }
}

/** One line per apply event. */
export function reportApplyEvent(e: ApplyEvent, say: Say): void {
  switch (e.type) {
    case 'files':
      say(e.type, `${e.host}: writing ${e.writes} files, deleting ${e.deletes}`, { host: e.host });
      break;
    case 'files-done':
      say(e.type, `${e.host}: files done`, { host: e.host });
      break;
    case 'units':
      say(e.type, `${e.host}: systemctl daemon-reload; enable ${e.enabled.join(' ')}`, { host: e.host });
      break;
    case 'wave':
      say(
        e.type,
        `step ${e.index + 1}/${e.total}: ${e.wave.action} ${e.wave.service} on ${e.wave.hosts.join(', ')} (${e.wave.why})`,
      );
      break;
    case 'gate':
      say(e.type, `waiting for ${e.wave.gate} on ${e.wave.hosts.join(', ')}`);
      break;
    case 'interrupted':
      say(e.type, `stopped before ${e.remainingWaves} remaining steps`);
      break;
    case 'packages':
      say(e.type, `${e.host}: installing ${e.packages.join(', ')}`, { host: e.host });
      break;
    case 'archive':
      say(e.type, `${e.host}: uploading the archive (${e.bytes} bytes) to unpack under ${e.prefix}`, {
        host: e.host,
      });
      break;
    case 'image':
      say(e.type, `${e.host}: docker pull ${e.image}`, { host: e.host });
      break;
    case 'warning':
      say(e.type, `${e.host}: ${e.message}`, { host: e.host });
      break;
    case 'drain':
      say(e.type, `${e.host}: ${e.message}`, { host: e.host });
      break;
    case 'agent-reset':
      say(
        e.type,
        `${e.host}: the agent's resources or attributes changed: stop, remove ${e.workDir}/meta/slaves/latest, start`,
        { host: e.host },
      );
      break;
  }
}
