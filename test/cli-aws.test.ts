import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ClusterState } from '../src/state/types.js';
import { runMeso } from './helpers/cli.js';
import { FakeAws } from './helpers/fake-aws.js';

// The CLI in-process against the stateful fake behind aws-sdk-client-mock: the real SDK clients meso
// builds from cluster.yaml, answered from memory. No traffic leaves the process.
const aws = new FakeAws();
after(() => aws.restore());

const dir = mkdtempSync(join(tmpdir(), 'meso-cli-aws-'));
const yaml = (name: string, extra = ''): string => `apiVersion: meso/v1
kind: Cluster
name: ${name}
provider: aws
aws:
  region: eu-west-1
  subnets: { masters: [subnet-m1], agents: [subnet-a1] }
  ami: ami-0123
  instanceTypes: { default: m5.large }
  keyName: k
${extra}
masters: { count: 3 }
agents: [ { group: w, count: 2 } ]
state: { backend: local, path: ${join(dir, `${name}.state.json`)} }
`;
const file = join(dir, 'c.yaml');
writeFileSync(file, yaml('c'));

const state = (name: string): ClusterState =>
  JSON.parse(readFileSync(join(dir, `${name}.state.json`), 'utf8')) as ClusterState;

void test('plan --cloud-only: cloud changes first in the JSON contract; nothing is created by planning', async () => {
  const r = await runMeso('plan', file, '--cloud-only', '--json');
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    summary: Record<string, number>;
    changes: {
      address: string;
      action: string;
      host: string | null;
      path: null;
      kind: string;
      attributes: unknown[];
    }[];
  };
  const sg = plan.changes.find((c) => c.address === 'aws/security-group/master')!;
  assert.deepEqual([sg.action, sg.host, sg.path, sg.kind], ['create', null, null, 'cloud']);
  const inst = plan.changes.find((c) => c.address === 'aws/instance/master-1')!;
  assert.equal(inst.host, 'master-1');
  assert.ok(plan.changes.some((c) => c.address === 'aws/load-balancer/internal'));
  assert.equal(plan.summary['create'], 5 + 5 + 2);
  assert.ok(
    plan.changes.every((c) => c.kind === 'cloud'),
    'no host step without SSH',
  );
  assert.equal(aws.groups.size + aws.instances.size + aws.balancers.size, 0);

  const d = await runMeso('plan', file, '--cloud-only', '--detailed-exitcode');
  assert.equal(d.code, 2);
  assert.match(d.stdout, /\+ aws\/instance\/w-2: agent \(w\) instance/);
  assert.match(d.stdout, /listeners = 2181,8181,5050,8080,80,443/);
});

void test('plan without --cloud-only: cloud changes first, then the host steps that follow from them', async () => {
  const r = await runMeso('plan', file, '--json');
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as { changes: { address: string; kind: string }[] };
  const kinds = plan.changes.map((c) => c.kind);
  const lastCloud = kinds.lastIndexOf('cloud');
  assert.ok(lastCloud > 0);
  assert.ok(
    kinds.slice(0, lastCloud + 1).every((k) => k === 'cloud'),
    'every cloud change before any host step',
  );
  assert.ok(plan.changes.some((c) => c.address === 'host/master-1/file:/etc/mesos/zk'));
  assert.ok(plan.changes.some((c) => c.address === 'host/w-1/service:mesos-agent'));
  const text = await runMeso('plan', file);
  assert.ok(
    text.stdout.indexOf('# cloud resources') < text.stdout.indexOf('# master-1 (address known after apply)'),
  );
  assert.equal(aws.instances.size, 0);
});

void test('apply --cloud-only asks first, then creates and records; a second plan is empty; destroy removes all', async () => {
  const refused = await runMeso('apply', file, '--cloud-only');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /no terminal to ask on/);
  assert.equal(aws.groups.size, 0);

  const r = await runMeso('apply', file, '--cloud-only', '--auto-approve');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /cloud applied: 12 created/);
  // The endpoints block ends the output: the balancers just made; no SSH, so no master was asked.
  assert.match(
    r.stdout,
    /\nEndpoints:\n\nmasters {3}= master-1 {2}http:\/\/10\.0\.\d+\.\d+:5050 +not reachable \(not asked: --cloud-only uses no SSH\)\n/,
  );
  assert.match(
    r.stdout,
    /^balancers = c-int +c-int\.elb\.example +internal, ports 80,443,2181,5050,8080,8181$/m,
  );
  assert.match(r.stdout, /^ +c-admin +c-admin\.elb\.example +internet-facing, ports 80,443\n/m);
  assert.equal(aws.live().length, 5);
  const s = state('c');
  assert.equal(Object.keys(s.cloud ?? {}).length, 12);
  assert.match(s.hosts['master-1']!.privateAddress, /^10\./);

  const again = await runMeso('plan', file, '--cloud-only', '--detailed-exitcode');
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /No changes/);

  const destroyed = await runMeso('destroy', file, '--auto-approve');
  assert.equal(destroyed.code, 0, destroyed.stderr);
  assert.match(destroyed.stdout, /aws\/load-balancer c-int/);
  assert.equal(aws.live().length, 0);
  assert.equal(aws.groups.size, 0);
  assert.equal(aws.balancers.size, 0);
  assert.deepEqual(state('c').cloud, {});
  assert.deepEqual(state('c').hosts, {});

  const none = await runMeso('destroy', file, '--by-tag', '--auto-approve');
  assert.equal(none.code, 0);
  assert.match(none.stderr, /nothing to destroy/);
});

