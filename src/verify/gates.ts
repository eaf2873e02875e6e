import type { Wave } from '../apply/schedule.js';
import type { Topology } from '../model/topology.js';
import type { ZkMode } from '../observe/observe.js';
import type { Templates } from '../render/types.js';
import type { HostConnection } from '../transport/host.js';
import { MesoError } from '../util/errors.js';
import { ensembleVerdict, healthCommand, healthInput, masterHealth, parseHealth } from './health.js';
import type { HealthAnswer, HttpProbe } from './health.js';

export interface GateOptions {
  topology: Topology;
  connection: (host: string) => Promise<HostConnection>;
  templates: Templates;
  zkPort: number;
  masterPort: number;
  marathonPort: number;
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Ask one host for ZooKeeper's role and any HTTP endpoints, in one round trip. */
export async function probe(
  opts: GateOptions,
  host: string,
  req: { zk: boolean; http: HttpProbe[] },
): Promise<HealthAnswer> {
  const conn = await opts.connection(host);
  const r = await conn.exec(healthCommand(opts.templates['health.sh'] ?? ''), {
    stdin: healthInput({ ...(req.zk ? { zkPort: opts.zkPort } : {}), http: req.http }),
  });
  return parseHealth(r.stdout);
}

export async function ensembleModes(opts: GateOptions): Promise<Map<string, ZkMode | undefined>> {
  const answers = await Promise.all(
    opts.topology.ensemble.map((h) => probe(opts, h.name, { zk: true, http: [] })),
  );
  return new Map(opts.topology.ensemble.map((h, i) => [h.name, answers[i]!.zkMode]));
}

/** Poll `check` until it says ok or the time is up; the last reason goes into the error. */
async function until(
  opts: GateOptions,
  what: string,
  check: () => Promise<{ ok: boolean; why: string }>,
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: string;
  for (;;) {
    const r = await check();
    if (r.ok) return;
    last = r.why;
    if (Date.now() >= deadline || opts.signal?.aborted === true) break;
    await sleep(opts.intervalMs);
  }
  throw new MesoError(
    'HealthTimeout',
    `${what} not healthy after ${Math.round(opts.timeoutMs / 1000)} s: ${last}`,
    {
      hint: 'look at the service journal on the hosts (journalctl -u <unit>); the cluster state is saved, apply again once fixed',
    },
  );
}

/** The gates apply waits on between waves, checked from the hosts themselves over SSH. */
export function makeGate(opts: GateOptions): (wave: Wave) => Promise<void> {
  const metrics = (host: string): HttpProbe => {
    const h = opts.topology.hosts.find((x) => x.name === host)!;
    return { name: 'metrics', address: h.privateAddress, port: opts.masterPort, path: '/metrics/snapshot' };
  };
  const startedAgents = new Set<string>();
  return async (wave) => {
    switch (wave.gate) {
      case 'zk-leader':
        return until(opts, 'the ZooKeeper ensemble', async () => {
          const v = ensembleVerdict(await ensembleModes(opts));
          return { ok: v.ok, why: v.summary };
        });
      case 'master-healthy':
        return until(opts, `mesos-master on ${wave.hosts.join(', ')}`, async () => {
          for (const host of wave.hosts) {
            const m = masterHealth(
              (await probe(opts, host, { zk: false, http: [metrics(host)] })).http.get('metrics'),
            );
            if (!m.answered) return { ok: false, why: `${host} does not answer on port ${opts.masterPort}` };
          }
          return { ok: true, why: '' };
        });
      case 'marathon-ping':
        return until(opts, `marathon on ${wave.hosts.join(', ')}`, async () => {
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
      case 'agents-registered': {
        // Started agents so far must all be registered; after a restart, every agent must be back.
        for (const h of wave.hosts) startedAgents.add(h);
        const expected = wave.action === 'restart' ? opts.topology.agents.length : startedAgents.size;
        return until(opts, `mesos-agent on ${wave.hosts.join(', ')}`, async () => {
          let registered = 0;
          for (const m of opts.topology.masters) {
            const h = masterHealth(
              (await probe(opts, m.name, { zk: false, http: [metrics(m.name)] })).http.get('metrics'),
            );
            if (h.elected && h.recovered) registered = Math.max(registered, h.agentsActive);
          }
          return {
            ok: registered >= expected,
            why: `${registered} of ${expected} agents registered with the leading master`,
          };
        });
      }
    }
  };
}
