import type { ZkMode } from '../observe/observe.js';
import { scriptCommand } from '../util/shell.js';

export interface HttpProbe {
  name: string;
  address: string;
  port: number;
  path: string;
  /** A JSON body: the probe is a POST (the master's operator API). */
  body?: string;
}

export interface HttpAnswer {
  status: number;
  body: string;
  /** The Location header of a redirect (a standby master answers `//leader:5050`). */
  location?: string;
}

/** systemd's view of a unit: `systemctl show` ActiveState, SubState, NRestarts, Result. */
export interface UnitAnswer {
  active: string;
  sub: string;
  restarts: number;
  result: string;
}

export interface HealthAnswer {
  zkMode: ZkMode | undefined;
  http: Map<string, HttpAnswer>;
  units: Map<string, UnitAnswer>;
  /** The last journal lines of each unit asked for. */
  journal: Map<string, string>;
  /** TCP probes by name: did a connection open. */
  tcp: Map<string, boolean>;
}

export interface HealthRequest {
  zkPort?: number;
  http: readonly HttpProbe[];
  units?: readonly string[];
  journal?: readonly { unit: string; lines: number }[];
  tcp?: readonly { name: string; address: string; port: number }[];
}

export function healthCommand(script: string): string {
  return scriptCommand(script, 'meso-health');
}

export function healthInput(req: HealthRequest): string {
  const lines = [
    ...(req.zkPort === undefined ? [] : [`Z\t${req.zkPort}`]),
    ...req.http.map((p) =>
      (p.body === undefined
        ? ['H', p.name, p.address, String(p.port), p.path]
        : ['P', p.name, p.address, String(p.port), p.path, Buffer.from(p.body, 'utf8').toString('base64')]
      ).join('\t'),
    ),
    ...(req.tcp ?? []).map((t) => `T\t${t.name}\t${t.address}\t${t.port}`),
    ...(req.units ?? []).map((u) => `U\t${u}`),
    ...(req.journal ?? []).map((j) => `J\t${j.unit}\t${j.lines}`),
  ];
  for (const l of lines) if (/[\n\r\0]/.test(l)) throw new Error(`cannot probe ${JSON.stringify(l)}`);
  return `${lines.join('\n')}\n`;
}

function parseHttp(raw: string): HttpAnswer {
  const text = Buffer.from(raw, 'base64').toString('utf8');
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
  if (status === null) return { status: 0, body: '' };
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const location = /^location:[ \t]*(.*?)[ \t]*$/im.exec(head)?.[1];
  return {
    status: Number(status[1]),
    body: split < 0 ? '' : text.slice(split + 4),
    ...(location === undefined ? {} : { location }),
  };
}

export function parseHealth(stdout: string): HealthAnswer {
  const out: HealthAnswer = {
    zkMode: undefined,
    http: new Map(),
    units: new Map(),
    journal: new Map(),
    tcp: new Map(),
  };
  let done = false;
  for (const line of stdout.split('\n')) {
    const [kind, a = '', b = '', c = '', d = '', e = ''] = line.split('\t');
    if (kind === 'U') out.units.set(a, { active: b, sub: c, restarts: Number(d) || 0, result: e });
    else if (kind === 'J') out.journal.set(a, Buffer.from(b, 'base64').toString('utf8').trimEnd());
    else if (kind === 'Z')
      out.zkMode = (['leader', 'follower', 'standalone', 'observer'].includes(a) ? a : 'down') as ZkMode;
    else if (kind === 'H') out.http.set(a, parseHttp(b));
    else if (kind === 'T') out.tcp.set(a, b === 'open');
    else if (kind === 'E') done = true;
  }
  if (!done) throw new Error('the health probe was cut short (no end marker)');
  return out;
}

/**
 * Why a unit that was just started or restarted is not coming up, or undefined while it may still:
 * systemd restarting it (Restart=always after a crash), or giving up on it, means it exited.
 */
export function unitTrouble(u: UnitAnswer | undefined, restartsBefore = 0): string | undefined {
  if (u === undefined || u.active === '') return undefined;
  if (u.active === 'failed') return `failed (${u.result})`;
  // systemd does not reset NRestarts on an explicit restart of a unit that was crash-looping: only
  // restarts since the step began count.
  const restarts = u.restarts - restartsBefore;
  if (restarts > 0)
    return `keeps exiting: systemd restarted it ${restarts} time${restarts === 1 ? '' : 's'} since meso started it (last result: ${u.result})`;
  if (u.sub === 'auto-restart')
    return `keeps exiting: it exited and systemd is about to restart it (last result: ${u.result})`;
  if (u.active === 'inactive') return 'stopped';
  return undefined;
}

/** A master's view of itself, from /metrics/snapshot (a standby answers /master/state with a redirect). */
export interface MasterHealth {
  answered: boolean;
  elected: boolean;
  /** Its replica of the registry's replicated log has recovered (`registrar/log/recovered`). */
  logRecovered: boolean;
  /** The registry is recovered (registrar/state_fetch_ms is reported): agents can be counted. */
  recovered: boolean;
  agentsActive: number;
}

export function masterHealth(a: HttpAnswer | undefined): MasterHealth {
  if (a === undefined || a.status !== 200)
    return { answered: false, elected: false, logRecovered: false, recovered: false, agentsActive: 0 };
  let m: Record<string, number>;
  try {
    m = JSON.parse(a.body) as Record<string, number>;
  } catch {
    return { answered: false, elected: false, logRecovered: false, recovered: false, agentsActive: 0 };
  }
  return {
    answered: true,
    elected: m['master/elected'] === 1,
    logRecovered: m['registrar/log/recovered'] === 1,
    recovered: m['registrar/state_fetch_ms'] !== undefined,
    agentsActive: m['master/slaves_active'] ?? 0,
  };
}

/** An agent's own word (`slave/registered` in its /metrics/snapshot) that it is registered. */
export function registeredItself(a: HttpAnswer | undefined): boolean {
  if (a === undefined || a.status !== 200) return false;
  try {
    return (JSON.parse(a.body) as Record<string, number>)['slave/registered'] === 1;
  } catch {
    return false;
  }
}

/** ZooKeeper is healthy with exactly one leader and every other member following (or one standalone). */
export function ensembleVerdict(modes: ReadonlyMap<string, ZkMode | undefined>): {
  ok: boolean;
  summary: string;
} {
  const all = [...modes];
  const leaders = all.filter(([, m]) => m === 'leader').map(([h]) => h);
  const followers = all.filter(([, m]) => m === 'follower').map(([h]) => h);
  const down = all.filter(([, m]) => m === undefined || m === 'down').map(([h]) => h);
  if (all.length === 1 && all[0]?.[1] === 'standalone')
    return { ok: true, summary: `${all[0][0]} standalone` };
  const ok = leaders.length === 1 && followers.length === all.length - 1;
  const parts = [`leader: ${leaders.join(', ') || 'none'}`, `followers: ${followers.join(', ') || 'none'}`];
  if (down.length > 0) parts.push(`down: ${down.join(', ')}`);
  return { ok, summary: parts.join('; ') };
}
