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
}

export interface HealthAnswer {
  zkMode: ZkMode | undefined;
  http: Map<string, HttpAnswer>;
}

export function healthCommand(script: string): string {
  return scriptCommand(script, 'meso-health');
}

export function healthInput(req: { zkPort?: number; http: readonly HttpProbe[] }): string {
  const lines = [
    ...(req.zkPort === undefined ? [] : [`Z\t${req.zkPort}`]),
    ...req.http.map((p) =>
      (p.body === undefined
        ? ['H', p.name, p.address, String(p.port), p.path]
        : ['P', p.name, p.address, String(p.port), p.path, Buffer.from(p.body, 'utf8').toString('base64')]
      ).join('\t'),
    ),
  ];
  for (const l of lines) if (/[\n\r\0]/.test(l)) throw new Error(`cannot probe ${JSON.stringify(l)}`);
  return `${lines.join('\n')}\n`;
}

function parseHttp(raw: string): HttpAnswer {
  const text = Buffer.from(raw, 'base64').toString('utf8');
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(text);
  if (status === null) return { status: 0, body: '' };
  const split = text.indexOf('\r\n\r\n');
  return { status: Number(status[1]), body: split < 0 ? '' : text.slice(split + 4) };
}

export function parseHealth(stdout: string): HealthAnswer {
  const out: HealthAnswer = { zkMode: undefined, http: new Map() };
  let done = false;
  for (const line of stdout.split('\n')) {
    const [kind, a = '', b = ''] = line.split('\t');
    if (kind === 'Z')
      out.zkMode = (['leader', 'follower', 'standalone', 'observer'].includes(a) ? a : 'down') as ZkMode;
    else if (kind === 'H') out.http.set(a, parseHttp(b));
    else if (kind === 'E') done = true;
  }
  if (!done) throw new Error('the health probe was cut short (no end marker)');
  return out;
}

/** A master's view of itself, from /metrics/snapshot (a standby answers /master/state with a redirect). */
export interface MasterHealth {
  answered: boolean;
  elected: boolean;
  /** The registry is recovered (registrar/state_fetch_ms is reported): agents can be counted. */
  recovered: boolean;
  agentsActive: number;
}

export function masterHealth(a: HttpAnswer | undefined): MasterHealth {
  if (a === undefined || a.status !== 200)
    return { answered: false, elected: false, recovered: false, agentsActive: 0 };
  let m: Record<string, number>;
  try {
    m = JSON.parse(a.body) as Record<string, number>;
  } catch {
    return { answered: false, elected: false, recovered: false, agentsActive: 0 };
  }
  return {
    answered: true,
    elected: m['master/elected'] === 1,
    recovered: m['registrar/state_fetch_ms'] !== undefined,
    agentsActive: m['master/slaves_active'] ?? 0,
  };
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
