// Instances: terminate, start and launch them, wait until they run, record addresses and console host keys.
import {
  DescribeImagesCommand,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStatusOk,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import type { CloudChange } from '../../plan/types.js';
import { MesoError } from '../../util/errors.js';
import { consistent, ec2Tags, forget, record } from './apply-support.js';
import type { CloudRecorder } from './apply-support.js';
import type { DesiredCloud, DesiredInstance, SgRole } from './desired.js';
import { call, describeInstances, toObservedInstance } from './observe.js';
import type { AwsContext, ObservedCloud } from './observe.js';
import { errorName, withRetry } from './retry.js';

/** Host keys from the console, as cloud-init prints them; ed25519 first (the type the pin restricts to). */
export function hostKeysFromConsole(output: string): string[] {
  const m = /-----BEGIN SSH HOST KEY KEYS-----\r?\n([\s\S]*?)-----END SSH HOST KEY KEYS-----/.exec(output);
  if (m === null) return [];
  const keys = m[1]!
    .split(/\r?\n/)
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 2 && /^(ssh-|ecdsa-)/.test(w[0]!) && /^[A-Za-z0-9+/=]+$/.test(w[1]!))
    .map((w) => `${w[0]} ${w[1]}`);
  return keys.sort((a, b) => Number(!a.startsWith('ssh-ed25519')) - Number(!b.startsWith('ssh-ed25519')));
}

async function rootDevice(ctx: AwsContext, ami: string, cache: Map<string, string>): Promise<string> {
  const known = cache.get(ami);
  if (known !== undefined) return known;
  const r = await call(ctx, `EC2 DescribeImages ${ami}`, () =>
    ctx.clients.ec2.send(new DescribeImagesCommand({ ImageIds: [ami] })),
  );
  const dev = r.Images?.[0]?.RootDeviceName ?? '/dev/xvda';
  cache.set(ami, dev);
  return dev;
}

async function runInstance(
  ctx: AwsContext,
  i: DesiredInstance,
  groupIds: ReadonlyMap<SgRole, string>,
  token: string,
  devices: Map<string, string>,
): Promise<{ id: string; privateIp: string | undefined }> {
  const volume =
    i.rootVolumeSize === undefined
      ? {}
      : {
          BlockDeviceMappings: [
            {
              DeviceName: await rootDevice(ctx, i.ami, devices),
              Ebs: { VolumeSize: i.rootVolumeSize, VolumeType: 'gp3' as const, DeleteOnTermination: true },
            },
          ],
        };
  // Tagged at launch, so an instance whose id never reached the state is still found (and adopted) by its tags.
  const out = await withRetry(
    `EC2 RunInstances ${i.host}`,
    () =>
      ctx.clients.ec2.send(
        new RunInstancesCommand({
          ImageId: i.ami,
          InstanceType: i.instanceType as never,
          KeyName: i.keyName,
          MinCount: 1,
          MaxCount: 1,
          SubnetId: i.subnet,
          SecurityGroupIds: i.groups.map((g) => groupIds.get(g)!),
          ...(i.instanceProfile === undefined ? {} : { IamInstanceProfile: { Name: i.instanceProfile } }),
          ...volume,
          ClientToken: token,
          TagSpecifications: [
            { ResourceType: 'instance', Tags: ec2Tags(i.tags) },
            { ResourceType: 'volume', Tags: ec2Tags(i.tags) },
          ],
        }),
      ),
    consistent(ctx, `launch ${i.host}`),
  );
  const inst = out.Instances?.[0];
  if (inst?.InstanceId === undefined)
    throw new MesoError('AwsCallFailed', `EC2 RunInstances ${i.host} returned no instance`);
  return { id: inst.InstanceId, privateIp: inst.PrivateIpAddress };
}

const waiter = (ctx: AwsContext) => ({
  client: ctx.clients.ec2,
  maxWaitTime: ctx.waitSeconds,
  minDelay: 2,
  maxDelay: 15,
});

export async function terminate(ctx: AwsContext, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await call(ctx, `EC2 TerminateInstances ${ids.join(' ')}`, () =>
    ctx.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })),
  );
  ctx.say(`waiting for ${ids.join(', ')} to terminate`);
  await waitFor(ctx, 'terminated', () => waitUntilInstanceTerminated(waiter(ctx), { InstanceIds: ids }));
}

async function waitFor(ctx: AwsContext, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const name = errorName(e);
    throw new MesoError(
      'AwsTimeout',
      `instances did not become ${what} within ${ctx.waitSeconds} s (${name || (e as Error).message})`,
      {
        hint: 'look at the instances in the EC2 console; run meso apply again to continue (ids are in the state)',
      },
    );
  }
}

