import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { deriveTopology } from '../src/model/topology.js';
import { applyCloud, hostKeysFromConsole } from '../src/providers/aws/apply.js';
import { awsClients } from '../src/providers/aws/clients.js';
import { desiredCloud } from '../src/providers/aws/desired.js';
import { destroyCloud, expiredClusters, findClusterResources } from '../src/providers/aws/destroy.js';
import type { AwsContext } from '../src/providers/aws/observe.js';
import { observeCloud } from '../src/providers/aws/observe.js';
import { planCloud } from '../src/providers/aws/plan.js';
import { planAws, terminator } from '../src/providers/aws/session.js';
import type { Spec } from '../src/spec/types.js';
import { emptyState } from '../src/state/local.js';
import type { ClusterState } from '../src/state/types.js';
import { isMesoError } from '../src/util/errors.js';
import { awsErr, FakeAws } from './helpers/fake-aws.js';
import { specOf } from './helpers/build.js';

const YAML = (name = 'cg', extra = ''): string => `
apiVersion: meso/v1
kind: Cluster
name: ${name}
provider: aws
aws:
  region: eu-west-1
  vpcId: vpc-1
  subnets: { masters: [subnet-m1, subnet-m2], agents: [subnet-a1], publicAgents: [subnet-p1] }
  ami: ami-0123
  instanceTypes: { masters: m5.large, agents: m5.xlarge, public: m5.large }
  keyName: cg
  adminCidrs: [203.0.113.0/24]
  publicPorts: [80, 443]
  tags: { team: platform }
  bucket: { create: true, name: ${name}-files }
${extra}
masters: { count: 3 }
agents:
  - { group: private, count: 2 }
  - { group: public, public: true, count: 1 }
`;

let aws: FakeAws;
let sleeps: number[];
beforeEach(() => {
  aws = new FakeAws();
  sleeps = [];
});
afterEach(() => aws.restore());

function context(): AwsContext {
  return {
    clients: awsClients('eu-west-1'),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    say: () => undefined,
    waitSeconds: 30,
  };
}

/** A recorder that keeps a copy of the state at every save, as a crash at that moment would leave it. */
function recorder(state: ClusterState = emptyState('cg')) {
  const saves: ClusterState[] = [];
  return {
    state,
    saves,
    save: () => {
      saves.push(structuredClone(state));
      return Promise.resolve();
    },
  };
}

async function planned(spec: Spec) {
  const ctx = context();
  const p = await planAws(ctx, spec, deriveTopology(spec));
  return { ctx, ...p };
}

async function applyAll(spec: Spec, rec = recorder(), cloudOnly = true) {
  const p = await planned(spec);
  await applyCloud(p.ctx, p.desired, p.observed, p.changes, rec, { runId: 'run1', cloudOnly });
  return { ...p, rec };
}

void test('desired: the five groups with the DC/OS rules, instances spread over subnets, two balancers', () => {
  const spec = specOf(YAML());
  const d = desiredCloud(spec, deriveTopology(spec));
  assert.deepEqual(
    d.groups.map((g) => g.name),
    ['cg-lb', 'cg-master', 'cg-agent', 'cg-public-agent', 'cg-admin'],
  );
  assert.deepEqual(d.groups[0]!.ingress, []);
  const master = d.groups[1]!.ingress;
  for (const p of [80, 8080, 5050, 2181, 8181])
    assert.ok(
      master.some((x) => x.fromPort === p && 'group' in x.from && x.from.group === 'lb'),
      `${p} from lb`,
    );
  const pub = d.groups[3]!.ingress;
  assert.ok(pub.some((x) => x.fromPort === 443 && 'cidr' in x.from && x.from.cidr === '0.0.0.0/0'));
  assert.ok(d.groups[4]!.ingress.every((x) => 'cidr' in x.from && x.from.cidr === '203.0.113.0/24'));
  assert.deepEqual(
    d.instances.map((i) => [i.host, i.subnet, i.instanceType, i.groups.join('+')]),
    [
      ['master-1', 'subnet-m1', 'm5.large', 'master+admin'],
      ['master-2', 'subnet-m2', 'm5.large', 'master+admin'],
      ['master-3', 'subnet-m1', 'm5.large', 'master+admin'],
      ['private-1', 'subnet-a1', 'm5.xlarge', 'agent+admin'],
      ['private-2', 'subnet-a1', 'm5.xlarge', 'agent+admin'],
      ['public-1', 'subnet-p1', 'm5.large', 'public-agent+admin'],
    ],
  );
  const tags = d.instances[0]!.tags;
  assert.equal(tags['meso:cluster'], 'cg');
  assert.equal(tags['meso:role'], 'master');
  assert.equal(tags['Name'], 'cg-master-1');
  assert.equal(tags['team'], 'platform');
  const [internal, admin] = d.balancers;
  assert.deepEqual(internal!.ports, [2181, 8181, 5050, 8080, 80, 443]);
  assert.equal(internal!.healthCheck, 'HTTP:5050/health');
  assert.equal(internal!.scheme, 'internal');
  assert.deepEqual(admin!.ports, [80, 443]);
  assert.deepEqual(internal!.hosts, ['master-1', 'master-2', 'master-3']);
});

