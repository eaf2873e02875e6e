// `meso gc --region R`: every cluster whose `meso:expires-at` tag (from aws.expiresAt) is in the
// past, found by its tags, for CI that forgets to clean up. No cluster file and no state needed.
import {
  describeResources,
  destroyCloud,
  expiredClusters,
  findClusterResources,
  isEmpty,
} from './destroy.js';
import type { ClusterResources } from './destroy.js';
import { awsContext, terminator } from './session.js';

export interface ExpiredCluster {
  cluster: string;
  expiresAt: string;
  /** One line per resource. */
  resources: string[];
  found: ClusterResources;
  /** Delete its resources, in order, through the same clients that found them. */
  destroy: () => Promise<void>;
}

/** The expired clusters of a region that still have resources. */
export async function expiredInRegion(region: string, say: (m: string) => void): Promise<ExpiredCluster[]> {
  const ctx = awsContext(region, {}, say);
  const out: ExpiredCluster[] = [];
  for (const e of await expiredClusters(ctx, new Date())) {
    const found = await findClusterResources(ctx, e.cluster, {
      balancerNames: [],
      bucketNames: [],
      sweep: true,
    });
    if (!isEmpty(found))
      out.push({
        ...e,
        found,
        resources: describeResources(found),
        destroy: () => destroyCloud(ctx, found, undefined, terminator(ctx)),
      });
  }
  return out;
}
