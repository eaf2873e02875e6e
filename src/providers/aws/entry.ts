// What the commands use of the aws provider, in one module the CLI imports only for a spec whose
// provider is aws: importing it loads the AWS SDK (about 0.4 s), which static and local never need.
export { waitForSsh } from './apply.js';
export { describeResources, destroyCloud, isEmpty } from './destroy.js';
export { realSleep } from './retry.js';
export {
  applyAws,
  cloudAddresses,
  contextFor,
  planAws,
  resourcesToDestroy,
  runningHosts,
  terminator,
} from './session.js';
