import type { AddonHealth } from '../addons/types.js';
import type { Wave } from '../apply/schedule.js';
import type { Topology } from '../model/topology.js';
import type { ZkMode } from '../observe/observe.js';
import type { Templates } from '../render/types.js';
import type { HostConnection } from '../transport/host.js';
import { MesoError } from '../util/errors.js';
import {
  ensembleVerdict,
  healthCommand,
  healthInput,
  masterHealth,
  parseHealth,
  registeredItself,
  unitTrouble,
} from './health.js';
import type { HealthAnswer, HttpAnswer, HttpProbe, MasterHealth } from './health.js';

export interface GateOptions {
  topology: Topology;
  connection: (host: string) => Promise<HostConnection>;
  templates: Templates;
  zkPort: number;
  masterPort: number;
  /** Each agent's port (its group's `port` flag), 5051 when not listed. */
  agentPorts?: ReadonlyMap<string, number>;
  marathonPort: number;
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Ask one host for ZooKeeper's role, HTTP endpoints, unit states and journals, in one round trip. */
export async function probe(
  opts: GateOptions,
  host: string,
  req: {
    zk: boolean;
    http: HttpProbe[];
    units?: string[];
    journal?: { unit: string; lines: number }[];
    tcp?: { name: string; address: string; port: number }[];
  },
): Promise<HealthAnswer> {
  const conn = await opts.connection(host);
  const r = await conn.exec(healthCommand(opts.templates['health.sh'] ?? ''), {
    stdin: healthInput({
      ...(req.zk ? { zkPort: opts.zkPort } : {}),
      http: req.http,
      ...(req.units === undefined ? {} : { units: req.units }),
      ...(req.journal === undefined ? {} : { journal: req.journal }),
      ...(req.tcp === undefined ? {} : { tcp: req.tcp }),
    }),
  });
  return parseHealth(r.stdout);
}

export async function ensembleModes(opts: GateOptions): Promise<Map<string, ZkMode | undefined>> {
  const answers = await Promise.all(
    opts.topology.ensemble.map((h) => probe(opts, h.name, { zk: true, http: [] })),
  );
  return new Map(opts.topology.ensemble.map((h, i) => [h.name, answers[i]!.zkMode]));
}

/** ZooKeeper's role on each of these hosts, undefined where the host does not answer. */
export async function zkModes(
  opts: GateOptions,
  hosts: readonly string[],
): Promise<Map<string, ZkMode | undefined>> {
  const modes = await Promise.all(
    hosts.map((h) =>
      probe(opts, h, { zk: true, http: [] }).then(
        (a) => a.zkMode,
        () => undefined,
      ),
    ),
  );
  return new Map(hosts.map((h, i) => [h, modes[i]]));
}

const metricsProbe = (opts: GateOptions, host: string): HttpProbe => {
  const h = opts.topology.hosts.find((x) => x.name === host)!;
  return { name: 'metrics', address: h.privateAddress, port: opts.masterPort, path: '/metrics/snapshot' };
};

/** Every master's own /metrics/snapshot, asked on its host (in parallel). */
export async function mastersHealth(
  opts: GateOptions,
  masters: readonly string[] = opts.topology.masters.map((m) => m.name),
): Promise<Map<string, MasterHealth>> {
  const answers = await Promise.all(
    masters.map((m) => probe(opts, m, { zk: false, http: [metricsProbe(opts, m)] })),
  );
  return new Map(masters.map((m, i) => [m, masterHealth(answers[i]!.http.get('metrics'))]));
}

/** The master Mesos says is leading (`master/elected`), if one is. */
export async function leadingMaster(
  opts: GateOptions,
  masters: readonly string[] = opts.topology.masters.map((m) => m.name),
): Promise<string | undefined> {
  for (const [name, h] of await mastersHealth(opts, masters)) if (h.elected) return name;
  return undefined;
}

export interface RegisteredAgent {
  id: string;
  hostname: string;
  active: boolean;
}

/**
 * The agents the leading master knows, from `/master/slaves` asked of `via` (any master): a standby
 * answers with a 307 redirect to the leader (`Location: //<address>:<port>`), which is followed once.
 */
export async function leaderAgents(
  opts: GateOptions,
  via: string,
): Promise<{ leader: string; agents: RegisteredAgent[] } | undefined> {
  const ask = async (host: string): Promise<HttpAnswer | undefined> => {
    const h = opts.topology.hosts.find((x) => x.name === host)!;
    const a = await probe(opts, host, {
      zk: false,
      http: [{ name: 'slaves', address: h.privateAddress, port: opts.masterPort, path: '/master/slaves' }],
    });
    return a.http.get('slaves');
  };
  let host = via;
  let a = await ask(host);
  if (a?.status === 307 && a.location !== undefined) {
    const target = /^(?:https?:)?\/\/([^/:]+)/.exec(a.location)?.[1];
    const leader = opts.topology.masters.find((m) => m.privateAddress === target || m.address === target);
    if (leader === undefined) return undefined;
    host = leader.name;
    a = await ask(host);
  }
  const agents = agentsListed(a);
  return agents === undefined ? undefined : { leader: host, agents };
}

/** The agents in a master's 200 answer to `/master/slaves`; undefined for any other answer. */
export function agentsListed(a: HttpAnswer | undefined): RegisteredAgent[] | undefined {
  if (a?.status !== 200) return undefined;
  try {
    const json = JSON.parse(a.body) as { slaves?: { id?: string; hostname?: string; active?: boolean }[] };
    return (json.slaves ?? []).map((x) => ({
      id: x.id ?? '',
      hostname: x.hostname ?? '',
      active: x.active === true,
    }));
  } catch {
    return undefined;
  }
}

/** The agents (by host name) the leader does not list as active, by their private addresses. */
export function notActive(
  opts: Pick<GateOptions, 'topology'>,
  listed: { agents: readonly RegisteredAgent[] } | undefined,
  agents: readonly string[],
): string[] {
  return agents.filter((name) => {
    const address = opts.topology.hosts.find((x) => x.name === name)?.privateAddress;
    return !(listed?.agents ?? []).some((x) => x.active && x.hostname === address);
  });
}

/** leaderAgents asked of each master in turn until one answers (a master may be down). */
export async function leaderAgentsAny(
  opts: GateOptions,
): Promise<{ leader: string; agents: RegisteredAgent[] } | undefined> {
  for (const m of opts.topology.masters) {
    const a = await leaderAgents(opts, m.name).catch(() => undefined);
    if (a !== undefined) return a;
  }
  return undefined;
}

/** The masters as a whole: one elected leader whose registry is recovered. */
export function mastersVerdict(health: ReadonlyMap<string, MasterHealth>): {
  ok: boolean;
  leader: string | undefined;
  agentsActive: number;
  summary: string;
} {
  const elected = [...health].filter(([, h]) => h.elected);
  const leader = elected.find(([, h]) => h.recovered);
  if (elected.length === 0)
    return { ok: false, leader: undefined, agentsActive: 0, summary: 'no master is elected' };
  if (leader === undefined)
    return {
      ok: false,
      leader: elected[0]![0],
      agentsActive: 0,
      summary: `${elected[0]![0]} is elected, its registry is not recovered yet`,
    };
  return {
    ok: true,
    leader: leader[0],
    agentsActive: leader[1].agentsActive,
    summary: `leader: ${leader[0]} (registry recovered), ${leader[1].agentsActive} agents active`,
  };
}

/** What settleMesos saw last: each master's health and, once one leads, the agents it lists. */
export interface MesosLook {
  health: Map<string, MasterHealth>;
  listed: { leader: string; agents: RegisteredAgent[] } | undefined;
}

/**
 * After an apply's steps: wait (up to the gate timeout) until a master is elected with its registry
 * recovered and every agent is active on it again (agents re-register after a leader change).
 */
export async function settleMesos(
  opts: GateOptions,
  masters: readonly string[],
  agents: readonly string[],
): Promise<{ ok: boolean; summary: string; last: MesosLook }> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const health = await mastersHealth(opts, masters);
    const v = mastersVerdict(health);
    let summary = v.summary;
    let ok = v.ok;
    let listed: MesosLook['listed'];
    if (ok && agents.length > 0) {
      listed = await leaderAgentsAny(opts);
      const missing = notActive(opts, listed, agents);
      ok = missing.length === 0;
      summary = `${summary}; agents registered: ${agents.length - missing.length} of ${agents.length}${missing.length > 0 ? ` (not: ${missing.join(', ')})` : ''}`;
    }
    if (ok || Date.now() >= deadline || opts.signal?.aborted === true)
      return { ok, summary, last: { health, listed } };
    await sleep(opts.intervalMs);
  }
}

