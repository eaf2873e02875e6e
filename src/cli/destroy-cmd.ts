import { destroyCluster } from '../engine/destroy.js';
import { parseDuration } from '../util/duration.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';
import { confirm, reporter } from './report.js';

export interface DestroyCmdOptions {
  autoApprove?: boolean;
  purgeData?: boolean;
  json?: boolean;
  byTag?: boolean;
  lockTimeout?: string;
}

/** `meso destroy FILE`: says what will go, asks, and removes it. */
export async function destroyCommand(file: string, opts: DestroyCmdOptions, io: Io): Promise<number> {
  const lockTimeoutMs = parseDuration(opts.lockTimeout ?? '0s', '--lock-timeout');
  const spec = await loadOrFail(file, io);
  const json = opts.json === true;
  const say = reporter(io, json);
  const byTag = opts.byTag === true;
  const outcome = await destroyCluster(
    spec,
    file,
    {
      byTag,
      purgeData: opts.purgeData === true,
      command: `meso destroy ${file}${byTag ? ' --by-tag' : ''}`,
      lockTimeoutMs,
    },
    {
      say,
      confirm: async ({ resources, hosts, note }) => {
        if (resources !== undefined) {
          if (json) say('resources', 'resources to destroy', { resources });
          else
            io.out(
              `meso will delete these resources of cluster ${spec.name}:\n${resources.map((l) => `  - ${l}`).join('\n')}\n`,
            );
        } else {
          io.out(
            `meso will stop meso's services and remove what it wrote on: ${(hosts ?? []).join(', ')}${note === undefined ? '' : ` (${note})`}.\n`,
          );
        }
        return confirm(io, 'Destroy?', opts.autoApprove === true);
      },
    },
  );
  return outcome === 'cancelled' ? 1 : 0;
}
