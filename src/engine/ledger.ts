// What an apply writes into the state as it goes, host by host and step by step.
import type { HostApplied } from '../apply/apply.js';
import type { Wave } from '../apply/schedule.js';
import type { Plan } from '../plan/types.js';
import { looksSecret } from '../render/paths.js';
import { sensitiveRecord } from '../state/secrets.js';
import type { ClusterState } from '../state/types.js';
import type { Session } from './prepare.js';

/**
 * Once a host's files are written and its software installed, the restarts they call for are
 * pending in the state until their step has passed its gate: an apply that stops in between leaves
 * the next plan restarting them.
 */
export function markPending(state: ClusterState, plan: Plan, a: HostApplied): void {
  const h = state.hosts[a.host];
  if (h === undefined) return;
  const pending = new Map((h.pending ?? []).map((x) => [x.service, x]));
  if (a.step !== undefined) {
    // A membership step wrote this member's file: its own start or restart is what is pending.
    pending.set(a.step, { service: a.step, membership: true });
    h.pending = [...pending.values()].sort((x, y) => x.service.localeCompare(y.service));
    return;
  }
  for (const c of plan.changes) {
    if (c.kind !== 'service' || c.host !== a.host || c.action !== 'restart') continue;
    const reset = c.recovery !== undefined || pending.get(c.service)?.reset === true;
    pending.set(c.service, { service: c.service, ...(reset ? { reset: true } : {}) });
  }
  if (pending.size > 0) h.pending = [...pending.values()].sort((x, y) => x.service.localeCompare(y.service));
}

/** A step passed its gate: its restarts are no longer pending. True when the state changed. */
export function clearPending(state: ClusterState, w: Wave): boolean {
  let changed = false;
  for (const host of w.hosts) {
    const h = state.hosts[host];
    if (h?.pending === undefined) continue;
    const left = h.pending.filter((x) => x.service !== w.service);
    if (left.length === h.pending.length) continue;
    changed = true;
    if (left.length === 0) delete h.pending;
    else h.pending = left;
  }
  return changed;
}

/**
 * A host's files and units as apply left them; a sensitive file without its hash (`writtenBy`:
 * who holds the lock, see writerOf).
 */
export function recordApplied(p: Session, a: HostApplied, writtenBy: string): void {
  const t = p.topology.hosts.find((h) => h.name === a.host)!;
  const h = (p.state.hosts[a.host] ??= {
    address: t.address,
    privateAddress: t.privateAddress,
    files: {},
    directories: [],
    services: [],
  });
  const d = p.desired.hosts.find((x) => x.host.name === a.host)!;
  const sensitive = new Set(d.files.filter((f) => f.sensitive).map((f) => f.path));
  const now = new Date().toISOString();
  for (const [path, fp] of a.written)
    h.files[path] =
      sensitive.has(path) || looksSecret(path, fp.mode) ? sensitiveRecord(fp, now, writtenBy) : fp;
  for (const path of a.deleted) delete h.files[path];
  h.directories = d.directories.map((x) => ({ path: x.path, data: x.data }));
  if (a.enabled.length > 0) h.services = a.enabled;
}
