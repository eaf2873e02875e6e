import { readFile } from 'node:fs/promises';
import { scriptCommand, shellQuoteArg } from '../util/shell.js';
import type { DesiredState, HostDesiredState, ServiceName, Templates } from '../render/types.js';
import type { Change, FileFingerprint, PackageChange, Plan, ServiceChange } from '../plan/types.js';
import { foreignUnits } from '../render/types.js';
import type { HostConnection } from '../transport/host.js';
import { MesoError } from '../util/errors.js';
import { mapLimit } from '../util/pool.js';
import { parseWriteResult, writeFilesCommand, writeFilesInput } from './files.js';
import type { FileOp } from './files.js';
import type { LiveState, Wave } from './schedule.js';
import { schedule } from './schedule.js';
import { sensitiveContent } from './secrets.js';
import { deferredFiles, leaderLast, runStep } from './steps.js';
import type { SecretReader } from './secrets.js';

/** What the engine reports as it goes; the CLI turns these into listr2 tasks or JSON lines. */
export type ApplyEvent =
  | { type: 'files'; host: string; writes: number; deletes: number }
  | { type: 'files-done'; host: string }
  | { type: 'units'; host: string; reload: boolean; enabled: string[] }
  | { type: 'wave'; index: number; total: number; wave: Wave }
  | { type: 'gate'; wave: Wave }
  | { type: 'interrupted'; remainingWaves: number }
  | { type: 'packages'; host: string; packages: string[] }
  | { type: 'archive'; host: string; prefix: string; bytes: number }
  | { type: 'image'; host: string; image: string }
  | { type: 'warning'; host: string; message: string }
  | { type: 'agent-reset'; host: string; workDir: string }
  | { type: 'drain'; host: string; message: string };

/** What one host now has, to be saved in state as soon as it is known. */
export interface HostApplied {
  host: string;
  written: Map<string, FileFingerprint>;
  deleted: string[];
  enabled: string[];
  /** Written by a membership step whose start or restart follows: only that service is pending. */
  step?: ServiceName;
}

export interface ApplyDeps {
  /** One connection per host for the whole run (the caller pools and closes them). */
  connection: (host: string) => Promise<HostConnection>;
  templates: Templates;
  secrets: SecretReader;
  /** Drain an agent through the master (agents[].drain) before its recovery is reset. */
  drainAgent?: (
    host: string,
    drain: { gracePeriodSeconds: number; timeoutSeconds: number },
  ) => Promise<string>;
  /**
   * The archive to upload, from the machine running meso (default: read the file once per apply,
   * so hosts uploading in parallel share one copy in memory).
   */
  readArchive?: (path: string) => Promise<Buffer>;
  /** Waits until a wave's gate holds (ZooKeeper has a leader, the master is healthy, ...). */
  gate: (wave: Wave) => Promise<void>;
  /** Called after each host's files are written, so state never lags what the hosts hold. */
  onHostApplied: (applied: HostApplied) => Promise<void>;
  /** The ZooKeeper leader among these hosts now (membership rounds restart it last). */
  zkLeader?: (hosts: string[]) => Promise<string | undefined>;
  /** Called once a wave has passed its gate: its restarts are no longer pending. */
  onWaveDone?: (wave: Wave) => Promise<void>;
  onEvent: (e: ApplyEvent) => void;
  /** A change from one master to more may reset the registry (plan.membership). */
  allowRegistryReset?: boolean;
  /** When aborted, no new step starts; steps in flight finish. */
  signal: AbortSignal;
  parallelism: number;
}

export interface ApplyResult {
  interrupted: boolean;
  wavesDone: number;
  wavesTotal: number;
}

const SYSTEMCTL_SCRIPT =
  'set -e; if [ "$1" = reload ]; then systemctl daemon-reload; fi; shift; if [ $# -gt 0 ]; then systemctl enable -- "$@"; fi';

/** The changes apply makes in a host's own step (before the service waves). */
export const isHostStep = (c: Change): boolean =>
  c.kind === 'file' || c.kind === 'package' || (c.kind === 'service' && c.action === 'delete');

