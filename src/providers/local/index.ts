import type { ProviderPlugin } from '../types.js';
import { starter } from './starter.js';
import { rules, rulesWhenOther } from './rules.js';

/** Debian hosts as systemd-nspawn containers on this machine. */
export const localPlugin: ProviderPlugin = {
  name: 'local',
  // The lab image has ZooKeeper but no Mesos: install.method none warns rather than fails.
  createsMachines: true,
  rules,
  starter,
  rulesWhenOther,
  installMissing: 'warn',
  // A container has no cgroup hierarchy of its own to hand the Mesos containerizer.
  agentFlags: [['launcher', 'posix']],
  destroyNote: 'and destroy these local hosts',
  load: () => import('./runtime.js').then((m) => m.localProvider),
};
