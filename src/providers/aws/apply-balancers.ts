// Classic load balancers: create or update listeners, health check and groups; register the instances.
import {
  ApplySecurityGroupsToLoadBalancerCommand,
  ConfigureHealthCheckCommand,
  CreateLoadBalancerCommand,
  CreateLoadBalancerListenersCommand,
  DeleteLoadBalancerCommand,
  DeleteLoadBalancerListenersCommand,
  DeregisterInstancesFromLoadBalancerCommand,
  RegisterInstancesWithLoadBalancerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import type { CloudChange } from '../../plan/types.js';
import { consistent, ec2Tags, record } from './apply-support.js';
import type { CloudRecorder } from './apply-support.js';
import type { DesiredBalancer, DesiredCloud, SgRole } from './desired.js';
import { call } from './observe.js';
import type { AwsContext, ObservedCloud } from './observe.js';
import { withRetry } from './retry.js';

const listeners = (ports: readonly number[]) =>
  ports.map((p) => ({ Protocol: 'TCP', LoadBalancerPort: p, InstanceProtocol: 'TCP', InstancePort: p }));

async function createBalancer(
  ctx: AwsContext,
  d: DesiredCloud,
  b: DesiredBalancer,
  groupIds: ReadonlyMap<SgRole, string>,
  r: CloudRecorder,
): Promise<void> {
  ctx.say(`aws/load-balancer/${b.key}: creating ${b.name}`);
  await withRetry(
    `ELB CreateLoadBalancer ${b.name}`,
    () =>
      ctx.clients.elb.send(
        new CreateLoadBalancerCommand({
          LoadBalancerName: b.name,
          Listeners: listeners(b.ports),
          Subnets: b.subnets,
          SecurityGroups: b.groups.map((g) => groupIds.get(g)!),
          ...(b.scheme === 'internal' ? { Scheme: 'internal' } : {}),
          Tags: ec2Tags(b.tags).map((t) => ({ Key: t.Key!, Value: t.Value })),
        }),
      ),
    consistent(ctx, `create ${b.name}`),
  );
  await record(r, d.region, `aws/load-balancer/${b.key}`, 'load-balancer', b.key, b.name);
}

async function healthCheck(ctx: AwsContext, b: DesiredBalancer): Promise<void> {
  await call(ctx, `ELB ConfigureHealthCheck ${b.name}`, () =>
    ctx.clients.elb.send(
      new ConfigureHealthCheckCommand({
        LoadBalancerName: b.name,
        HealthCheck: {
          Target: b.healthCheck,
          Interval: 30,
          Timeout: 5,
          UnhealthyThreshold: 2,
          HealthyThreshold: 2,
        },
      }),
    ),
  );
}

export async function applyBalancers(
  ctx: AwsContext,
  d: DesiredCloud,
  o: ObservedCloud,
  changes: readonly CloudChange[],
  groupIds: ReadonlyMap<SgRole, string>,
  instanceIds: ReadonlyMap<string, string>,
  r: CloudRecorder,
): Promise<void> {
  for (const b of d.balancers) {
    const c = changes.find((x) => x.address === `aws/load-balancer/${b.key}`);
    if (c === undefined) continue;
    const seen = c.action === 'create' || c.action === 'replace' ? undefined : o.balancers.get(b.key);
    if (c.action === 'replace') {
      await call(ctx, `ELB DeleteLoadBalancer ${b.name}`, () =>
        ctx.clients.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerName: b.name })),
      );
    }
    if (seen === undefined) {
      await createBalancer(ctx, d, b, groupIds, r);
      await healthCheck(ctx, b);
    } else {
      if (c.attributes.some((a) => a.name === 'listeners')) {
        const extra = seen.ports.filter((p) => !b.ports.includes(p));
        const missing = b.ports.filter((p) => !seen.ports.includes(p));
        if (extra.length > 0)
          await call(ctx, `ELB DeleteLoadBalancerListeners ${b.name}`, () =>
            ctx.clients.elb.send(
              new DeleteLoadBalancerListenersCommand({ LoadBalancerName: b.name, LoadBalancerPorts: extra }),
            ),
          );
        if (missing.length > 0)
          await call(ctx, `ELB CreateLoadBalancerListeners ${b.name}`, () =>
            ctx.clients.elb.send(
              new CreateLoadBalancerListenersCommand({
                LoadBalancerName: b.name,
                Listeners: listeners(missing),
              }),
            ),
          );
      }
      if (c.attributes.some((a) => a.name === 'health_check')) await healthCheck(ctx, b);
      if (c.attributes.some((a) => a.name === 'security_groups'))
        await call(ctx, `ELB ApplySecurityGroupsToLoadBalancer ${b.name}`, () =>
          ctx.clients.elb.send(
            new ApplySecurityGroupsToLoadBalancerCommand({
              LoadBalancerName: b.name,
              SecurityGroups: b.groups.map((g) => groupIds.get(g)!),
            }),
          ),
        );
    }
    const want = b.hosts.flatMap((h) => {
      const id = instanceIds.get(h);
      return id === undefined ? [] : [id];
    });
    const have = seen?.instanceIds ?? [];
    const register = want.filter((id) => !have.includes(id));
    const deregister = have.filter((id) => !want.includes(id));
    if (deregister.length > 0) {
      ctx.say(`aws/load-balancer/${b.key}: deregistering ${deregister.join(', ')}`);
      await call(ctx, `ELB DeregisterInstancesFromLoadBalancer ${b.name}`, () =>
        ctx.clients.elb.send(
          new DeregisterInstancesFromLoadBalancerCommand({
            LoadBalancerName: b.name,
            Instances: deregister.map((InstanceId) => ({ InstanceId })),
          }),
        ),
      );
    }
    if (register.length > 0) {
      ctx.say(`aws/load-balancer/${b.key}: registering ${register.join(', ')}`);
      await withRetry(
        `ELB RegisterInstancesWithLoadBalancer ${b.name}`,
        () =>
          ctx.clients.elb.send(
            new RegisterInstancesWithLoadBalancerCommand({
              LoadBalancerName: b.name,
              Instances: register.map((InstanceId) => ({ InstanceId })),
            }),
          ),
        consistent(ctx, `register with ${b.name}`),
      );
    }
  }
}
