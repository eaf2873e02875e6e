import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------------
// cgroups: with --keep-unit every supervisor would stay in our cgroup (`/` on hybrid cgroup v1), so
// each one is moved into `meso/<cluster id>/<host>` in the hierarchies systemd uses before it starts.

export function cgroupRoots(): string[] {
  const roots: string[] = [];
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, target, type, options] = line.split(' ');
    if (target === undefined || options === undefined) continue;
    if (type === 'cgroup2') roots.push(target);
    if (type === 'cgroup' && options.split(',').includes('name=systemd')) roots.push(target);
  }
  return roots;
}

export function cgroupDirs(rel: string): string[] {
  return cgroupRoots()
    .map((r) => join(r, rel))
    .filter((d) => existsSync(d));
}

/** Pids in a cgroup tree (the container's systemd makes sub-cgroups). */
export async function cgroupPids(dir: string): Promise<number[]> {
  const out: number[] = [];
  try {
    for (const l of (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n')) {
      const n = Number.parseInt(l, 10);
      if (n > 0) out.push(n);
    }
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) out.push(...(await cgroupPids(join(dir, e.name))));
    }
  } catch {
    // removed meanwhile
  }
  return out;
}

export async function rmCgroupTree(dir: string): Promise<void> {
  try {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await rmCgroupTree(join(dir, e.name));
    }
    await rmdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

// The boot wrapper: moves itself into the given cgroups, then runs its arguments (systemd-nspawn). A
// fixed script; every value reaches it as a positional parameter. A reboot inside the host ends
// `systemd-nspawn --keep-unit` with 133 (systemd-nspawn@.service restarts it on that status:
// RestartForceExitStatus=133), so the wrapper boots it again: a host that reboots comes back, as a
// machine does. SIGTERM (destroy) is passed on to systemd-nspawn, which halts the host; then it exits.
export const BOOT_WRAPPER = [
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1/cgroup.procs" || exit 97; shift; n=$((n-1)); done',
  'stop=0; child=; rc=143',
  'trap \'stop=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null\' TERM',
  'while [ "$stop" = 0 ]; do',
  '  "$@" & child=$!',
  '  wait "$child"; rc=$?',
  '  while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done',
  '  if [ "$rc" != 133 ]; then exit "$rc"; fi',
  'done',
  'exit "$rc"',
].join('\n');
