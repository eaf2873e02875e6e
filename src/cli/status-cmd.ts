import { clusterStatus } from '../engine/status.js';
import type { ClusterStatus } from '../engine/status.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';
import { reporter } from './report.js';

/** `meso status FILE`: ZooKeeper, the Mesos masters and agents, Marathon and the units, now. */
export async function statusCommand(
  file: string,
  opts: { json?: boolean; strictHosts?: boolean },
  io: Io,
): Promise<number> {
  const spec = await loadOrFail(file, io);
  const s = await clusterStatus(spec, file, reporter(io, false), opts.strictHosts === true);
  io.out(opts.json === true ? `${JSON.stringify(s, null, 2)}\n` : statusText(s));
  return s.healthy ? 0 : 1;
}

function statusText(s: ClusterStatus): string {
  const lines: string[] = [];
  const zk = s.zookeeper;
  lines.push(`ZooKeeper: ${zk.ok ? 'healthy' : 'NOT healthy'} (${zk.summary})`);
  for (const [h, m] of Object.entries(zk.members)) lines.push(`  ${h}: ${m ?? 'down'}`);
  const m = s.masters;
  lines.push(
    m.installed.length === 0
      ? 'Mesos masters: not installed on any master; their units are left to systemd'
      : `Mesos masters: ${m.ok ? 'healthy' : 'NOT healthy'} (leader: ${m.leaders.join(', ') || 'none'}${m.leaders.length > 0 && !m.registry_recovered ? ', registry not recovered' : ''}; agents registered: ${m.agents_registered} of ${m.agents_expected})`,
  );
  const unregistered = Object.entries(m.agents)
    .filter(([, r]) => r === false)
    .map(([n]) => n);
  if (unregistered.length > 0) lines.push(`  not registered: ${unregistered.join(', ')}`);
  const mt = s.marathon;
  if (mt.enabled) {
    lines.push(
      mt.installed.length === 0
        ? 'Marathon: not installed'
        : `Marathon: ${mt.ok ? 'healthy' : 'NOT healthy'} (${Object.entries(mt.ping)
            .map(([h, ok]) => `${h} ${ok ? 'pong' : 'no answer'}`)
            .join(', ')})`,
    );
  }
  for (const [name, a] of Object.entries(s.addons ?? {})) {
    lines.push(`Add-on ${name}: ${a.ok ? 'healthy' : 'NOT healthy'}`);
    for (const [h, x] of Object.entries(a.hosts))
      lines.push(`  ${h}: ${x.ok ? 'ok' : 'NOT ok'} (${x.detail})`);
  }
  for (const [h, why] of Object.entries(s.unreachable)) lines.push(`! host/${h}: unreachable (${why})`);
  lines.push('Units:');
  for (const [h, u] of Object.entries(s.units)) {
    lines.push(
      `  ${h}: ${Object.entries(u)
        .map(([unit, st]) => `${unit} ${st}`)
        .join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