void test('create from nothing: groups, then rules, then instances (ids recorded at once), then balancers, then the bucket', async () => {
  const spec = specOf(YAML());
  const { changes, rec } = await applyAll(spec);
  assert.deepEqual(
    [...new Set(changes.map((c) => `${c.action} ${c.resource}`))],
    ['create security-group', 'create instance', 'create load-balancer', 'create bucket'],
  );
  const ops = aws
    .ops()
    .filter((o) => !o.includes('Describe') && !o.includes('Head') && !o.includes('GetBucket'));
  const first = (op: string): number => ops.indexOf(op);
  const last = (op: string): number => ops.lastIndexOf(op);
  assert.equal(aws.count('EC2 CreateSecurityGroup'), 5);
  assert.ok(last('EC2 CreateSecurityGroup') < first('EC2 AuthorizeSecurityGroupIngress'));
  assert.ok(last('EC2 AuthorizeSecurityGroupIngress') < first('EC2 RunInstances'));
  assert.equal(aws.count('EC2 RunInstances'), 6);
  assert.ok(last('EC2 RunInstances') < first('ELB CreateLoadBalancer'));
  assert.ok(first('ELB RegisterInstancesWithLoadBalancer') > first('ELB CreateLoadBalancer'));
  assert.ok(first('S3 CreateBucket') < first('S3 PutBucketTagging'));

  // Every instance is tagged at launch and its id is in the state right after its RunInstances.
  const runs = aws.calls.filter((c) => c.op === 'EC2 RunInstances');
  for (const r of runs) {
    const specs = r.input['TagSpecifications'] as {
      ResourceType: string;
      Tags: { Key: string; Value: string }[];
    }[];
    assert.ok(
      specs
        .find((t) => t.ResourceType === 'instance')!
        .Tags.some((t) => t.Key === 'meso:cluster' && t.Value === 'cg'),
    );
  }
  const afterFirst = rec.saves.find((s) => s.cloud?.['aws/instance/master-1'] !== undefined)!;
  assert.equal(
    afterFirst.cloud?.['aws/instance/master-2'],
    undefined,
    'master-1 recorded before master-2 was launched',
  );
  assert.equal(Object.keys(rec.state.cloud ?? {}).length, 5 + 6 + 2 + 1);
  assert.match(rec.state.hosts['master-1']!.privateAddress, /^10\.0\./);
  assert.equal(rec.state.hosts['master-1']!.provider?.['instanceId'], aws.live()[0]!.InstanceId);

  // The internal balancer has the masters behind it, and the health check Mesos answers.
  const lb = aws.balancers.get('cg-int')!;
  assert.equal(lb.d.Instances?.length, 3);
  assert.equal(lb.d.HealthCheck?.Target, 'HTTP:5050/health');
  assert.equal(lb.d.Scheme, 'internal');

  // A second plan of the same spec finds everything by its tags and changes nothing.
  const again = await planned(spec);
  assert.deepEqual(again.changes, []);
});

void test('adopt existing: resources tagged for the cluster are taken over, not created again', async () => {
  const spec = specOf(YAML());
  await applyAll(spec);
  const before = aws.calls.length;
  // The state is lost; a fresh run adopts what the tags say is the cluster's.
  const { changes, rec } = await applyAll(spec, recorder());
  assert.deepEqual(changes, []);
  assert.equal(aws.calls.slice(before).filter((c) => /Create|Run/.test(c.op)).length, 0);
  assert.equal(Object.keys(rec.state.hosts).length, 6, 'every instance recorded again');
  assert.ok(rec.state.cloud?.['aws/instance/public-1'] !== undefined);
});