/** Stop and disable the services a host must not run (its role went, or a package brought them). */
async function retireServices(plan: Plan, name: string, deps: ApplyDeps): Promise<void> {
  const retired = plan.changes.flatMap((c) =>
    c.host === name && c.kind === 'service' && c.action === 'delete' ? [c.unit] : [],
  );
  if (retired.length === 0) return;
  const conn = await deps.connection(name);
  const r = await conn.exec(`systemctl disable --now -- ${retired.map(shellQuoteArg).join(' ')}`);
  if (r.code !== 0) {
    throw new MesoError('ApplyFailed', `stopping ${retired.join(', ')} on ${name} failed`, {
      hint: r.stderr.trim(),
    });
  }
}

const archives = new Map<string, Promise<Buffer>>();
/** One read per archive and process: a CLI run applies once, and the file is the spec's input. */
function readOnce(path: string): Promise<Buffer> {
  let p = archives.get(path);
  if (p === undefined) {
    p = readFile(path);
    archives.set(path, p);
  }
  return p;
}

/**
 * The lines of a package manager's output that say what went wrong (apt's `E:`, dnf's `Error:` and
 * `Problem`), else its last lines: dnf ends a failure with a dump of repository settings.
 */
export function installHint(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const errors = lines.filter((l) => /^(E:|Error|error:|Problem|install-packages:)|^\s+- /.test(l));
  return (errors.length > 0 ? errors : lines).slice(-4).join(' / ') || 'see the host for details';
}

/** Packages, then the archive, then images, as the plan says; the install script gets stdin only. */
async function installSoftware(plan: Plan, h: HostDesiredState, deps: ApplyDeps): Promise<void> {
  const name = h.host.name;
  const changes = plan.changes.filter((c): c is PackageChange => c.host === name && c.kind === 'package');
  if (changes.length === 0) return;
  const conn = await deps.connection(name);
  const packages = changes.filter((c) => c.manager === 'apt' || c.manager === 'yum' || c.manager === 'os');
  if (packages.length > 0) {
    const lines = [
      `M\t${packages[0]!.manager}`,
      // A pinned package is installed at its version and held; an unpinned one only installed when
      // absent; one whose pin went is only released (installing it again could upgrade it).
      ...packages.map((c) =>
        c.action === 'update' && c.after === null ? `U\t${c.name}` : `I\t${c.name}\t${c.after ?? '-'}`,
      ),
      ...packages.filter((c) => c.hold).map((c) => `H\t${c.name}`),
      ...foreignUnits(h.host.roles).map((u) => `X\t${u}`),
    ];
    deps.onEvent({ type: 'packages', host: name, packages: packages.map((c) => c.name) });
    const r = await conn.exec(scriptCommand(deps.templates['install-packages.sh'] ?? '', 'meso-install'), {
      stdin: `${lines.join('\n')}\n`,
      timeoutMs: 20 * 60_000,
    });
    for (const l of r.stdout.split('\n'))
      if (l.startsWith('W\t')) deps.onEvent({ type: 'warning', host: name, message: l.slice(2) });
    if (r.code !== 0 || !r.stdout.includes('E\tdone')) {
      throw new MesoError(
        'InstallFailed',
        `installing ${packages.map((c) => c.name).join(', ')} on ${name} failed`,
        { hint: installHint(r.stderr) },
      );
    }
    const installed = new Map(
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('P\t'))
        .map((l) => l.split('\t').slice(1) as [string, string]),
    );
    for (const c of packages) {
      if (c.after !== null && installed.get(c.name) !== c.after)
        throw new MesoError(
          'InstallFailed',
          `${c.name} on ${name} is at ${installed.get(c.name) || 'no version'} after installing, not ${c.after}`,
          { hint: `check that the repository has ${c.name} ${c.after}` },
        );
    }
  }
  for (const c of changes.filter((x) => x.manager === 'archive')) {
    const s = h.software.find((x) => x.kind === 'archive' && x.prefix === c.name);
    if (s === undefined || s.kind !== 'archive') continue;
    const tarball = await (deps.readArchive ?? readOnce)(s.source);
    deps.onEvent({ type: 'archive', host: name, prefix: s.prefix, bytes: tarball.length });
    const r = await conn.exec(
      `${scriptCommand(deps.templates['unpack-archive.sh'] ?? '', 'meso-unpack')} ${shellQuoteArg(s.prefix)} ${shellQuoteArg(s.sha256)}`,
      { stdin: tarball, timeoutMs: 20 * 60_000 },
    );
    if (r.code !== 0)
      throw new MesoError('InstallFailed', `unpacking the archive under ${s.prefix} on ${name} failed`, {
        hint: r.stderr.trim().split('\n').slice(-2).join(' / ') || 'see the host for details',
      });
  }
  for (const c of changes.filter((x) => x.manager === 'docker')) {
    deps.onEvent({ type: 'image', host: name, image: c.name });
    const r = await conn.exec(`docker pull -q -- ${shellQuoteArg(c.name)}`, { timeoutMs: 20 * 60_000 });
    if (r.code !== 0)
      throw new MesoError('InstallFailed', `docker pull ${c.name} on ${name} failed`, {
        hint: r.stderr.trim().split('\n').slice(-1).join('') || 'see the host for details',
      });
  }
}

