import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CreateKeyPairCommand,
  DeleteKeyPairCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import type { Subnet } from '@aws-sdk/client-ec2';
import { awsClients, closeClients } from '../src/providers/aws/clients.js';
import type { AwsEndpoints } from '../src/providers/aws/clients.js';
import type { ClusterState } from '../src/state/types.js';
import { spawnMeso } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';

/**
 * provider: aws end to end, through the real executable, against an AWS-compatible endpoint (an
 * emulator such as LocalStack or moto_server) or a real account. Skipped unless configured:
 *
 *   MESO_AWS_E2E_ENDPOINT=http://127.0.0.1:4566   ec2, elb and s3 all at this URL (aws.endpoints)
 *   MESO_AWS_E2E=real                             the real account in AWS_REGION, no endpoints
 *
 * Optional: MESO_AWS_E2E_AMI (required with real), MESO_AWS_E2E_SUBNET, MESO_AWS_E2E_VPC (default:
 * the default VPC and its first subnet, looked up over the same endpoint), MESO_AWS_E2E_KEY_NAME
 * (default: a key pair made for the run and deleted after it), MESO_AWS_E2E_INSTANCE_TYPE (t3.micro).
 * Credentials come from the SDK's usual chain; against an endpoint they default to test/test.
 */
const env = process.env;
const endpoint = env['MESO_AWS_E2E_ENDPOINT'] || undefined;
const real = env['MESO_AWS_E2E'] === 'real';
const skip =
  endpoint === undefined && !real
    ? 'set MESO_AWS_E2E_ENDPOINT=http://127.0.0.1:4566 (an AWS-compatible emulator) or MESO_AWS_E2E=real to run'
    : false;

const cluster = `e2e-${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'meso-aws-e2e-'));
const file = join(dir, 'cluster.yaml');
const statePath = join(dir, 'state.json');
const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? (real ? undefined : 'us-east-1');
const endpoints: AwsEndpoints = endpoint === undefined ? {} : { ec2: endpoint, elb: endpoint, s3: endpoint };

// The SDK's credential chain, in the spawned meso and in this process; emulators accept any key.
const childEnv: NodeJS.ProcessEnv = { ...env, ...(region === undefined ? {} : { AWS_REGION: region }) };
if (endpoint !== undefined && env['AWS_ACCESS_KEY_ID'] === undefined && env['AWS_PROFILE'] === undefined) {
  childEnv['AWS_ACCESS_KEY_ID'] = 'test';
  childEnv['AWS_SECRET_ACCESS_KEY'] = 'test';
  process.env['AWS_ACCESS_KEY_ID'] ??= 'test';
  process.env['AWS_SECRET_ACCESS_KEY'] ??= 'test';
}

/** A key pair this run made (when MESO_AWS_E2E_KEY_NAME is not given), deleted in after(). */
let madeKeyPair: string | undefined;
let written = false;

function meso(...args: string[]): CliResult {
  return spawnMeso(args, { env: childEnv });
}

const show = (r: CliResult): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

const byPlace = (a: Subnet, b: Subnet): number =>
  (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? '') ||
  (a.SubnetId ?? '').localeCompare(b.SubnetId ?? '');

/** The VPC and subnet to use: as given, else the default VPC and its first subnet. */
async function network(ec2: ReturnType<typeof awsClients>['ec2']): Promise<{ vpc: string; subnet: string }> {
  let vpc = env['MESO_AWS_E2E_VPC'] || undefined;
  let subnet = env['MESO_AWS_E2E_SUBNET'] || undefined;
  if (vpc !== undefined && subnet !== undefined) return { vpc, subnet };
  if (subnet !== undefined) {
    const r = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet] }));
    vpc = r.Subnets?.[0]?.VpcId;
    assert.ok(vpc, `subnet ${subnet} has no VPC; set MESO_AWS_E2E_VPC`);
    return { vpc, subnet };
  }
  if (vpc === undefined) {
    const r = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }));
    vpc = r.Vpcs?.[0]?.VpcId;
    assert.ok(vpc, `no default VPC in ${region}; set MESO_AWS_E2E_VPC and MESO_AWS_E2E_SUBNET`);
  }
  const r = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }));
  subnet = [...(r.Subnets ?? [])].sort(byPlace)[0]?.SubnetId;
  assert.ok(subnet, `VPC ${vpc} has no subnet; set MESO_AWS_E2E_SUBNET`);
  return { vpc, subnet };
}

function spec(o: {
  vpc: string;
  subnet: string;
  ami: string;
  keyName: string;
  instanceType: string;
}): string {
  const expiresAt = new Date(Date.now() + 60 * 60_000).toISOString();
  return [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${cluster}`,
    'provider: aws',
    'ssh: { user: admin, hostKeyPolicy: accept-new }',
    'aws:',
    `  region: ${region}`,
    `  vpcId: ${o.vpc}`,
    `  subnets: { masters: [${o.subnet}], agents: [${o.subnet}] }`,
    `  ami: ${o.ami}`,
    `  instanceTypes: { default: ${o.instanceType} }`,
    `  keyName: ${o.keyName}`,
    '  tags: { purpose: meso-e2e }',
    `  expiresAt: "${expiresAt}"`,
    ...(endpoint === undefined
      ? []
      : ['  endpoints:', `    ec2: ${endpoint}`, `    elb: ${endpoint}`, `    s3: ${endpoint}`]),
    'masters: { count: 1 }',
    'agents:',
    '  - group: workers',
    '    count: 1',
    `state: { backend: local, path: ${JSON.stringify(statePath)} }`,
    '',
  ].join('\n');
}

