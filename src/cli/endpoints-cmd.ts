import { clusterEndpoints } from '../engine/endpoints.js';
import { loadOrFail } from './common.js';
import { endpointsText } from './endpoints-text.js';
import type { Io } from './io.js';
import { reporter } from './report.js';

/** `meso endpoints FILE`: the masters (which one leads), ZooKeeper, Marathon, balancers, agents. */
export async function endpointsCommand(file: string, opts: { json?: boolean }, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  const e = await clusterEndpoints(spec, file, reporter(io, false));
  io.out(opts.json === true ? `${JSON.stringify(e, null, 2)}\n` : endpointsText(e));
  return 0;
}