async function applyHost(plan: Plan, h: HostDesiredState, deps: ApplyDeps): Promise<void> {
  const name = h.host.name;
  await retireServices(plan, name, deps);
  // zoo.cfg and the quorum file of members in a membership change are written by their steps.
  const deferred = deferredFiles(plan);
  const changes = plan.changes.filter(
    (c) => c.host === name && c.kind === 'file' && !deferred.has(`${name}\t${c.path}`),
  );
  const wanted = new Map(h.files.map((f) => [f.path, f]));
  const applied: HostApplied = { host: name, written: new Map(), deleted: [], enabled: [] };
  const unitChanged = changes.some((c) => c.kind === 'file' && c.path.startsWith('/etc/systemd/system/'));
  const conn = await deps.connection(name);
  if (changes.length > 0) {
    const ops: FileOp[] = h.directories.map((d) => ({
      op: 'mkdir',
      path: d.path,
      owner: d.owner,
      group: d.group,
      mode: d.mode,
    }));
    for (const c of changes) {
      if (c.kind !== 'file') continue;
      if (c.action === 'delete') {
        ops.push({ op: 'delete', path: c.path });
        continue;
      }
      const f = wanted.get(c.path);
      if (f === undefined)
        throw new MesoError(
          'PlanInvalid',
          `the plan writes ${c.path} on ${name}, which the spec does not render`,
        );
      const content = f.secret === undefined ? f.content : await sensitiveContent(f.secret, deps.secrets);
      ops.push({ op: 'write', path: f.path, owner: f.owner, group: f.group, mode: f.mode, content });
    }
    deps.onEvent({
      type: 'files',
      host: name,
      writes: ops.filter((o) => o.op === 'write').length,
      deletes: ops.filter((o) => o.op === 'delete').length,
    });
    const r = await conn.exec(writeFilesCommand(deps.templates['write-files.sh'] ?? ''), {
      stdin: writeFilesInput(ops),
    });
    const result = parseWriteResult(r.stdout);
    for (const [path, sha256] of result.written) {
      const f = wanted.get(path)!;
      applied.written.set(path, { sha256, owner: f.owner, group: f.group, mode: f.mode });
    }
    applied.deleted = result.deleted;
    if (r.code !== 0 || !result.complete) {
      await deps.onHostApplied(applied);
      const where = result.failed === undefined ? '' : ` at ${result.failed.path} (${result.failed.reason})`;
      throw new MesoError('ApplyFailed', `writing files on ${name} failed${where}`, {
        hint:
          r.stderr.trim() === ''
            ? 'see the host for details'
            : r.stderr.trim().split('\n').slice(-3).join(' / '),
      });
    }
  }
  // Configuration first, then packages: their scripts find meso's files and keep them (confold).
  try {
    await installSoftware(plan, h, deps);
  } catch (e) {
    await deps.onHostApplied(applied);
    throw e;
  }
  if (unitChanged) {
    const enable = h.services.map((s) => s.unit);
    deps.onEvent({ type: 'units', host: name, reload: true, enabled: enable });
    const args = ['reload', ...enable].map(shellQuoteArg).join(' ');
    const s = await conn.exec(`${scriptCommand(SYSTEMCTL_SCRIPT, 'meso-units', 'sh')} ${args}`);
    if (s.code !== 0) {
      await deps.onHostApplied(applied);
      throw new MesoError('ApplyFailed', `systemctl daemon-reload/enable failed on ${name}`, {
        hint: s.stderr.trim(),
      });
    }
    applied.enabled = enable;
  }
  await deps.onHostApplied(applied);
  deps.onEvent({ type: 'files-done', host: name });
}