after(async () => {
  // Whatever happened above, leave nothing behind in the account: sweep by the cluster tag. A sweep
  // that fails may have leaked resources, so it fails the run (after the key pair and temp dir go).
  const problems: string[] = [];
  if (written) {
    const swept = meso('destroy', file, '--by-tag', '--auto-approve');
    if (swept.code !== 0) problems.push(`meso destroy --by-tag failed\n${show(swept)}`);
  }
  if (madeKeyPair !== undefined && region !== undefined) {
    const c = awsClients(region, endpoints);
    try {
      await c.ec2.send(new DeleteKeyPairCommand({ KeyName: madeKeyPair }));
    } catch (e) {
      problems.push(`could not delete key pair ${madeKeyPair}: ${String(e)}`);
    } finally {
      closeClients(c);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(problems, [], `cleanup of cluster ${cluster} in ${region ?? '?'}`);
});

void test('aws end to end', { skip, timeout: 30 * 60_000 }, async () => {
  assert.ok(region, 'MESO_AWS_E2E=real needs AWS_REGION');
  const ami = env['MESO_AWS_E2E_AMI'] || (real ? undefined : 'ami-12345678');
  assert.ok(ami, 'MESO_AWS_E2E=real needs MESO_AWS_E2E_AMI, an image id in AWS_REGION');
  const clients = awsClients(region, endpoints);
  let net: { vpc: string; subnet: string };
  let keyName = env['MESO_AWS_E2E_KEY_NAME'] || undefined;
  try {
    net = await network(clients.ec2);
    if (keyName === undefined) {
      await clients.ec2.send(new CreateKeyPairCommand({ KeyName: cluster }));
      madeKeyPair = keyName = cluster;
    }
  } finally {
    closeClients(clients);
  }
  const instanceType = env['MESO_AWS_E2E_INSTANCE_TYPE'] || 't3.micro';
  writeFileSync(file, spec({ ...net, ami, keyName, instanceType }));
  written = true;

  // plan: everything is to be created.
  const planned = meso('plan', file, '--cloud-only', '--json');
  assert.equal(planned.code, 0, show(planned));
  const plan = JSON.parse(planned.stdout) as { changes: { address: string; action: string }[] };
  const creates = new Set(plan.changes.filter((c) => c.action === 'create').map((c) => c.address));
  for (const address of ['aws/security-group/master', 'aws/instance/master-1', 'aws/load-balancer/internal'])
    assert.ok(creates.has(address), `plan creates ${address}; it has: ${[...creates].join(', ')}`);

  // apply: exits 0 and records every resource with its id.
  const applied = meso('apply', file, '--cloud-only', '--auto-approve');
  assert.equal(applied.code, 0, show(applied));
  assert.ok(existsSync(statePath), `state file ${statePath} written`);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as ClusterState;
  assert.equal(state.cluster, cluster);
  const cloud = state.cloud ?? {};
  for (const address of [
    'aws/security-group/master',
    'aws/instance/master-1',
    'aws/load-balancer/internal',
  ]) {
    const record = cloud[address];
    assert.ok(record !== undefined, `state records ${address}; it has: ${Object.keys(cloud).join(', ')}`);
    assert.ok(record.id.length > 0, `${address} has an id`);
  }
  assert.match(cloud['aws/instance/master-1']!.id, /^i-/);
  assert.match(cloud['aws/security-group/master']!.id, /^sg-/);

  // A second plan: nothing to do.
  const again = meso('plan', file, '--cloud-only', '--detailed-exitcode');
  assert.equal(again.code, 0, `a second plan has no changes\n${show(again)}`);

  // destroy, then a sweep by tag finds nothing left.
  const destroyed = meso('destroy', file, '--auto-approve');
  assert.equal(destroyed.code, 0, show(destroyed));
  const swept = meso('destroy', file, '--by-tag', '--auto-approve');
  assert.equal(swept.code, 0, show(swept));
  assert.match(swept.stdout + swept.stderr, /nothing to destroy/);
});
