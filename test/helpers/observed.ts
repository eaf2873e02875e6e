import { fingerprint } from '../../src/plan/plan.js';
import type { ObservedHost } from '../../src/plan/plan.js';
import type { DesiredState } from '../../src/render/types.js';

/** The world exactly as `desired` wants its files, every service running, plus `extra` on every host. */
export function converged(
  desired: DesiredState,
  extra: Partial<ObservedHost> = {},
): Map<string, ObservedHost> {
  return new Map(
    desired.hosts.map((h) => [
      h.host.name,
      {
        files: new Map(h.files.map((f) => [f.path, fingerprint(f)])),
        managed: new Set(h.files.map((f) => f.path)),
        activeServices: new Set(h.services.map((s) => s.name)),
        ...extra,
      },
    ]),
  );
}
