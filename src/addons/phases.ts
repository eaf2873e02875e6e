// Where add-ons' service waves go in the start order, and how each is rolled (pure).
import { softwareKey } from '../plan/software-key.js';
import type { FileChange, PackageChange, Phase } from '../plan/types.js';
import { batchSize } from '../plan/plan.js';
import type { AddonService, DesiredService, DesiredState, HostDesiredState } from '../render/types.js';
import { addonUnitPath } from './render.js';
import type { AddonAfter } from './types.js';

/** The core phase after which an add-on's wave runs. */
const AFTER_SERVICE: Readonly<Record<AddonAfter, string>> = {
  zookeeper: 'zookeeper',
  masters: 'mesos-master',
  marathon: 'marathon',
  agents: 'mesos-agent',
};
const AFTER_ORDER: readonly AddonAfter[] = ['zookeeper', 'masters', 'marathon', 'agents'];

/**
 * The core phases with each add-on's phase inserted after the core phase its `after` names (or
 * where that phase would be), add-ons of the same `after` in spec order.
 */
export function withAddonPhases(core: Phase[], desired: DesiredState): Phase[] {
  const addons: { name: string; svc: AddonService; phase: Phase }[] = [];
  for (const h of desired.hosts) {
    for (const s of h.services) {
      if (s.addon === undefined) continue;
      const known = addons.find((a) => a.name === s.name);
      if (known !== undefined) {
        known.phase.hosts.push(h.host.name);
        continue;
      }
      const a = s.addon;
      addons.push({
        name: s.name,
        svc: a,
        phase: {
          service: s.name,
          strategy: a.quorum !== undefined ? 'ensemble' : 'batches',
          hosts: [h.host.name],
          batchSize: 1,
          description: '',
          addon: {
            reload: a.reload,
            ...(a.health === undefined ? {} : { health: a.health }),
            ...(a.quorum === undefined ? {} : { quorum: a.quorum }),
          },
        },
      });
    }
  }
  for (const { svc: s, phase: p } of addons) {
    if (p.strategy === 'ensemble') {
      p.batchSize = 1;
      p.description =
        'a new cluster starts together; a running one restarts one member at a time, followers first, the leader last';
    } else {
      p.batchSize = batchSize(s.maxUnavailable, p.hosts.length);
      p.description = `add-on after ${s.after}, in batches of ${p.batchSize} (maxUnavailable)${s.reload ? '; a config change reloads it' : ''}`;
    }
  }
  addons.sort((a, b) => a.svc.order - b.svc.order);
  const out: Phase[] = [];
  const place = (after: AddonAfter): void => {
    for (const a of addons) if (a.svc.after === after) out.push(a.phase);
  };
  let next = 0;
  for (const phase of core) {
    out.push(phase);
    // Add-ons after this phase, and after any earlier one that is absent (zookeeper before masters).
    const at = AFTER_ORDER.findIndex((x) => AFTER_SERVICE[x] === phase.service);
    if (at < 0) continue;
    for (; next <= at; next++) place(AFTER_ORDER[next]!);
  }
  for (; next < AFTER_ORDER.length; next++) place(AFTER_ORDER[next]!);
  return out;
}

/**
 * How an add-on's service takes a change: a reload when only its config files changed (a new unit
 * or new software still restarts), and whether it is a fresh member of a quorum service.
 */
export function addonRestart(
  svc: DesiredService,
  h: HostDesiredState,
  files: readonly FileChange[],
  software: readonly PackageChange[],
  running: boolean,
  pending: boolean,
): { reload?: true; fresh?: true; unsettled?: true } {
  const unit = addonUnitPath(svc.name);
  const fresh =
    svc.addon?.quorum !== undefined && files.some((c) => c.path === unit && c.action === 'create');
  const feeding = new Set(h.files.filter((f) => f.feeds.includes(svc.name)).map((f) => f.path));
  const ownSoftware = new Set(
    h.software.filter((s) => s.feeds.includes(svc.name)).map((s) => `host/${h.host.name}/${softwareKey(s)}`),
  );
  const reload =
    svc.addon?.reload === true &&
    running &&
    !pending &&
    !files.some((c) => c.path === unit) &&
    !software.some((c) => ownSoftware.has(c.address)) &&
    files.some((c) => feeding.has(c.path));
  const unsettled = svc.addon?.quorum !== undefined && pending;
  return {
    ...(reload ? { reload: true as const } : {}),
    ...(fresh ? { fresh: true as const } : {}),
    ...(unsettled ? { unsettled: true as const } : {}),
  };
}
