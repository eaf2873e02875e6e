// Preset etcd: Debian's etcd-server (3.4) on the masters as a 3- or 5-member cluster, its member
// list derived like the ZooKeeper ensemble. Pure.
//
// The package enables etcd.service and starts a single-member cluster on 127.0.0.1 with its data in
// /var/lib/etcd/default. Our unit replaces the package's (same name, /etc/systemd/system wins) and
// our data lives in /var/lib/etcd/<cluster>, so that default member's data is never reused.
// etcdctl is in the separate etcd-client package: meso does not need it (health and the leader are
// read over HTTP); an operator who wants it lists it in install.packages.
import type { Diagnostic } from '../../spec/diagnostics.js';
import { err } from '../../spec/rule-helpers.js';
import type { Spec } from '../../spec/types.js';
import type { AddonContext, AddonRender, AddonSpec, Preset, PresetDefaults } from '../types.js';
import { environmentFile, unitText } from '../unit.js';
import { addonHosts } from '../values.js';
import { checkPort, checkTopology, portOption, tcp } from './common.js';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

const ports = (options: Readonly<Record<string, unknown>>): { client: number; peer: number } => ({
  client: portOption(options, 'clientPort', ETCD_CLIENT_PORT),
  peer: portOption(options, 'peerPort', ETCD_PEER_PORT),
});

/** Where a member keeps its data: per cluster, never the package's /var/lib/etcd/default. */
export const etcdDataDir = (cluster: string): string => `/var/lib/etcd/${cluster}`;

function defaults(options: Readonly<Record<string, unknown>>): PresetDefaults {
  const p = ports(options);
  return {
    on: { kind: 'masters' },
    after: 'zookeeper',
    install: { kind: 'package', name: 'etcd-server', version: undefined },
    user: 'etcd',
    ports: [tcp(p.client), tcp(p.peer)],
    health: { kind: 'http', port: p.client, path: '/health' },
    // The leader's /metrics has this line (etcd 3.4: `etcd_server_is_leader 1`, followers `... 0`).
    quorum: { leader: { port: p.client, path: '/metrics', pattern: '^etcd_server_is_leader 1' } },
  };
}

function check(addon: AddonSpec, spec: Spec): Diagnostic[] {
  const out = [
    ...checkPort(['clientPort'], addon.options['clientPort']),
    ...checkPort(['peerPort'], addon.options['peerPort']),
  ];
  const p = ports(addon.options);
  if (p.client === p.peer)
    out.push(err(['peerPort'], `the peer port is the client port (${p.client})`, 'use 2379 and 2380'));
  const members = addonHosts(spec, checkTopology(spec), addon.on).length;
  if (members > 0 && members % 2 === 0)
    out.push(
      err(
        ['on'],
        `etcd on ${members} hosts: an even member count tolerates no more failures than one member fewer`,
        'use 3 or 5 hosts',
      ),
    );
  return out;
}

function render(ctx: AddonContext): AddonRender {
  const { addon, host, hosts, topology } = ctx;
  const p = ports(addon.options);
  const dataDir = etcdDataDir(topology.name);
  const url = (address: string, port: number): string => `http://${address}:${port}`;
  const env: Record<string, string> = {
    ETCD_NAME: host.name,
    ETCD_DATA_DIR: dataDir,
    ETCD_LISTEN_CLIENT_URLS: `${url(host.privateAddress, p.client)},${url('127.0.0.1', p.client)}`,
    ETCD_ADVERTISE_CLIENT_URLS: url(host.privateAddress, p.client),
    ETCD_LISTEN_PEER_URLS: url(host.privateAddress, p.peer),
    ETCD_INITIAL_ADVERTISE_PEER_URLS: url(host.privateAddress, p.peer),
    ETCD_INITIAL_CLUSTER: hosts.map((h) => `${h.name}=${url(h.privateAddress, p.peer)}`).join(','),
    // Read only when the data directory is empty: a running member keeps its membership.
    ETCD_INITIAL_CLUSTER_STATE: 'new',
    ETCD_INITIAL_CLUSTER_TOKEN: topology.name,
    // The spec's env: adds settings (ETCD_HEARTBEAT_INTERVAL, ...) or replaces ours.
    ...addon.env,
  };
  const envPath = `/etc/default/${addon.name}`;
  return {
    files: [
      {
        path: envPath,
        content: environmentFile(`etcd member ${host.name} of ${hosts.length}`, env),
        mode: 0o644,
      },
    ],
    directories: [{ path: dataDir, owner: 'etcd', mode: 0o700, data: true }],
    unit: unitText({
      name: addon.name,
      cluster: topology.cluster,
      description: 'etcd key-value store',
      type: 'notify',
      user: addon.user,
      environmentFile: envPath,
      execStart: '/usr/bin/etcd',
      // A new member is ready (and notifies) only once a majority is up: members start together.
      service: ['LimitNOFILE=65536', 'TimeoutStartSec=180'],
    }),
  };
}

export const etcd: Preset = {
  name: 'etcd',
  packageUnit: 'etcd.service',
  summary: "etcd (Debian's etcd-server 3.4) on the masters, its members listed like ZooKeeper's",
  options: ['clientPort', 'peerPort'],
  defaults,
  check,
  render,
};
