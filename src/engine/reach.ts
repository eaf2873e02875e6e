// Connecting to the fleet before observing it: every host at once, the whole attempt bounded by
// ssh.connectTimeoutSeconds, and the agents that do not answer skipped within their budget.
import { unreachableVerdict } from '../plan/unreachable.js';
import type { UnreachableHost } from '../plan/unreachable.js';
import { isMesoError, MesoError } from '../util/errors.js';
import type { Session } from './prepare.js';

/** Handshakes in flight at once: direct connections are cheap; a bastion's sshd limits its startups. */
const DIRECT_LIMIT = 256;
const BASTION_LIMIT = 8;

/** `ghost: cannot connect to ...` -> `cannot connect to ...` (the plan line names the host already). */
function reasonOf(host: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.startsWith(`${host}: `) ? message.slice(host.length + 2) : message;
}

/** Connect to `hosts` at once, the whole attempt bounded; the hosts that failed, with why. */
function connectFleet(p: Session, hosts: readonly string[]): Promise<Map<string, unknown>> {
  // Through a bastion the handshakes queue behind its MaxStartups, so each keeps its own retries.
  const viaBastion = p.spec.ssh.bastion !== undefined;
  return p.pool.connectAll(
    hosts,
    viaBastion
      ? { limit: BASTION_LIMIT }
      : { limit: DIRECT_LIMIT, deadlineAt: Date.now() + p.spec.ssh.connectTimeoutSeconds * 1000 },
  );
}

/**
 * Connect to `hosts` for a look that changes nothing (`meso endpoints`): the hosts the network keeps
 * us from, with the reason, whatever their role. A host that answers but refuses us (host key,
 * credentials) still stops the run, as everywhere.
 */
export async function reachForLook(p: Session, hosts: readonly string[]): Promise<Map<string, string>> {
  const failed = [...(await connectFleet(p, hosts))].sort(([a], [b]) => a.localeCompare(b));
  const other = failed.find(([, e]) => !(isMesoError(e) && e.code === 'SshUnreachable'));
  if (other !== undefined) throw other[1];
  return new Map(failed.map(([h, e]) => [h, reasonOf(h, e)]));
}

/**
 * Connect to `hosts` and return the agents to skip. Throws, as before this existed, when a host
 * fails for another reason than the network (a host key, credentials), when a master or ZooKeeper
 * member is unreachable, when a group is over its maxUnreachable, or with `strict` on any failure.
 */
export async function reachHosts(
  p: Session,
  hosts: readonly string[],
  strict: boolean,
  /** Hosts this run just created: never skipped (an unconfigured new host is not a down one). */
  mustReach: readonly string[] = [],
): Promise<UnreachableHost[]> {
  const failed = await connectFleet(p, hosts);
  if (failed.size === 0) return [];
  const sorted = [...failed].sort(([a], [b]) => a.localeCompare(b));
  const other = sorted.find(
    ([h, e]) => mustReach.includes(h) || !(isMesoError(e) && e.code === 'SshUnreachable'),
  );
  if (strict || other !== undefined) throw (other ?? sorted[0]!)[1];
  const verdict = unreachableVerdict(p.topology, new Map(sorted.map(([h, e]) => [h, reasonOf(h, e)])));
  if (verdict.ok) return verdict.skip;
  if (verdict.host !== undefined) throw failed.get(verdict.host);
  throw new MesoError('HostsUnreachable', verdict.message, { hint: verdict.hint });
}
