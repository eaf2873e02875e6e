import type { Starter } from '../types.js';

/** `meso init --provider local`: containers on this machine, nothing to fill in. */
export const starter: Starter = {
  name: 'lab',
  about: [
    'Debian hosts as systemd-nspawn containers on this Linux machine (provider local): meso creates',
    'them on a private bridge at `meso apply` and removes them at `meso destroy` (root needed).',
  ],
  sections: [
    '# Each local cluster on this machine needs its own /24 inside 198.18.0.0/15 (the range reserved',
    '# for test networks); change the third number when you run a second one.',
    'local:',
    '  subnet: 198.18.0.0/24',
    '  # Debian packages baked into the image the hosts boot from (they have no route to an archive).',
    '  # packages: [openjdk-17-jre-headless]',
    '',
    '# How meso reaches the hosts. Local hosts are new at every create, so their first key is pinned.',
    'ssh:',
    '  hostKeyPolicy: accept-new',
    '',
    '# How ZooKeeper, Mesos and Marathon get onto the hosts: apt, yum, docker, archive or none.',
    "# With none, hosts have their image's software only: ZooKeeper but no Mesos (a plan warns).",
    'install:',
    '  method: none',
    '  # For a real Mesos, a build as a tarball instead (relative to this file; see clusters/mesos-local.yaml):',
    '  # method: archive',
    '  # archive: mesos-1.12.0-bookworm-amd64.tar.gz',
    '  # packages: [libsasl2-modules]   # its runtime libraries, baked into the image',
  ],
  hosts: (_role, n) => [`count: ${n}`],
  before: ['run meso apply as root, on Linux with systemd-nspawn: it creates the hosts'],
};
