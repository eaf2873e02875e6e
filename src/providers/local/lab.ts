// Lab hosts: Debian containers (systemd-nspawn) with their own network namespace, on one bridge per cluster.
// The pieces: lab-host.ts (options, records), lab-create.ts, lab-destroy.ts, lab-ssh.ts (key, sshd, target),
// netns.ts (links, namespaces, bridge), cgroups.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { foundHosts, hostsDir, isSupervisor, readRecord } from './lab-host.js';
import type { LabHostStatus } from './lab-host.js';
import { sshBanner } from './lab-ssh.js';
import { labNames } from './net.js';

export type {
  CreateHostsOptions,
  DestroyHostsOptions,
  LabHost,
  LabHostSpec,
  LabHostStatus,
} from './lab-host.js';
export { createHosts } from './lab-create.js';
export { destroyHosts } from './lab-destroy.js';
export { labSshTarget } from './lab-ssh.js';

/** The state of the named hosts (default: all found), sorted by name. */
export async function hostStatus(opts: {
  cluster: string;
  stateDir: string;
  hosts?: readonly string[];
  /** How long to wait for each sshd's banner; default 5 s (a busy machine can take seconds). */
  sshTimeoutMs?: number;
}): Promise<LabHostStatus[]> {
  const names = labNames(opts.cluster);
  const targets = [...(opts.hosts ?? (await foundHosts(opts.stateDir, names)))].sort();
  return Promise.all(
    targets.map(async (name): Promise<LabHostStatus> => {
      const hostDir = join(hostsDir(opts.stateDir), name);
      const rec = await readRecord(hostDir);
      if (rec === undefined) {
        return {
          name,
          address: undefined,
          pid: undefined,
          state: existsSync(hostDir) ? 'stopped' : 'missing',
          sshReady: false,
        };
      }
      const running = isSupervisor(rec.pid, rec.rootDir);
      return {
        name,
        address: rec.address,
        pid: rec.pid,
        state: running ? 'running' : 'stopped',
        sshReady: running && (await sshBanner(rec.address, opts.sshTimeoutMs ?? 5000)),
      };
    }),
  );
}