/** A unit that keeps failing stops the wait at once, with what its journal says. */
async function failFastOnUnits(
  opts: GateOptions,
  wave: Wave,
  restartsBefore: Map<string, number>,
): Promise<void> {
  const unit = `${wave.service}.service`;
  const answers = await Promise.all(
    wave.hosts.map((h) => probe(opts, h, { zk: false, http: [], units: [unit] })),
  );
  for (const [i, a] of answers.entries()) {
    const host = wave.hosts[i]!;
    const u = a.units.get(unit);
    // The first look is the baseline: restarts from before this step do not count.
    if (!restartsBefore.has(host)) restartsBefore.set(host, u?.restarts ?? 0);
    const trouble = unitTrouble(u, restartsBefore.get(host));
    if (trouble === undefined) continue;
    const journal = await journalTail(opts, host, unit);
    throw new MesoError('ServiceFailed', `${unit} on ${host} ${trouble}`, {
      hint: `${journal === '' ? 'its journal is empty' : `the last lines of its journal:\n${journal}`}\nfix the cause and apply again (journalctl -u ${unit} on ${host} has the rest)`,
    });
  }
}

/** The last lines of a unit's journal on a host, indented for an error's hint ('' when none). */
export async function journalTail(
  opts: GateOptions,
  host: string,
  unit: string,
  lines = 15,
): Promise<string> {
  try {
    const a = await probe(opts, host, { zk: false, http: [], journal: [{ unit, lines }] });
    return (a.journal.get(unit) ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => `  ${l}`)
      .join('\n');
  } catch {
    return '';
  }
}

