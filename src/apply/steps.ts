// A membership step (plan.membership): write the member's zoo.cfg or quorum file for this step,
// then start, restart or stop it. Stopped members leave for good: disabled, masked, a master's
// replicated log moved aside, so that nothing can start them again with a stale view.
import { withServers } from '../plan/membership.js';
import type { Plan } from '../plan/types.js';
import { MASTER_QUORUM_FILE, ZK_CONF } from '../render/paths.js';
import type { DesiredState } from '../render/types.js';
import { MesoError } from '../util/errors.js';
import { scriptCommand, shellQuoteArg } from '../util/shell.js';
import type { ApplyDeps } from './apply.js';
import { parseWriteResult, writeFilesCommand, writeFilesInput } from './files.js';
import type { Wave } from './schedule.js';

/** $1 unit, $2 `mask` or `stays`, $3 the replicated log directory to move aside ('' for none). */
const STOP_MEMBER_SCRIPT = `set -e
systemctl stop -- "$1"
if [ "$2" = mask ]; then
  systemctl disable -- "$1" >/dev/null 2>&1 || true
  rm -f -- "/etc/systemd/system/$1"
  systemctl mask -- "$1"
  systemctl daemon-reload
fi
if [ -n "$3" ] && [ -d "$3" ]; then mv -- "$3" "$3.removed-$(date -u +%Y%m%dT%H%M%SZ)"; fi`;

/** Host and path of every file a membership step writes instead of the host's file step. */
export function deferredFiles(plan: Plan): Set<string> {
  const out = new Set<string>();
  for (const s of plan.membership?.zookeeper?.steps ?? [])
    if (s.servers !== undefined) out.add(`${s.host}\t${ZK_CONF}`);
  for (const s of plan.membership?.masters?.steps ?? [])
    if (s.quorum !== undefined) out.add(`${s.host}\t${MASTER_QUORUM_FILE}`);
  return out;
}

/** The file this step writes on its host, or undefined (a stop, or a host gone from the spec). */
function stepFile(
  desired: DesiredState,
  wave: Wave,
): { path: string; owner: string; group: string; mode: number; content: string } | undefined {
  const host = desired.hosts.find((h) => h.host.name === wave.hosts[0]);
  const step = wave.step;
  if (host === undefined || step === undefined || wave.action === 'stop') return undefined;
  const path =
    step.servers !== undefined ? ZK_CONF : step.quorum !== undefined ? MASTER_QUORUM_FILE : undefined;
  const f = path === undefined ? undefined : host.files.find((x) => x.path === path);
  if (f === undefined) return undefined;
  const content =
    step.servers === undefined
      ? f.content
      : withServers(f.content, new Map(Object.entries(step.servers).map(([id, v]) => [Number(id), v])));
  return { path: f.path, owner: f.owner, group: f.group, mode: f.mode, content };
}

/** Write the step's file (recorded as pending a restart), then start, restart or stop the member. */
export async function runStep(desired: DesiredState, wave: Wave, deps: ApplyDeps): Promise<void> {
  const host = wave.hosts[0]!;
  const unit = `${wave.service}.service`;
  const conn = await deps.connection(host);
  const f = stepFile(desired, wave);
  if (f !== undefined) {
    const r = await conn.exec(writeFilesCommand(deps.templates['write-files.sh'] ?? ''), {
      stdin: writeFilesInput([{ op: 'write', ...f }]),
    });
    const result = parseWriteResult(r.stdout);
    const sha256 = result.written.get(f.path);
    if (r.code !== 0 || sha256 === undefined)
      throw new MesoError('ApplyFailed', `writing ${f.path} on ${host} failed`, {
        hint: r.stderr.trim().split('\n').slice(-2).join(' / ') || 'see the host for details',
      });
    await deps.onHostApplied({
      host,
      written: new Map([[f.path, { sha256, owner: f.owner, group: f.group, mode: f.mode }]]),
      deleted: [],
      enabled: [],
      step: wave.service,
    });
  }
  const command =
    wave.action === 'stop'
      ? `${scriptCommand(STOP_MEMBER_SCRIPT, 'meso-stop-member', 'sh')} ${[
          unit,
          wave.step?.stays === true ? 'stays' : 'mask',
          wave.step?.workDir === undefined ? '' : `${wave.step.workDir}/replicated_log`,
        ]
          .map(shellQuoteArg)
          .join(' ')}`
      : // A start restarts: a unit some package started with its own defaults must read this step's file.
        `systemctl restart -- ${shellQuoteArg(unit)}`;
  const r = await conn.exec(command);
  if (r.code !== 0)
    throw new MesoError('ApplyFailed', `${wave.action} ${unit} failed on ${host}`, {
      hint: `see journalctl -u ${unit} on ${host}: ${r.stderr.trim().split('\n').slice(-1).join('')}`,
    });
}

/**
 * The leader last, as ZooKeeper says at the time: a round's restarts were ordered by the leader
 * the plan saw, and a hand-over or an earlier round may have moved it. When the host of the next
 * restart leads now, it swaps places with the round's last restart (they write the same list).
 */
export async function leaderLast(
  waves: Wave[],
  index: number,
  leaderOf: ((hosts: string[]) => Promise<string | undefined>) | undefined,
): Promise<void> {
  const w = waves[index]!;
  if (leaderOf === undefined || w.service !== 'zookeeper' || w.action !== 'restart' || w.step === undefined)
    return;
  if (w.step.handover === true) return;
  const sameRound = (x: Wave): boolean =>
    x.service === 'zookeeper' &&
    x.action === 'restart' &&
    x.step?.round === w.step!.round &&
    x.step?.handover !== true;
  let last = -1;
  for (let i = index + 1; i < waves.length; i++) if (sameRound(waves[i]!)) last = i;
  if (last < 0) return;
  const serving = waves[index - 1]?.step?.serving ?? [];
  const leader = await leaderOf(serving.length > 0 ? serving : w.hosts);
  if (leader !== w.hosts[0]) return;
  const other = waves[last]!;
  waves[last] = { ...other, hosts: w.hosts, why: 'the leader last (ZooKeeper says it leads now)' };
  waves[index] = { ...w, hosts: other.hosts, why: 'followers first' };
}
