// `meso status`: the same checks as apply's verify, on demand, from the hosts themselves.
import type { ServiceName } from '../render/types.js';
import type { Spec } from '../spec/types.js';
import { MesoError } from '../util/errors.js';
import type { GateOptions } from '../verify/gates.js';
import {
  addonHealth,
  ensembleModes,
  leaderAgentsAny,
  mastersHealth,
  mastersVerdict,
  notActive,
  probe,
} from '../verify/gates.js';
import { ensembleVerdict } from '../verify/health.js';
import { observeAndPlan } from './observe.js';
import { gateOptions, installedOn, prepare } from './prepare.js';
import type { Say, Session } from './prepare.js';
import { stateBackend } from './session.js';

/** The shape `meso status --json` prints. */
export interface ClusterStatus {
  healthy: boolean;
  zookeeper: { ok: boolean; members: Record<string, string | undefined>; summary: string };
  masters: {
    ok: boolean;
    installed: string[];
    leader: string | null;
    leaders: string[];
    agents_registered: number;
    agents_expected: number;
    registry_recovered: boolean;
    agents: Record<string, boolean | null>;
  };
  marathon: { ok: boolean; enabled: boolean; installed: string[]; ping: Record<string, boolean> };
  units: Record<string, Record<string, string>>;
  /** Each add-on's health per host: its unit active and its health check passing (only with add-ons). */
  addons?: Record<string, { ok: boolean; hosts: Record<string, { ok: boolean; detail: string }> }>;
  /** Agents that did not answer (within their maxUnreachable), by name, with the reason. */
  unreachable: Record<string, string>;
}

export async function clusterStatus(
  spec: Spec,
  specFile: string,
  say: Say,
  strictHosts = false,
): Promise<ClusterStatus> {
  const backend = await stateBackend(spec, specFile);
  const p = await prepare(spec, specFile, backend, say, { lenient: true });
  try {
    if (p.toCreate.length > 0) {
      throw new MesoError('UsageError', `hosts not created yet: ${p.toCreate.join(', ')}`, {
        hint: 'run meso apply first',
      });
    }
    const seen = await observeAndPlan(p, { secrets: false, strictHosts });
    const g = gateOptions(p);
    const modes = await ensembleModes(g);
    const zk = ensembleVerdict(modes);
    // status looks at what is there now, not at what an apply would install.
    const has = (host: string, service: ServiceName): boolean =>
      installedOn(p, seen.raw, host, service, 'now');

    const masters = p.topology.masters.filter((m) => has(m.name, 'mesos-master'));
    const health = await mastersHealth(
      g,
      masters.map((m) => m.name),
    );
    const leaders = [...health].filter(([, h]) => h.elected).map(([n]) => n);
    const verdict = mastersVerdict(health);
    // Which agents are registered, by name: the leader's /master/slaves (a standby redirects to it).
    const asked = masters.length === 0 ? undefined : await leaderAgentsAny(g);
    const inactive = new Set(
      notActive(
        g,
        asked,
        p.topology.agents.map((a) => a.name),
      ),
    );
    const agentsRegistered = Object.fromEntries(
      p.topology.agents.map((a) => [a.name, asked === undefined ? null : !inactive.has(a.name)]),
    );
    const registered =
      asked === undefined
        ? verdict.ok
          ? verdict.agentsActive
          : 0
        : Object.values(agentsRegistered).filter((x) => x === true).length;
    const mesosOk =
      masters.length === 0 || (leaders.length === 1 && verdict.ok && registered >= p.topology.agents.length);

    const marathonHosts = spec.marathon.enabled
      ? p.topology.masters.filter((m) => has(m.name, 'marathon'))
      : [];
    const pings = new Map<string, boolean>();
    await Promise.all(
      marathonHosts.map(async (m) => {
        const a = await probe(g, m.name, {
          zk: false,
          http: [{ name: 'ping', address: m.privateAddress, port: g.marathonPort, path: '/ping' }],
        });
        pings.set(m.name, a.http.get('ping')?.status === 200);
      }),
    );
    const marathonOk = [...pings.values()].every(Boolean);
    const addons = await addonsStatus(p, g, new Set((seen.plan.unreachable ?? []).map((u) => u.host)));
    const addonsOk = Object.values(addons).every((a) => a.ok);

    const units = Object.fromEntries(
      p.desired.hosts.map((h) => [
        h.host.name,
        Object.fromEntries(
          h.services.map((s) => [s.unit, seen.raw.get(h.host.name)?.units.get(s.unit)?.active ?? 'unknown']),
        ),
      ]),
    );
    return {
      healthy: zk.ok && mesosOk && marathonOk && addonsOk,
      zookeeper: { ok: zk.ok, members: Object.fromEntries(modes), summary: zk.summary },
      masters: {
        ok: mesosOk,
        installed: masters.map((m) => m.name),
        leader: leaders[0] ?? null,
        leaders,
        agents_registered: registered,
        agents_expected: p.topology.agents.length,
        registry_recovered: verdict.ok,
        agents: agentsRegistered,
      },
      marathon: {
        ok: marathonOk,
        enabled: spec.marathon.enabled,
        installed: marathonHosts.map((m) => m.name),
        // In the masters' order, whatever order the answers came in.
        ping: Object.fromEntries(marathonHosts.map((m) => [m.name, pings.get(m.name) === true])),
      },
      units,
      // Present only when the spec has add-ons: the shape of a cluster without them stays as it was.
      ...(spec.addons.length === 0 ? {} : { addons }),
      unreachable: Object.fromEntries((seen.plan.unreachable ?? []).map((u) => [u.host, u.reason])),
    };
  } finally {
    await p.pool.closeAll();
  }
}

/** Every add-on on every host it runs on (hosts skipped as unreachable are left out). */
async function addonsStatus(
  p: Session,
  g: GateOptions,
  skip: ReadonlySet<string>,
): Promise<NonNullable<ClusterStatus['addons']>> {
  const out: NonNullable<ClusterStatus['addons']> = {};
  const checks: Promise<void>[] = [];
  for (const h of p.desired.hosts) {
    if (skip.has(h.host.name)) continue;
    for (const s of h.services) {
      if (s.addon === undefined) continue;
      const entry = (out[s.name] ??= { ok: true, hosts: {} });
      entry.hosts[h.host.name] = { ok: false, detail: 'not asked' };
      checks.push(
        addonHealth(g, h.host.name, s.name, s.addon.health).then(
          (v) => {
            entry.hosts[h.host.name] = { ok: v.ok, detail: v.why };
          },
          (e: unknown) => {
            entry.hosts[h.host.name] = { ok: false, detail: (e as Error).message };
          },
        ),
      );
    }
  }
  await Promise.all(checks);
  for (const a of Object.values(out)) a.ok = Object.values(a.hosts).every((x) => x.ok);
  return out;
}