void test('partial failure then re-run: what was created is recorded, the re-run creates only the rest', async () => {
  const spec = specOf(YAML());
  aws.failNext('EC2 RunInstances', awsErr('Ok'), 0);
  const p = await planned(spec);
  let n = 0;
  const realRun = aws.calls.length;
  void realRun;
  // The fourth launch fails with a capacity error (not retried).
  for (let i = 0; i < 3; i++) aws.failNext('EC2 DescribeImages', awsErr('never'), 0);
  const rec = recorder();
  const orig = rec.save;
  rec.save = () => {
    n++;
    return orig();
  };
  aws.failNext('EC2 RunInstances', awsErr('InsufficientInstanceCapacity'), 0);
  // Let three launches through, then fail the fourth.
  const fake = aws as unknown as { failures: Map<string, Error[]> };
  fake.failures.set('EC2 RunInstances', []);
  const launches: string[] = [];
  const origOps = aws.calls.push.bind(aws.calls);
  aws.calls.push = (...items) => {
    for (const it of items)
      if (it.op === 'EC2 RunInstances' && launches.push(it.op) === 3)
        fake.failures.get('EC2 RunInstances')!.push(awsErr('InsufficientInstanceCapacity'));
    return origOps(...items);
  };
  await assert.rejects(
    applyCloud(p.ctx, p.desired, p.observed, p.changes, rec, { runId: 'r1', cloudOnly: true }),
    (e) =>
      isMesoError(e, 'AwsCallFailed') &&
      /RunInstances master-3/.test(e.message) &&
      /InsufficientInstanceCapacity/.test(e.message),
  );
  assert.ok(n > 0);
  assert.deepEqual(Object.keys(rec.state.hosts).sort(), ['master-1', 'master-2']);
  assert.equal(aws.live().length, 2);
  // Re-run with the saved state: the two are kept, four are launched, balancers created.
  const again = await planned(spec);
  assert.deepEqual(
    again.changes.filter((c) => c.resource === 'instance').map((c) => `${c.action} ${c.name}`),
    ['create master-3', 'create private-1', 'create private-2', 'create public-1'],
  );
  assert.ok(!again.changes.some((c) => c.resource === 'security-group'), 'groups and rules are complete');
  await applyCloud(again.ctx, again.desired, again.observed, again.changes, rec, {
    runId: 'r2',
    cloudOnly: true,
  });
  assert.equal(aws.live().length, 6);
  assert.deepEqual((await planned(spec)).changes, []);
});

void test('throttling is retried with backoff; a call that keeps failing for another reason is not', async () => {
  const spec = specOf(YAML());
  aws.failNext('EC2 CreateSecurityGroup', awsErr('RequestLimitExceeded', 503), 2);
  aws.failNext('ELB CreateLoadBalancer', awsErr('Throttling', 400), 1);
  await applyAll(spec);
  assert.equal(aws.groups.size, 5);
  assert.equal(aws.balancers.size, 2);
  assert.equal(sleeps.length, 3);
  assert.ok(sleeps[1]! >= sleeps[0]! / 2, 'backoff grows');

  aws.failNext(
    'EC2 DescribeSecurityGroups',
    awsErr('UnauthorizedOperation', 403, 'You are not authorized'),
    1,
  );
  await assert.rejects(
    planned(spec),
    (e) =>
      isMesoError(e, 'AwsCallFailed') && /UnauthorizedOperation/.test(e.message) && /IAM/.test(e.hint ?? ''),
  );
});

void test('rules are diffed and reconciled: only the missing rule is authorized, only the foreign one revoked', async () => {
  const spec = specOf(YAML());
  await applyAll(spec);
  const admin = [...aws.groups.values()].find((g) => g.GroupName === 'cg-admin')!;
  admin.IpPermissions = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '198.51.100.0/24' }] }];
  const { changes } = await planned(spec);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.address, 'aws/security-group/admin');
  assert.equal(changes[0]!.action, 'update');
  assert.deepEqual(
    changes[0]!.attributes.map((a) => [a.before, a.after]),
    [
      [null, 'all from 203.0.113.0/24'],
      ['all from 198.51.100.0/24', null],
    ],
  );
  const before = aws.calls.length;
  await applyAll(spec);
  const sent = aws.calls.slice(before).filter((c) => /Authorize|Revoke/.test(c.op));
  assert.deepEqual(
    sent.map((c) => c.op),
    ['EC2 RevokeSecurityGroupIngress', 'EC2 AuthorizeSecurityGroupIngress'],
  );
  assert.equal(aws.calls.slice(before).filter((c) => c.op === 'EC2 CreateSecurityGroup').length, 0);
  assert.deepEqual((await planned(spec)).changes, []);
});