/** Private and public addresses once running; host keys from the console where the image prints them. */
async function settle(
  ctx: AwsContext,
  ids: Map<string, string>,
  r: CloudRecorder,
  cloudOnly: boolean,
): Promise<void> {
  if (ids.size === 0) return;
  const all = [...ids.values()];
  ctx.say(`waiting for ${[...ids.keys()].join(', ')} to be running`);
  await waitFor(ctx, 'running', () => waitUntilInstanceRunning(waiter(ctx), { InstanceIds: all }));
  const seen = (await describeInstances(ctx, [{ Name: 'instance-id', Values: all }])).map(toObservedInstance);
  for (const [host, id] of ids) {
    const i = seen.find((x) => x.id === id);
    const h = r.state.hosts[host];
    if (i === undefined || h === undefined) continue;
    h.privateAddress = i.privateIp ?? h.privateAddress;
    h.address = i.publicIp ?? i.privateIp ?? h.address;
  }
  await r.save();
  if (cloudOnly) return;
  ctx.say(`waiting for status checks of ${[...ids.keys()].join(', ')}`);
  await waitFor(ctx, 'status ok', () => waitUntilInstanceStatusOk(waiter(ctx), { InstanceIds: all }));
  for (const [host, id] of ids) {
    const h = r.state.hosts[host];
    if (h === undefined) continue;
    const out = await call(ctx, `EC2 GetConsoleOutput ${id}`, () =>
      ctx.clients.ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true })),
    );
    const keys = hostKeysFromConsole(Buffer.from(out.Output ?? '', 'base64').toString('utf8'));
    const provider = (h.provider ??= {});
    if (keys[0] !== undefined) {
      h.hostKey = keys[0];
      provider['hostKeyFrom'] = 'console';
      ctx.say(`${host}: host key pinned from the console output (${keys[0].split(' ')[0]})`);
    } else {
      provider['hostKeyFrom'] = 'accept-new';
      ctx.say(`${host}: the image prints no host keys on the console; the first key seen will be pinned`);
    }
  }
  await r.save();
}

export async function applyInstances(
  ctx: AwsContext,
  d: DesiredCloud,
  o: ObservedCloud,
  changes: readonly CloudChange[],
  groupIds: ReadonlyMap<SgRole, string>,
  r: CloudRecorder,
  runId: string,
  cloudOnly: boolean,
): Promise<Map<string, string>> {
  const ids = new Map([...o.instances].map(([host, i]) => [host, i.id]));
  const mine = changes.filter((c) => c.resource === 'instance');
  // Deletes and the old half of replacements first (destroy before create, as Terraform does by default).
  const gone = mine.filter((c) => c.action === 'delete' || c.action === 'replace');
  if (gone.length > 0) {
    ctx.say(`terminating ${gone.map((c) => c.name).join(', ')}`);
    await terminate(
      ctx,
      gone.map((c) => c.id!),
    );
    for (const c of gone) {
      if (c.action === 'replace' || !d.instances.some((i) => i.host === c.host)) {
        if (c.host !== '' && r.state.hosts[c.host]?.provider?.['instanceId'] === c.id)
          delete r.state.hosts[c.host];
        if (c.action === 'replace') ids.delete(c.host);
      }
      if (r.state.cloud?.[c.address]?.id === c.id) await forget(r, c.address);
    }
    await r.save();
  }
  const started = mine.filter((c) => c.action === 'update');
  if (started.length > 0) {
    await call(ctx, 'EC2 StartInstances', () =>
      ctx.clients.ec2.send(new StartInstancesCommand({ InstanceIds: started.map((c) => c.id!) })),
    );
  }
  const fresh = new Map<string, string>(started.map((c) => [c.host, c.id!]));
  const devices = new Map<string, string>();
  for (const c of mine.filter((x) => x.action === 'create' || x.action === 'replace')) {
    const i = d.instances.find((x) => x.host === c.host)!;
    ctx.say(`aws/instance/${i.host}: launching ${i.instanceType} from ${i.ami} in ${i.subnet}`);
    const { id, privateIp } = await runInstance(ctx, i, groupIds, `${runId}-${i.host}`.slice(0, 64), devices);
    ids.set(i.host, id);
    fresh.set(i.host, id);
    r.state.hosts[i.host] = {
      address: privateIp ?? '',
      privateAddress: privateIp ?? '',
      files: {},
      directories: [],
      services: [],
      provider: { kind: 'aws', instanceId: id },
    };
    await record(r, d.region, `aws/instance/${i.host}`, 'instance', i.host, id);
  }
  // Adopted instances (found by tag, unknown to the state) get their records too.
  for (const [host, i] of o.instances) {
    if (r.state.hosts[host]?.provider?.['instanceId'] === i.id) continue;
    if (fresh.has(host)) continue;
    const prev = r.state.hosts[host];
    r.state.hosts[host] = {
      address: i.publicIp ?? i.privateIp ?? '',
      privateAddress: i.privateIp ?? '',
      files: prev?.files ?? {},
      directories: prev?.directories ?? [],
      services: prev?.services ?? [],
      ...(prev?.hostKey === undefined ? {} : { hostKey: prev.hostKey }),
      provider: { kind: 'aws', instanceId: i.id, hostKeyFrom: 'accept-new' },
    };
    await record(r, d.region, `aws/instance/${host}`, 'instance', host, i.id);
  }
  await settle(ctx, fresh, r, cloudOnly);
  return ids;
}