void test('apply --cloud-only --target aws/instance/<name>: that instance and the groups it needs, nothing else', async () => {
  const f = join(dir, 't.yaml');
  writeFileSync(f, yaml('t'));
  const plan = await runMeso('plan', f, '--cloud-only', '--json', '--target', 'aws/instance/w-2');
  assert.equal(plan.code, 0, plan.stderr);
  const p = JSON.parse(plan.stdout) as {
    partial: boolean;
    targets: string[];
    changes: { address: string }[];
  };
  assert.equal(p.partial, true);
  assert.deepEqual(p.targets, ['aws/instance/w-2']);
  const addresses = p.changes.map((c) => c.address);
  assert.ok(addresses.includes('aws/instance/w-2'));
  assert.ok(
    addresses.every((a) => a === 'aws/instance/w-2' || a.startsWith('aws/security-group/')),
    addresses.join(),
  );

  const r = await runMeso('apply', f, '--cloud-only', '--auto-approve', '--target', 'aws/instance/w-2');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(aws.live().length, 1, 'one instance made');
  assert.equal(aws.balancers.size, 0, 'no balancer: not targeted');
  assert.deepEqual(Object.keys(state('t').hosts), ['w-2']);
  // The rest is still to do, and a plan without --target says so.
  const rest = await runMeso('plan', f, '--cloud-only', '--json');
  const left = (JSON.parse(rest.stdout) as { changes: { address: string }[] }).changes.map((c) => c.address);
  assert.ok(left.includes('aws/instance/master-1') && !left.includes('aws/instance/w-2'), left.join());
  const typo = await runMeso('plan', f, '--cloud-only', '--target', 'aws/instanse/w-2');
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /aws has no resource kind instanse/);
  assert.equal((await runMeso('destroy', f, '--auto-approve')).code, 0);
  assert.equal(aws.live().length, 0);
});

void test('apply --cloud-only --json: the endpoints are one event after the summary, with the balancers', async () => {
  const f = join(dir, 'j.yaml');
  writeFileSync(f, yaml('j'));
  const r = await runMeso('apply', f, '--cloud-only', '--auto-approve', '--json');
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; message: string } & Record<string, unknown>);
  assert.deepEqual(
    events.slice(-2).map((e) => e.type),
    ['done', 'endpoints'],
  );
  const e = events.at(-1) as unknown as {
    masters: { host: string; reachable: boolean; leader: boolean }[];
    leader: string | null;
    balancers: { name: string; dns: string }[];
    agents: { registered: boolean }[];
  };
  assert.deepEqual(
    e.balancers.map((b) => [b.name, b.dns]),
    [
      ['j-int', 'j-int.elb.example'],
      ['j-admin', 'j-admin.elb.example'],
    ],
  );
  assert.deepEqual(
    e.masters.map((m) => [m.host, m.reachable, m.leader]),
    [
      ['master-1', false, false],
      ['master-2', false, false],
      ['master-3', false, false],
    ],
  );
  assert.equal(e.leader, null);
  assert.equal((await runMeso('destroy', f, '--auto-approve')).code, 0);
});

void test('--cloud-only and --by-tag are refused for other providers, with the reason', async () => {
  const s = join(dir, 'static.yaml');
  writeFileSync(
    s,
    'apiVersion: meso/v1\nkind: Cluster\nname: s\nprovider: static\nmasters:\n  hosts: [ { name: m1, address: 127.0.0.1 } ]\n',
  );
  const p = await runMeso('plan', s, '--cloud-only');
  assert.equal(p.code, 1);
  assert.match(p.stderr, /--cloud-only is for provider aws/);
  const d = await runMeso('destroy', s, '--by-tag', '--auto-approve');
  assert.equal(d.code, 1);
  assert.match(d.stderr, /--by-tag is for provider aws/);
  assert.doesNotMatch(p.stderr + d.stderr, /\n\s+at /, 'no stack trace');
});

void test('gc --region: lists expired clusters with --dry-run, destroys them with --auto-approve, keeps the rest', async () => {
  const old = join(dir, 'old.yaml');
  const young = join(dir, 'young.yaml');
  writeFileSync(old, yaml('old', '  expiresAt: "2020-01-01T00:00:00Z"'));
  writeFileSync(young, yaml('young', '  expiresAt: "2999-01-01T00:00:00Z"'));
  for (const f of [old, young])
    assert.equal((await runMeso('apply', f, '--cloud-only', '--auto-approve')).code, 0);
  const dry = await runMeso('gc', '--region', 'eu-west-1', '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /cluster old \(expired 2020-01-01T00:00:00Z\)/);
  assert.doesNotMatch(dry.stdout, /young/);
  assert.equal(aws.live().length, 10);
  const gone = await runMeso('gc', '--region', 'eu-west-1', '--auto-approve');
  assert.equal(gone.code, 0, gone.stderr);
  assert.equal(aws.live().length, 5);
  assert.ok(aws.live().every((i) => i.Tags?.some((t) => t.Key === 'meso:cluster' && t.Value === 'young')));
  assert.equal(aws.balancers.size, 2);
});