/**
 * Poll `check` until it says ok or the time is up; the last reason goes into the error, with the
 * journal of the wave's units. A unit that fails or restarts stops the wait at once.
 */
async function until(
  opts: GateOptions,
  wave: Wave,
  what: string,
  check: () => Promise<{ ok: boolean; why: string }>,
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const restartsBefore = new Map<string, number>();
  let last: string;
  for (;;) {
    // A member that was stopped on purpose is not watched (a JVM stopped by SIGTERM exits 143).
    if (wave.action !== 'stop') await failFastOnUnits(opts, wave, restartsBefore);
    const r = await check();
    if (r.ok) return;
    last = r.why;
    if (Date.now() >= deadline || opts.signal?.aborted === true) break;
    await sleep(opts.intervalMs);
  }
  const unit = `${wave.service}.service`;
  const journals = await Promise.all(
    wave.hosts.map(async (h) => {
      const j = await journalTail(opts, h, unit, 8);
      return j === '' ? '' : `${unit} on ${h}, last lines of its journal:\n${j}`;
    }),
  );
  throw new MesoError(
    'HealthTimeout',
    `${what} not healthy after ${Math.round(opts.timeoutMs / 1000)} s: ${last}`,
    {
      hint: [...journals.filter((j) => j !== ''), 'the cluster state is saved; apply again once fixed'].join(
        '\n',
      ),
    },
  );
}

/**
 * One add-on on one host: its unit is active and, when it has a health check, the check passes
 * (HTTP: a 2xx or 3xx answer; TCP: a connection opens), asked on the host at its private address.
 */
export async function addonHealth(
  opts: Pick<GateOptions, 'topology' | 'connection' | 'templates'>,
  host: string,
  service: string,
  health: AddonHealth | undefined,
): Promise<{ ok: boolean; why: string; url?: string }> {
  const h = opts.topology.hosts.find((x) => x.name === host)!;
  const unit = `${service}.service`;
  const a = await probe(opts as GateOptions, host, {
    zk: false,
    units: [unit],
    http:
      health?.kind === 'http'
        ? [{ name: 'addon', address: h.privateAddress, port: health.port, path: health.path }]
        : [],
    ...(health?.kind === 'tcp'
      ? { tcp: [{ name: 'addon', address: h.privateAddress, port: health.port }] }
      : {}),
  });
  const u = a.units.get(unit);
  if (u?.active !== 'active') return { ok: false, why: `${unit} is ${u?.active ?? 'unknown'}` };
  if (health === undefined) return { ok: true, why: `${unit} is active` };
  if (health.kind === 'tcp') {
    const open = a.tcp.get('addon') === true;
    return {
      ok: open,
      why: open
        ? `port ${health.port} accepts connections`
        : `nothing accepts connections on port ${health.port}`,
    };
  }
  const status = a.http.get('addon')?.status ?? 0;
  const ok = status >= 200 && status < 400;
  return {
    ok,
    why:
      status === 0
        ? `no answer on port ${health.port}`
        : `${health.path} on port ${health.port} answers ${status}`,
  };
}

