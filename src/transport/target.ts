import type { Spec } from '../spec/types.js';
import type { ClusterState } from '../state/types.js';
import { expandHome } from '../util/fs.js';
import type { SshTarget } from './host.js';

/**
 * How to reach a host with the spec's SSH settings: user, key, agent, bastion, host-key policy.
 * With accept-new (the spec's policy, or a provider that could not learn the key beforehand) the
 * first key seen is pinned into the state, saved with the host's first change.
 */
export function specSshTarget(
  spec: Spec,
  state: ClusterState,
  name: string,
  address: string,
  port: number,
  opts: { acceptNew?: boolean } = {},
): SshTarget {
  const pinned = state.hosts[name]?.hostKey;
  const knownHostsPath = expandHome(spec.ssh.knownHostsPath);
  const acceptNew = spec.ssh.hostKeyPolicy === 'accept-new' || opts.acceptNew === true;
  const hostKey: SshTarget['hostKey'] = acceptNew
    ? {
        policy: 'accept-new',
        knownHostsPath,
        ...(pinned === undefined ? {} : { pinned }),
        onNewKey: (key) => {
          const h = (state.hosts[name] ??= {
            address,
            privateAddress: address,
            files: {},
            directories: [],
            services: [],
          });
          h.hostKey = key;
        },
      }
    : { policy: 'strict', knownHostsPath, ...(pinned === undefined ? {} : { pinned }) };
  const b = spec.ssh.bastion;
  return {
    name,
    host: address,
    port,
    user: spec.ssh.user,
    ...(spec.ssh.privateKeyPath === undefined ? {} : { privateKeyPath: expandHome(spec.ssh.privateKeyPath) }),
    useAgent: spec.ssh.useAgent || spec.ssh.privateKeyPath === undefined,
    connectTimeoutMs: spec.ssh.connectTimeoutSeconds * 1000,
    hostKey,
    sudo: spec.ssh.user !== 'root',
    ...(b === undefined
      ? {}
      : {
          bastion: {
            host: b.host,
            port: b.port,
            user: b.user,
            ...(b.privateKeyPath === undefined ? {} : { privateKeyPath: expandHome(b.privateKeyPath) }),
            // The bastion's key is always checked against known_hosts: never trusted on first use.
            hostKey: { policy: 'strict', knownHostsPath },
          },
        }),
  };
}
