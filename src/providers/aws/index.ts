import type { ProviderPlugin } from '../types.js';
import { starter } from './starter.js';
import { rules } from './rules.js';

/** EC2 instances, security groups, balancers and a bucket, through the AWS SDK (loaded by load()). */
export const awsPlugin: ProviderPlugin = {
  name: 'aws',
  createsMachines: true,
  rules,
  starter,
  installMissing: 'error',
  supports: { cloudOnly: true, byTag: true },
  load: () => import('./runtime.js').then((m) => m.awsProvider),
};
