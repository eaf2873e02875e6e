import type { Starter } from '../types.js';

/** A documentation-style address for the n-th host (1-based) of a role: 10.0.<role>.<n>. */
const address = (role: 'master' | 'agent', n: number): string => {
  const block = (role === 'master' ? 1 : 2) * 100 + Math.floor((n - 1) / 250);
  return `10.0.${block}.${((n - 1) % 250) + 1}`;
};

/** `meso init --provider static`: hosts that exist, at addresses the user fills in. */
export const starter: Starter = {
  name: 'mesos',
  about: [
    'Existing hosts, reached over SSH at the addresses listed below (provider static). Replace the',
    "example addresses (10.0.x.y) with your hosts' before `meso apply`.",
  ],
  sections: [
    '# How meso reaches the hosts. A non-root user gets `sudo -n`. strict checks known_hosts;',
    '# accept-new pins the first key seen into the state. Without privateKeyPath, ssh-agent is used.',
    'ssh:',
    '  user: root',
    '  # privateKeyPath: ~/.ssh/id_ed25519',
    '  # port: 22',
    '  hostKeyPolicy: strict',
    '  # bastion: { host: jump.example.com, user: admin }',
    '',
    '# How ZooKeeper, Mesos and Marathon get onto the hosts: apt, yum, docker, archive or none.',
    '# apt and yum install from your repository (its key: a file relative to this one); a pinned',
    '# version is held. Without a repository, apt installs nothing: the hosts must have the software.',
    'install:',
    '  method: apt',
    '  # repository: { url: https://repo.example.com/debian, suite: bookworm, components: [main], key: repo.asc }',
    '  # versions: { mesos: 1.11.0-1 }',
  ],
  hosts: (role, n) => [
    'hosts:',
    ...Array.from(
      { length: n },
      (_, i) => `  - { name: ${role}-${i + 1}, address: ${address(role, i + 1)} }`,
    ),
  ],
  before: ["replace the example addresses (10.0.x.y) with your hosts' in the file"],
};
