// The endpoints block as text: aligned `name = value` lines, like Terraform's outputs.
import type { Endpoints } from '../engine/endpoints.js';

/** Rows of cells, each column padded to its widest cell (the last one not padded). */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function endpointsText(e: Endpoints): string {
  const out: [string, string[]][] = [];
  out.push([
    'masters',
    columns(
      e.masters.map((m) => [
        m.host,
        m.url ?? '(address unknown)',
        m.leader ? 'leader' : m.reachable ? 'standby' : `not reachable (${m.reason ?? 'unknown'})`,
      ]),
    ),
  ]);
  out.push(['leader', [e.leader ?? '(none)']]);
  out.push(['zookeeper', [e.zookeeper]]);
  out.push(['marathon', e.marathon.length === 0 ? ['(not enabled)'] : e.marathon]);
  if (e.balancers.length > 0)
    out.push([
      'balancers',
      columns(e.balancers.map((b) => [b.name, b.dns, `${b.scheme}, ports ${b.ports.join(',')}`])),
    ]);
  out.push([
    'agents',
    e.agents.length === 0
      ? ['(none)']
      : columns(
          e.agents.map((a) => [
            a.host,
            a.address ?? '(address unknown)',
            a.registered ? 'registered' : 'not registered',
          ]),
        ),
  ]);
  if (e.addons !== undefined && e.addons.length > 0)
    out.push([
      'addons',
      columns(e.addons.map((a) => [a.name, a.host, a.url ?? a.address ?? '(address unknown)'])),
    ]);
  const width = Math.max(...out.map(([k]) => k.length));
  const lines = out.flatMap(([k, values]) =>
    values.map((v, i) => `${(i === 0 ? k : '').padEnd(width)} ${i === 0 ? '=' : ' '} ${v}`),
  );
  return `Endpoints:\n\n${lines.join('\n')}\n`;
}

/** One line for apply's `endpoints` event: the leader and where ZooKeeper is. */
export function endpointsSummary(e: Endpoints): string {
  return `endpoints: leader ${e.leader ?? '(none)'}; zookeeper ${e.zookeeper}`;
}