/** An agent whose checkpointed identity changed: stop, forget the old agent, start (it registers anew). */
const RESET_SCRIPT =
  'set -e; systemctl stop -- "$1"; rm -f -- "$2/meta/slaves/latest"; systemctl start -- "$1"';

/**
 * Carry out a plan: every host's files first (in parallel, bounded), then the services wave by
 * wave in the schedule's quorum-safe order, each wave gated on health. Stops starting new work when
 * the signal aborts; what finished is reported through onHostApplied either way.
 */
export async function applyPlan(
  plan: Plan,
  desired: DesiredState,
  live: LiveState,
  deps: ApplyDeps,
): Promise<ApplyResult> {
  // Fail before touching anything if the order is unsafe.
  const waves = schedule(plan, live, { allowRegistryReset: deps.allowRegistryReset === true });
  const hosts = desired.hosts.filter((h) =>
    plan.changes.some((c) => c.host === h.host.name && isHostStep(c)),
  );
  const errors: unknown[] = [];
  let skipped = 0;
  await mapLimit(hosts, deps.parallelism, async (h) => {
    if (deps.signal.aborted) {
      skipped++;
      return;
    }
    try {
      await applyHost(plan, h, deps);
    } catch (e) {
      errors.push(e);
    }
  });
  if (errors.length > 0) throw errors[0];
  if (skipped > 0) {
    deps.onEvent({ type: 'interrupted', remainingWaves: waves.length });
    return { interrupted: true, wavesDone: 0, wavesTotal: waves.length };
  }
  let done = 0;
  for (const index of waves.keys()) {
    if (deps.signal.aborted) {
      deps.onEvent({ type: 'interrupted', remainingWaves: waves.length - index });
      return { interrupted: true, wavesDone: done, wavesTotal: waves.length };
    }
    await leaderLast(waves, index, deps.zkLeader);
    const wave = waves[index]!;
    deps.onEvent({ type: 'wave', index, total: waves.length, wave });
    const unit = `${wave.service}.service`;
    if (wave.step !== undefined) await runStep(desired, wave, deps);
    else
      await Promise.all(
        wave.hosts.map(async (host) => {
          const conn = await deps.connection(host);
          const change = plan.changes.find(
            (c): c is ServiceChange => c.kind === 'service' && c.host === host && c.service === wave.service,
          );
          const reset = change?.recovery;
          if (reset?.drain !== undefined) {
            if (deps.drainAgent === undefined)
              throw new MesoError('Internal', `the plan drains ${host}, but apply was given no way to drain`);
            deps.onEvent({ type: 'drain', host, message: await deps.drainAgent(host, reset.drain) });
          }
          if (reset !== undefined) deps.onEvent({ type: 'agent-reset', host, workDir: reset.workDir });
          const r = await conn.exec(
            reset !== undefined
              ? `${scriptCommand(RESET_SCRIPT, 'meso-agent-reset', 'sh')} ${shellQuoteArg(unit)} ${shellQuoteArg(reset.workDir)}`
              : `systemctl ${wave.action === 'start' ? 'start' : wave.action === 'reload' ? 'reload' : 'restart'} -- ${shellQuoteArg(unit)}`,
          );
          if (r.code !== 0) {
            throw new MesoError('ApplyFailed', `systemctl ${wave.action} ${unit} failed on ${host}`, {
              hint: `see journalctl -u ${unit} on ${host}: ${r.stderr.trim().split('\n').slice(-1).join('')}`,
            });
          }
        }),
      );
    deps.onEvent({ type: 'gate', wave });
    await deps.gate(wave);
    await deps.onWaveDone?.(wave);
    done++;
  }
  return { interrupted: false, wavesDone: done, wavesTotal: waves.length };
}
