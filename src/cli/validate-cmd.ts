import { deriveTopology } from '../model/topology.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';

export async function validateCommand(file: string, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  const t = deriveTopology(spec);
  const agents = t.agents.length;
  io.out(
    `${file}: valid. Cluster ${spec.name} (${spec.provider}): ${t.masters.length} master${t.masters.length === 1 ? '' : 's'} ` +
      `(quorum ${t.quorum}), ZooKeeper on ${t.ensemble.length}, ${agents} agent${agents === 1 ? '' : 's'} in ${spec.agents.length} group${spec.agents.length === 1 ? '' : 's'}.\n`,
  );
  return 0;
}
