import { MesoError } from '../util/errors.js';
import type { GateOptions } from './gates.js';
import { leadingMaster, probe } from './gates.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface AgentEntry {
  agent_info?: { id?: { value?: string }; hostname?: string };
  drain_info?: { state?: string };
  deactivated?: boolean;
}

/** The leading master (as the masters' own metrics say) and its address. */
async function leader(opts: GateOptions): Promise<{ name: string; address: string } | undefined> {
  const name = await leadingMaster(opts);
  const m = opts.topology.masters.find((x) => x.name === name);
  return m === undefined ? undefined : { name: m.name, address: m.privateAddress };
}

async function operator(
  opts: GateOptions,
  master: { name: string; address: string },
  body: Record<string, unknown>,
): Promise<{ status: number; json: unknown }> {
  const a = await probe(opts, master.name, {
    zk: false,
    http: [
      {
        name: 'api',
        address: master.address,
        port: opts.masterPort,
        path: '/api/v1',
        body: JSON.stringify(body),
      },
    ],
  });
  const r = a.http.get('api');
  let json: unknown;
  try {
    json = JSON.parse(r?.body ?? '');
  } catch {
    json = undefined;
  }
  return { status: r?.status ?? 0, json };
}

/** Tasks the leader lists as not completed on an agent (GET_TASKS), or undefined when it does not say. */
async function tasksOn(
  opts: GateOptions,
  master: { name: string; address: string },
  agentId: string,
): Promise<number | undefined> {
  const r = await operator(opts, master, { type: 'GET_TASKS' });
  const answer = (r.json as { get_tasks?: { tasks?: unknown } } | undefined)?.get_tasks;
  const tasks = answer?.tasks ?? [];
  if (r.status !== 200 || answer === undefined || !Array.isArray(tasks)) return undefined;
  return (tasks as { agent_id?: { value?: string } }[]).filter((t) => t.agent_id?.value === agentId).length;
}

function agents(json: unknown): AgentEntry[] {
  const list = (json as { get_agents?: { agents?: unknown } } | undefined)?.get_agents?.agents;
  return Array.isArray(list) ? (list as AgentEntry[]) : [];
}

/**
 * Drain one agent through the leading master's operator API (Mesos 1.9+: DRAIN_AGENT, then
 * GET_AGENTS until its drain state is DRAINED), before its recovery is reset. An agent the master
 * does not know has nothing to drain. Returns what it did, for the progress report.
 */
export async function drainAgent(
  opts: GateOptions,
  agent: string,
  drain: { gracePeriodSeconds: number; timeoutSeconds: number },
): Promise<string> {
  const host = opts.topology.hosts.find((h) => h.name === agent);
  const master = await leader(opts);
  if (host === undefined || master === undefined)
    throw new MesoError('HealthTimeout', `cannot drain ${agent}: no master is leading`, {
      hint: 'bring the masters back, or remove agents[].drain to restart without draining',
    });
  const find = async (): Promise<AgentEntry | undefined> => {
    const r = await operator(opts, master, { type: 'GET_AGENTS' });
    if (r.status !== 200)
      throw new MesoError('HealthTimeout', `GET_AGENTS on ${master.name} answered ${r.status || 'nothing'}`, {
        hint: 'draining needs Mesos 1.9 or later (the v1 operator API)',
      });
    return agents(r.json).find((a) => a.agent_info?.hostname === host.privateAddress);
  };
  const entry = await find();
  const id = entry?.agent_info?.id?.value;
  if (id === undefined) return `${agent} is not registered with ${master.name}: nothing to drain`;
  const r = await operator(opts, master, {
    type: 'DRAIN_AGENT',
    drain_agent: {
      agent_id: { value: id },
      max_grace_period: { nanoseconds: drain.gracePeriodSeconds * 1_000_000_000 },
    },
  });
  if (r.status !== 200 && r.status !== 202)
    throw new MesoError(
      'ApplyFailed',
      `DRAIN_AGENT for ${agent} (${id}) on ${master.name} answered ${r.status || 'nothing'}`,
      {
        hint: 'draining needs Mesos 1.9 or later; or remove agents[].drain',
      },
    );
  const deadline = Date.now() + drain.timeoutSeconds * 1000;
  for (;;) {
    const now = await find();
    if (now === undefined || now.drain_info?.state === 'DRAINED') return `${agent} (${id}) drained`;
    // Mesos moves an agent to DRAINED only once every terminal update is acknowledged; a framework
    // that ended first (as mesos-execute does after TASK_KILLED) leaves it DRAINING for good. What
    // the reset needs is that no task runs there any more.
    if (now.drain_info?.state === 'DRAINING' && (await tasksOn(opts, master, id)) === 0)
      return `${agent} (${id}) drained: no task runs on it (Mesos says DRAINING: a framework did not acknowledge its last updates)`;
    if (Date.now() >= deadline || opts.signal?.aborted === true)
      throw new MesoError(
        'HealthTimeout',
        `${agent} (${id}) is not drained after ${drain.timeoutSeconds} s`,
        {
          hint: 'its tasks are still running; raise agents[].drain.timeoutSeconds or drain it by hand, then apply again',
        },
      );
    await sleep(opts.intervalMs);
  }
}