/** The first of these hosts whose leader endpoint (e.g. etcd's /metrics) matches the pattern. */
export async function addonLeader(
  opts: GateOptions,
  hosts: readonly string[],
  leader: { port: number; path: string; pattern: string },
): Promise<string | undefined> {
  const re = new RegExp(leader.pattern, 'm');
  const answers = await Promise.all(
    hosts.map((host) => {
      const h = opts.topology.hosts.find((x) => x.name === host)!;
      return probe(opts, host, {
        zk: false,
        http: [{ name: 'leader', address: h.privateAddress, port: leader.port, path: leader.path }],
      }).then(
        (a) => a.http.get('leader'),
        () => undefined,
      );
    }),
  );
  return hosts.find((_, i) => answers[i]?.status === 200 && re.test(answers[i].body));
}

/** The gates apply waits on between waves, checked from the hosts themselves over SSH. */
export function makeGate(opts: GateOptions): (wave: Wave) => Promise<void> {
  return async (wave) => {
    switch (wave.gate) {
      case 'none':
        return;
      case 'zk-serving': {
        // A membership step: the members that should run serve with one leader (a hand-over also
        // waits for the leadership to move).
        const members = wave.step?.serving ?? [];
        return until(opts, wave, 'the ZooKeeper ensemble', async () => {
          const modes = await zkModes(opts, members);
          const v = ensembleVerdict(modes);
          const leader = members.find((h) => modes.get(h) === 'leader');
          if (v.ok && wave.step?.handover === true && leader === wave.hosts[0])
            return { ok: false, why: `${leader} still leads` };
          return { ok: v.ok, why: v.summary };
        });
      }
      case 'zk-leader':
        return until(opts, wave, 'the ZooKeeper ensemble', async () => {
          const v = ensembleVerdict(await ensembleModes(opts));
          return { ok: v.ok, why: v.summary };
        });
      case 'master-healthy':
        return until(opts, wave, `mesos-master on ${wave.hosts.join(', ')}`, async () => {
          const health = await mastersHealth(opts);
          for (const host of wave.hosts) {
            const m = health.get(host);
            if (m?.answered !== true)
              return { ok: false, why: `${host} does not answer on port ${opts.masterPort}` };
            // A master whose log replica has not recovered cannot vote: restarting the next one now
            // could leave the replicated log without a quorum.
            if (wave.settle === 'cluster' && !m.logRecovered)
              return { ok: false, why: `${host} answers, its replica of the registry has not recovered yet` };
          }
          if (wave.settle === 'answer') return { ok: true, why: '' };
          const v = mastersVerdict(health);
          return { ok: v.ok, why: v.summary };
        });
      case 'marathon-ping':
        return until(opts, wave, `marathon on ${wave.hosts.join(', ')}`, async () => {
          for (const host of wave.hosts) {
            const h = opts.topology.hosts.find((x) => x.name === host)!;
            const a = await probe(opts, host, {
              zk: false,
              http: [{ name: 'ping', address: h.privateAddress, port: opts.marathonPort, path: '/ping' }],
            });
            if (a.http.get('ping')?.status !== 200)
              return { ok: false, why: `${host} does not answer /ping` };
          }
          return { ok: true, why: '' };
        });
      case 'addon-healthy':
        return until(opts, wave, `${wave.service} on ${wave.hosts.join(', ')}`, async () => {
          for (const host of wave.hosts) {
            const v = await addonHealth(opts, host, wave.service, wave.health);
            if (!v.ok) return { ok: false, why: `${host}: ${v.why}` };
          }
          return { ok: true, why: '' };
        });
      case 'agents-registered':
        // Each agent of the wave says it is registered (its own `slave/registered`, so a restarted
        // agent counts only once the new process has registered) and the leader lists it active.
        return until(opts, wave, `mesos-agent on ${wave.hosts.join(', ')}`, async () => {
          const own = await Promise.all(
            wave.hosts.map(async (host) => {
              const h = opts.topology.hosts.find((x) => x.name === host)!;
              const port = opts.agentPorts?.get(host) ?? 5051;
              const a = await probe(opts, host, {
                zk: false,
                http: [{ name: 'metrics', address: h.privateAddress, port, path: '/metrics/snapshot' }],
              });
              return registeredItself(a.http.get('metrics'));
            }),
          );
          const notYet = wave.hosts.filter((_, i) => own[i] !== true);
          if (notYet.length > 0)
            return {
              ok: false,
              why: `${notYet.join(', ')}: not registered with a master yet (the agent's own metrics)`,
            };
          const listed = await leaderAgentsAny(opts);
          if (listed === undefined) return { ok: false, why: 'no leading master answers /master/slaves' };
          const missing = notActive(opts, listed, wave.hosts);
          return {
            ok: missing.length === 0,
            why: `${missing.join(', ')}: not active on the leading master ${listed.leader}`,
          };
        });
    }
  };
}
