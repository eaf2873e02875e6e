import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KnownAddress } from '../../model/topology.js';
import type { Spec } from '../../spec/types.js';
import type { ClusterState } from '../../state/types.js';
import { MesoError } from '../../util/errors.js';
import { recordedAddresses } from '../recorded.js';
import type { ProviderContext, ProviderRuntime } from '../types.js';
import { allocateAddresses } from './addresses.js';
import { ensureImage, imagePackages } from './image.js';
import { createHosts, destroyHosts, labSshTarget } from './lab.js';
import type { LabHost } from './lab.js';

/** Where the local provider keeps a cluster's hosts (overlays, keys): not next to the spec. */
export function localDir(spec: Spec): string {
  return join(process.env['MESO_LOCAL_DIR'] ?? '/var/lib/meso/local', spec.name);
}

const labRecord = (state: ClusterState, name: string): LabHost | undefined =>
  state.hosts[name]?.provider as LabHost | undefined;

/**
 * A host to create: not made yet, or made and since destroyed by hand (its directory is gone). A
 * destroyed host comes back at its recorded address, empty: a new machine in the old one's place.
 */
const isMissing = (state: ClusterState, name: string): boolean => {
  const lab = labRecord(state, name);
  return lab === undefined || !existsSync(lab.hostDir);
};

/** Addresses from the state, and for hosts not made yet the lowest free ones of local.subnet. */
function knownAddresses(
  spec: Spec,
  state: ClusterState,
  names: readonly string[],
): Map<string, KnownAddress> {
  const known = recordedAddresses(state, names);
  const existing = new Map([...known].map(([n, k]) => [n, k.address]));
  for (const [n, a] of allocateAddresses(names, spec.local.subnet, existing)) {
    if (!known.has(n)) known.set(n, { address: a });
  }
  return known;
}

/** Create the hosts the spec has and the state does not; their records go into the state at once. */
async function createMissing(
  ctx: ProviderContext,
  known: ReadonlyMap<string, KnownAddress>,
  only: ReadonlySet<string> | undefined,
): Promise<void> {
  const { spec, state } = ctx;
  const missing = ctx.names.filter(
    (n) => isMissing(state, n) && (only === undefined || only.has(`host/${n}`)),
  );
  if (missing.length === 0) return;
  ctx.say('hosts', `creating local hosts: ${missing.join(', ')}`);
  const onEvent = (m: string): void => ctx.say('lab', m);
  const image = await ensureImage({ packages: imagePackages(spec), onEvent });
  const created = await createHosts({
    cluster: spec.name,
    subnet: spec.local.subnet,
    hosts: missing.map((name) => ({ name, address: known.get(name)!.address })),
    image: image.rootfs,
    stateDir: localDir(spec),
    onEvent,
  });
  for (const h of created) {
    state.hosts[h.name] = {
      address: h.address,
      privateAddress: h.address,
      hostKey: h.hostPublicKey,
      files: {},
      directories: [],
      services: [],
      provider: { ...h },
    };
  }
  await ctx.save();
}

/** Debian hosts as systemd-nspawn containers, reached with their own key and pinned host key. */
export const localProvider: ProviderRuntime = {
  discover: ({ spec, state, names }) =>
    Promise.resolve({
      addresses: knownAddresses(spec, state, names),
      missing: names.filter((n) => isMissing(state, n)),
      hostCreates: true,
      retireRemoved: true,
    }),
  provision: async (ctx, d, opts) => createMissing(ctx, d.addresses, opts.only),
  sshTarget: ({ spec, state }, name) => {
    const lab = labRecord(state, name);
    if (lab === undefined) throw new MesoError('Internal', `local host ${name} has no record in the state`);
    return labSshTarget(lab, spec.ssh.connectTimeoutSeconds * 1000);
  },
  removeMachine: async (ctx, name) => {
    if (labRecord(ctx.state, name) === undefined) return false;
    ctx.say('host', `${name}: destroying the local host`);
    await destroyHosts({
      cluster: ctx.spec.name,
      stateDir: localDir(ctx.spec),
      hosts: [name],
      onEvent: (m) => ctx.say('lab', m),
    });
    return true;
  },
};
