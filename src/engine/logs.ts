// `meso logs FILE HOST [SERVICE] [--lines N] [--follow]`: the journal of meso's units on one host,
// read with journalctl on the host and passed through unchanged.
import type { DesiredService } from '../render/types.js';
import { SERVICE_ORDER } from '../render/types.js';
import type { Spec } from '../spec/types.js';
import { MesoError } from '../util/errors.js';
import { shellQuote } from '../util/shell.js';
import { didYouMean } from '../util/suggest.js';
import { openHost, pump } from './remote.js';
import type { Interrupts, LocalStreams } from './remote.js';
import type { Say } from './prepare.js';

export const DEFAULT_LOG_LINES = 100;

/** `--lines`: a whole number, 0 or more (like `journalctl -n`). */
export function parseLines(text: string): number {
  if (!/^\d{1,9}$/.test(text.trim())) {
    throw new MesoError('UsageError', `--lines must be a whole number of lines, 0 or more; got '${text}'`, {
      hint: `e.g. --lines ${DEFAULT_LOG_LINES}`,
    });
  }
  return Number(text.trim());
}

/**
 * The units to read: the one of SERVICE (`zookeeper`, `mesos-master`, `mesos-agent`, `marathon`,
 * or its unit name), or every unit meso runs on the host. A service the host does not run is an error.
 */
export function logUnits(host: string, services: readonly DesiredService[], service?: string): string[] {
  if (service === undefined) {
    if (services.length === 0) {
      throw new MesoError('UsageError', `meso runs no service on ${host}`, {
        hint: 'check the host roles in the cluster file',
      });
    }
    return services.map((s) => s.unit);
  }
  const name = service.endsWith('.service') ? service.slice(0, -'.service'.length) : service;
  // The core's services, or an add-on's that runs on this host.
  const known = [...SERVICE_ORDER, ...services.filter((s) => s.addon !== undefined).map((s) => s.name)];
  if (!known.includes(name)) {
    const dym = didYouMean(name, known);
    throw new MesoError(
      'UsageError',
      `unknown service '${service}'; meso's services are ${known.join(', ')}`,
      { hint: dym ?? "leave SERVICE out to read all of the host's units" },
    );
  }
  const found = services.find((s) => s.name === name);
  if (found === undefined) {
    const runs = services.map((s) => s.name).join(', ') || 'none of them';
    throw new MesoError('UsageError', `${host} does not run ${name}; meso runs ${runs} there`, {
      hint: `name one of ${host}'s services, or leave SERVICE out to read all of them`,
    });
  }
  return [found.unit];
}

/** The journalctl command line (every value quoted). */
export function journalCommand(units: readonly string[], opts: { lines: number; follow: boolean }): string {
  const words = [
    'journalctl',
    '--no-pager',
    '-o',
    'short-iso',
    '-n',
    String(opts.lines),
    ...units.flatMap((u) => ['-u', u]),
    ...(opts.follow ? ['-f'] : []),
  ];
  return words.map(shellQuote).join(' ');
}

/**
 * For --follow: journalctl runs in the background while the script waits for EOF on its stdin,
 * then stops it, so ending our side (Ctrl-C, or a dropped connection) ends journalctl on the host
 * too. Without this it would linger until its next write failed. The exit is journalctl's own.
 */
export function followScript(journal: string): string {
  return [
    'exec 3<&0',
    `${journal} </dev/null 3<&- &`,
    'j=$!',
    '(cat <&3 >/dev/null 2>&1; kill $j 2>/dev/null) >/dev/null 2>&1 &',
    'wait $j',
  ].join('\n');
}

export interface LogsOptions {
  service?: string;
  lines: number;
  follow: boolean;
  streams: Omit<LocalStreams, 'stdin'>;
  interrupts?: Interrupts;
  say: Say;
}

/** Streams the journal; resolves to 0, or throws LogsFailed when journalctl fails on the host. */
export async function showLogs(
  spec: Spec,
  specFile: string,
  host: string,
  opts: LogsOptions,
): Promise<number> {
  const h = await openHost(spec, specFile, host, opts.say);
  try {
    const units = logUnits(host, h.services, opts.service);
    const journal = journalCommand(units, { lines: opts.lines, follow: opts.follow });
    const command = opts.follow ? `sh -c ${shellQuote(followScript(journal))}` : journal;
    // journalctl reads the system journal as root (sudo -n for another SSH user).
    const proc = await h.connection.stream({ command, asRoot: true });
    const end = await pump(proc, opts.streams, {
      onInterrupt: opts.follow ? 'eof' : 'hangup',
      keepStdinOpen: opts.follow,
      ...(opts.interrupts === undefined ? {} : { interrupts: opts.interrupts }),
    });
    if (end.kind !== 'exit') return 0;
    if (end.exit.code !== 0) {
      throw new MesoError(
        'LogsFailed',
        `${host}: journalctl ${end.exit.signal === undefined ? `exited with status ${end.exit.code}` : `was killed by ${end.exit.signal}`} (units: ${units.join(', ')})`,
        {
          hint: "its own message is above; check that systemd's journal runs on the host (and that the SSH user may use sudo -n when it is not root)",
        },
      );
    }
    return 0;
  } finally {
    await h.close();
  }
}