void test('a changed AMI replaces the instance and says which attribute forces it; removed hosts are terminated and deregistered', async () => {
  await applyAll(specOf(YAML()));
  const changed = specOf(
    YAML()
      .replace('ami: ami-0123', 'ami: { masters: ami-0123, default: ami-0456 }')
      .replace('- { group: private, count: 2 }', '- { group: private, count: 1 }'),
  );
  const { changes } = await planned(changed);
  const replace = changes.filter((c) => c.action === 'replace');
  assert.deepEqual(
    replace.map((c) => c.name),
    ['private-1', 'public-1'],
  );
  assert.deepEqual(replace[0]!.attributes, [
    { name: 'ami', before: 'ami-0123', after: 'ami-0456', forcesReplacement: true },
  ]);
  const del = changes.filter((c) => c.action === 'delete');
  assert.deepEqual(
    del.map((c) => c.address),
    ['aws/instance/private-2'],
  );
  const rec = recorder();
  await applyAll(changed, rec);
  assert.equal(aws.live().length, 5);
  assert.ok(aws.live().filter((i) => i.ImageId === 'ami-0456').length === 2);
  assert.equal(rec.state.hosts['private-2'], undefined);
  assert.deepEqual((await planned(changed)).changes, []);
});

void test('a balancer of that name not tagged for the cluster is never touched', async () => {
  const spec = specOf(YAML());
  aws.balancers.set('cg-int', {
    d: { LoadBalancerName: 'cg-int', Instances: [] },
    tags: [{ Key: 'owner', Value: 'someone' }],
  });
  await assert.rejects(planned(spec), (e) => isMesoError(e, 'AwsConflict') && /cg-int/.test(e.message));
  assert.equal(aws.count('ELB DeleteLoadBalancer'), 0);
});

