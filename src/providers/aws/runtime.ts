// The aws provider's operations. Importing this module loads the AWS SDK (about 0.4 s), which only
// a spec with provider aws (through registry.ts) ever does.
import { deriveTopology } from '../../model/topology.js';
import { specSshTarget } from '../../transport/target.js';
import { recordedAddresses } from '../recorded.js';
import type { CloudView, Discovery, ProviderContext, ProviderRuntime } from '../types.js';
import { waitForSsh } from './apply.js';
import { awsSettings } from './desired.js';
import { describeResources, destroyCloud, isEmpty } from './destroy.js';
import type { AwsContext } from './observe.js';
import { realSleep } from './retry.js';
import {
  applyAws,
  cloudAddresses,
  contextFor,
  existingBalancers,
  planAws,
  resourcesToDestroy,
  runningHosts,
  terminator,
} from './session.js';
import type { CloudPlan } from './session.js';

interface AwsCloud extends CloudView {
  plan: CloudPlan;
  ctx: AwsContext;
}

const context = (ctx: ProviderContext): AwsContext => contextFor(ctx.spec, (m) => ctx.say('aws', m));

export const awsProvider: ProviderRuntime = {
  async discover(ctx): Promise<Discovery> {
    const aws = context(ctx);
    const plan = await planAws(aws, ctx.spec, deriveTopology(ctx.spec));
    const running = runningHosts(plan);
    const addresses = recordedAddresses(ctx.state, ctx.names);
    for (const [n, k] of cloudAddresses(plan)) addresses.set(n, k);
    const cloud: AwsCloud = { changes: plan.changes, plan, ctx: aws };
    return {
      addresses,
      missing: ctx.names.filter((n) => !running.has(n)),
      // The instance changes stand for the hosts; removed hosts' instances are terminated.
      hostCreates: false,
      retireRemoved: false,
      cloud,
      balancers: existingBalancers(plan),
    };
  },

  async provision(ctx, d, opts): Promise<void> {
    const cloud = d.cloud as AwsCloud;
    const only = opts.only;
    const changes =
      only === undefined ? cloud.plan.changes : cloud.plan.changes.filter((c) => only.has(c.address));
    const created = changes.filter((c) => c.resource === 'instance' && c.action !== 'delete');
    await applyAws(cloud.ctx, { ...cloud.plan, changes }, { state: ctx.state, save: ctx.save }, opts);
    // Hosts gone from the spec: their instances are terminated, so their records go.
    const terminated = (n: string): boolean =>
      only === undefined || changes.some((c) => c.resource === 'instance' && c.host === n);
    for (const n of Object.keys(ctx.state.hosts))
      if (!ctx.names.includes(n) && terminated(n)) delete ctx.state.hosts[n];
    await ctx.save();
    if (opts.cloudOnly) return;
    const ports = new Map(deriveTopology(ctx.spec).hosts.map((h) => [h.name, h.sshPort]));
    const wait = created.flatMap((c) => {
      const h = ctx.state.hosts[c.host];
      return h === undefined
        ? []
        : [{ name: c.host, address: h.address, port: ports.get(c.host) ?? ctx.spec.ssh.port }];
    });
    if (wait.length > 0) {
      ctx.say('ssh', `waiting for SSH on ${wait.map((w) => w.name).join(', ')}`);
      await waitForSsh(wait, 600_000, realSleep);
    }
  },

  // An instance whose image printed no host keys on its console was recorded as accept-new.
  sshTarget: ({ spec, state }, name, address, port) =>
    specSshTarget(spec, state, name, address, port, {
      acceptNew: state.hosts[name]?.provider?.['hostKeyFrom'] === 'accept-new',
    }),

  // Never needs SSH: the cluster's resources are found by their tags (with byTag also every
  // balancer and bucket of the region), then deleted in order.
  async teardown(ctx, { byTag }) {
    const aws = context(ctx);
    const found = await resourcesToDestroy(aws, ctx.spec, deriveTopology(ctx.spec), ctx.state, byTag);
    const reset = async (): Promise<void> => {
      ctx.state.hosts = {};
      ctx.state.cloud = {};
      await ctx.save();
    };
    if (isEmpty(found)) {
      await reset();
      return {
        nothing: `nothing to destroy: no resource in ${awsSettings(ctx.spec).region} is tagged meso:cluster=${ctx.spec.name}${byTag ? '' : ' (--by-tag also sweeps every balancer and bucket of the region)'}`,
        resources: [],
        run: () => Promise.resolve(),
      };
    }
    return {
      resources: describeResources(found),
      run: async () => {
        await destroyCloud(aws, found, { state: ctx.state, save: ctx.save }, terminator(aws));
        await reset();
      },
    };
  },
};