void test('host keys come from the console output when the image prints them, else accept-new is recorded', async () => {
  const out = [
    'cloud-init: boot',
    '-----BEGIN SSH HOST KEY KEYS-----',
    'ecdsa-sha2-nistp256 AAAAE2VjZHNh root@ip-10-0-0-2',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH root@ip-10-0-0-2',
    '-----END SSH HOST KEY KEYS-----',
  ].join('\r\n');
  assert.deepEqual(hostKeysFromConsole(out), [
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH',
    'ecdsa-sha2-nistp256 AAAAE2VjZHNh',
  ]);
  assert.deepEqual(hostKeysFromConsole('no keys here'), []);

  const spec = specOf(YAML());
  aws.consoleOutput = out;
  const { rec } = await applyAll(spec, recorder(), false);
  assert.equal(rec.state.hosts['master-1']!.hostKey, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH');
  assert.equal(rec.state.hosts['master-1']!.provider?.['hostKeyFrom'], 'console');
  assert.ok(aws.count('EC2 DescribeInstanceStatus') > 0, 'waited for status ok');

  aws.restore();
  aws = new FakeAws();
  const again = await applyAll(spec, recorder(), false);
  assert.equal(again.rec.state.hosts['master-1']!.hostKey, undefined);
  assert.equal(again.rec.state.hosts['master-1']!.provider?.['hostKeyFrom'], 'accept-new');
});

void test('destroy: deregister, delete balancers, terminate and wait, revoke rules, delete groups retrying DependencyViolation, empty and delete the bucket', async () => {
  const spec = specOf(YAML());
  const { rec } = await applyAll(spec);
  aws.buckets.get('cg-files')!.keys.add('exhibitor/config');
  aws.failNext(
    'EC2 DeleteSecurityGroup',
    awsErr('DependencyViolation', 400, 'resource sg-1 has a dependent object'),
    2,
  );
  const ctx = context();
  const found = await findClusterResources(ctx, 'cg', {
    balancerNames: ['cg-int', 'cg-admin'],
    bucketNames: ['cg-files'],
    sweep: false,
  });
  assert.equal(found.instances.length, 6);
  await destroyCloud(ctx, found, rec, terminator(ctx));
  const ops = aws.ops();
  const i = (op: string): number => ops.indexOf(op);
  assert.ok(i('ELB DeregisterInstancesFromLoadBalancer') < i('ELB DeleteLoadBalancer'));
  assert.ok(i('ELB DeleteLoadBalancer') < i('EC2 TerminateInstances'));
  assert.ok(i('EC2 TerminateInstances') < i('EC2 RevokeSecurityGroupIngress'));
  assert.ok(ops.lastIndexOf('EC2 RevokeSecurityGroupIngress') < i('EC2 DeleteSecurityGroup'));
  assert.ok(i('S3 DeleteObjects') < i('S3 DeleteBucket'));
  assert.equal(aws.count('EC2 DeleteSecurityGroup'), 5 + 2);
  assert.ok(sleeps.length >= 2);
  assert.equal(aws.groups.size, 0);
  assert.equal(aws.balancers.size, 0);
  assert.equal(aws.live().length, 0);
  assert.equal(aws.buckets.size, 0);
  assert.deepEqual(rec.state.cloud, {});
  assert.deepEqual(rec.state.hosts, {});
});

void test('destroy by tag without any state; other clusters and untagged resources are left alone', async () => {
  await applyAll(specOf(YAML('cg')));
  await applyAll(specOf(YAML('other')));
  aws.balancers.set('untagged', { d: { LoadBalancerName: 'untagged', Instances: [] }, tags: [] });
  aws.buckets.set('shared-bucket', { tags: [{ Key: 'meso:cluster', Value: 'cg' }], keys: new Set(['x']) });
  const ctx = context();
  const found = await findClusterResources(ctx, 'cg', { balancerNames: [], bucketNames: [], sweep: true });
  assert.deepEqual(
    found.balancers.map((b) => b.name),
    ['cg-admin', 'cg-int'],
  );
  assert.deepEqual(found.buckets, [
    { name: 'cg-files', created: true },
    { name: 'shared-bucket', created: false },
  ]);
  await destroyCloud(ctx, found, undefined, terminator(ctx));
  assert.deepEqual([...aws.balancers.keys()].sort(), ['other-admin', 'other-int', 'untagged']);
  assert.equal(aws.live().length, 6);
  assert.ok(aws.live().every((i) => i.Tags?.some((t) => t.Key === 'meso:cluster' && t.Value === 'other')));
  assert.equal(aws.groups.size, 5);
  assert.ok(aws.buckets.has('shared-bucket'), 'a bucket meso did not create is never deleted');
  assert.ok(!aws.buckets.has('cg-files'));
});

void test('gc finds clusters whose meso:expires-at has passed', async () => {
  await applyAll(specOf(YAML('old', '  expiresAt: "2026-01-01T00:00:00Z"')));
  await applyAll(specOf(YAML('young', '  expiresAt: "2999-01-01T00:00:00Z"')));
  await applyAll(specOf(YAML('forever')));
  const expired = await expiredClusters(context(), new Date('2026-06-01T00:00:00Z'));
  assert.deepEqual(expired, [{ cluster: 'old', expiresAt: '2026-01-01T00:00:00Z' }]);
});

void test('observe: a stopped instance is planned to start; the cloud plan is deterministic', async () => {
  const spec = specOf(YAML());
  await applyAll(spec);
  const m1 = aws.live().find((i) => i.Tags?.some((t) => t.Key === 'meso:host' && t.Value === 'master-1'))!;
  m1.State = { Name: 'stopped' };
  const ctx = context();
  const d = desiredCloud(spec, deriveTopology(spec));
  const o = await observeCloud(ctx, d);
  const a = planCloud(d, o);
  assert.deepEqual(a, planCloud(d, o));
  assert.deepEqual(
    a.map((c) => `${c.action} ${c.address}`),
    ['update aws/instance/master-1'],
  );
});

void test('a balancer whose subnets change is replaced (deleted, created, masters registered again)', async () => {
  await applyAll(specOf(YAML()));
  const moved = specOf(YAML().replace('masters: [subnet-m1, subnet-m2]', 'masters: [subnet-m1, subnet-m3]'));
  const { changes } = await planned(moved);
  const lb = changes.find((c) => c.address === 'aws/load-balancer/internal')!;
  assert.equal(lb.action, 'replace');
  assert.deepEqual(lb.attributes, [
    { name: 'subnets', before: 'subnet-m1,subnet-m2', after: 'subnet-m1,subnet-m3', forcesReplacement: true },
  ]);
  // master-2 moves subnet too, so it is replaced and the admin balancer only re-registers it.
  const admin = changes.find((c) => c.address === 'aws/load-balancer/admin')!;
  assert.equal(admin.action, 'update');
  assert.deepEqual(
    admin.attributes.map((a) => a.name),
    ['instances'],
  );
  await applyAll(moved);
  assert.deepEqual(aws.balancers.get('cg-int')!.d.Subnets, ['subnet-m1', 'subnet-m3']);
  assert.equal(aws.balancers.get('cg-int')!.d.Instances?.length, 3);
  assert.deepEqual((await planned(moved)).changes, []);
});
