// aws: add-on ports with `public: true` opened on the security groups of their hosts, `balancer: true`
// ones as listeners of the admin balancer; planned, applied, re-planned empty and removed (fake AWS).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { SecurityGroup } from '@aws-sdk/client-ec2';
import { deriveTopology } from '../src/model/topology.js';
import { applyCloud } from '../src/providers/aws/apply.js';
import { awsClients } from '../src/providers/aws/clients.js';
import { desiredCloud } from '../src/providers/aws/desired.js';
import type { AwsContext } from '../src/providers/aws/observe.js';
import { planAws } from '../src/providers/aws/session.js';
import { formatPath } from '../src/spec/diagnostics.js';
import type { Spec } from '../src/spec/types.js';
import { validateText } from '../src/spec/validate.js';
import { emptyState } from '../src/state/local.js';
import { FakeAws } from './helpers/fake-aws.js';
import { specOf } from './helpers/build.js';

/** Traefik on the public agents (8000 public), Metronome on the masters (9000 public and on the balancer), a UDP service on the private agents. */
const ADDONS = `addons:
  - preset: traefik
    ports: [{ port: 8000, public: true }, 8081]
  - preset: metronome
    ports: [{ port: 9000, public: true, balancer: true }, 9443]
  - name: dns
    on: private
    command: /usr/sbin/dnsmasq -k
    ports: [{ port: 53, protocol: udp, public: true }, { port: 53, public: true }]
`;

const YAML = (addons = ADDONS): string => `
apiVersion: meso/v1
kind: Cluster
name: cg
provider: aws
aws:
  region: eu-west-1
  vpcId: vpc-1
  subnets: { masters: [subnet-m1], agents: [subnet-a1], publicAgents: [subnet-p1] }
  ami: ami-0123
  instanceTypes: { default: m5.large }
  keyName: cg
  adminCidrs: [203.0.113.0/24]
  publicPorts: [80, 443]
marathon: { enabled: true }
masters: { count: 3 }
agents:
  - { group: private, count: 2 }
  - { group: public, public: true, count: 1 }
${addons}`;

let aws: FakeAws;
beforeEach(() => {
  aws = new FakeAws();
});
afterEach(() => aws.restore());

function context(): AwsContext {
  return {
    clients: awsClients('eu-west-1'),
    sleep: () => Promise.resolve(),
    say: () => undefined,
    waitSeconds: 30,
  };
}

async function planned(spec: Spec) {
  const ctx = context();
  return { ctx, ...(await planAws(ctx, spec, deriveTopology(spec))) };
}

async function applyAll(spec: Spec) {
  const p = await planned(spec);
  const state = emptyState('cg');
  await applyCloud(
    p.ctx,
    p.desired,
    p.observed,
    p.changes,
    { state, save: () => Promise.resolve() },
    {
      runId: 'run1',
      cloudOnly: true,
    },
  );
  return p;
}

const world = (d: ReturnType<typeof desiredCloud>, role: string): string[] =>
  d.groups
    .find((g) => g.role === role)!
    .ingress.filter((p) => 'cidr' in p.from && p.from.cidr === '0.0.0.0/0')
    .map((p) => `${p.protocol}/${p.fromPort}`);

/** The rules open to the world on a group of the fake account, as `tcp/8000`. */
function worldRules(name: string): string[] {
  const g = [...aws.groups.values()].find((x: SecurityGroup) => x.GroupName === name)!;
  return (g.IpPermissions ?? [])
    .filter((p) => p.IpRanges?.some((r) => r.CidrIp === '0.0.0.0/0'))
    .map((p) => `${p.IpProtocol}/${p.FromPort}`)
    .sort();
}

const listenerPorts = (name: string): number[] =>
  (aws.balancers.get(name)!.d.ListenerDescriptions ?? [])
    .map((l) => l.Listener!.LoadBalancerPort!)
    .sort((a, b) => a - b);

void test('desired: each public add-on port on the group of its hosts only, TCP and UDP; balancer ports on the admin balancer', () => {
  const spec = specOf(YAML());
  const d = desiredCloud(spec, deriveTopology(spec));
  assert.deepEqual(world(d, 'public-agent'), ['tcp/80', 'tcp/443', 'tcp/8000']);
  assert.deepEqual(world(d, 'master'), ['tcp/9000']);
  assert.deepEqual(world(d, 'agent'), ['tcp/53', 'udp/53']);
  assert.deepEqual(world(d, 'lb'), []);
  assert.deepEqual(world(d, 'admin'), []);
  const [internal, admin] = d.balancers;
  assert.deepEqual(admin!.ports, [80, 443, 9000]);
  assert.deepEqual(internal!.ports, [2181, 8181, 5050, 8080, 80, 443]);
  // A port the spec already opens (aws.publicPorts) is not a second rule.
  const again = specOf(YAML(ADDONS.replace('port: 8000, public: true', 'port: 80, public: true')));
  assert.deepEqual(world(desiredCloud(again, deriveTopology(again)), 'public-agent'), ['tcp/80', 'tcp/443']);
});

void test('on: a host list opens on the groups of those hosts; without public nothing opens', () => {
  const spec = specOf(
    YAML(`addons:
  - { name: a, on: [master-2, public-1], command: /bin/a, ports: [{ port: 7000, public: true }] }
  - { name: b, on: agents, command: /bin/b, ports: [7100] }
`),
  );
  const d = desiredCloud(spec, deriveTopology(spec));
  assert.deepEqual(world(d, 'master'), ['tcp/7000']);
  assert.deepEqual(world(d, 'public-agent'), ['tcp/80', 'tcp/443', 'tcp/7000']);
  assert.deepEqual(world(d, 'agent'), []);
  assert.deepEqual(d.balancers[1]!.ports, [80, 443]);
});

void test('apply creates the rules and the listener; a second plan is empty', async () => {
  const spec = specOf(YAML());
  await applyAll(spec);
  assert.deepEqual(worldRules('cg-public-agent'), ['tcp/443', 'tcp/80', 'tcp/8000']);
  assert.deepEqual(worldRules('cg-master'), ['tcp/9000']);
  assert.deepEqual(worldRules('cg-agent'), ['tcp/53', 'udp/53']);
  assert.deepEqual(listenerPorts('cg-admin'), [80, 443, 9000]);
  const l = aws.balancers
    .get('cg-admin')!
    .d.ListenerDescriptions!.find((x) => x.Listener!.LoadBalancerPort === 9000)!;
  assert.equal(l.Listener!.InstancePort, 9000);
  assert.deepEqual(listenerPorts('cg-int'), [80, 443, 2181, 5050, 8080, 8181]);
  assert.deepEqual((await planned(spec)).changes, []);
});

void test('adding add-ons to a running cluster: the plan shows the rules and the listener as updates; removing them takes them away', async () => {
  const bare = specOf(YAML(''));
  await applyAll(bare);
  const spec = specOf(YAML());
  const { changes } = await planned(spec);
  const show = (c: (typeof changes)[number]) =>
    `${c.action} ${c.address}: ${c.attributes.map((a) => `${a.name} ${a.before ?? '-'} => ${a.after ?? '-'}`).join('; ')}`;
  assert.deepEqual(changes.map(show), [
    'update aws/security-group/master: ingress - => tcp/9000 from 0.0.0.0/0',
    'update aws/security-group/agent: ingress - => tcp/53 from 0.0.0.0/0; ingress - => udp/53 from 0.0.0.0/0',
    'update aws/security-group/public-agent: ingress - => tcp/8000 from 0.0.0.0/0',
    'update aws/load-balancer/admin: listeners 80,443 => 80,443,9000',
  ]);
  await applyAll(spec);
  assert.deepEqual(worldRules('cg-agent'), ['tcp/53', 'udp/53']);
  assert.deepEqual(listenerPorts('cg-admin'), [80, 443, 9000]);
  assert.deepEqual((await planned(spec)).changes, []);

  // The add-ons gone: their rules are revoked and the listener deleted; the core's stay.
  const removal = await planned(bare);
  assert.deepEqual(removal.changes.map(show), [
    'update aws/security-group/master: ingress tcp/9000 from 0.0.0.0/0 => -',
    'update aws/security-group/agent: ingress tcp/53 from 0.0.0.0/0 => -; ingress udp/53 from 0.0.0.0/0 => -',
    'update aws/security-group/public-agent: ingress tcp/8000 from 0.0.0.0/0 => -',
    'update aws/load-balancer/admin: listeners 80,443,9000 => 80,443',
  ]);
  await applyAll(bare);
  assert.deepEqual(worldRules('cg-public-agent'), ['tcp/443', 'tcp/80']);
  assert.deepEqual(worldRules('cg-master'), []);
  assert.deepEqual(worldRules('cg-agent'), []);
  assert.deepEqual(listenerPorts('cg-admin'), [80, 443]);
  assert.deepEqual((await planned(bare)).changes, []);
});

void test('validate: balancer: true where the admin balancer cannot forward it is an error with the fix', () => {
  const v = validateText(
    YAML(`addons:
  - preset: traefik
    ports: [{ port: 8000, public: true, balancer: true }]
  - preset: metronome
    ports: [{ port: 9000, balancer: true }]
  - { name: dns, on: masters, command: /bin/dns, ports: [{ port: 53, protocol: udp, public: true, balancer: true }] }
  - { name: ok, on: masters, command: /bin/ok, ports: [{ port: 9100, public: true, balancer: true }] }
`),
    'cluster.yaml',
  );
  const errors = v.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(
    errors.map((d) => [formatPath(d.path), d.line]),
    [
      ['addons[0].ports[0].balancer', 22],
      ['addons[1].ports[0].balancer', 24],
      ['addons[2].ports[0].balancer', 25],
    ],
  );
  assert.match(errors[0]!.message, /forwards to the masters only, and traefik also runs on public-1/);
  assert.match(errors[0]!.fix ?? '', /on: masters/);
  assert.match(errors[1]!.message, /needs public: true/);
  assert.match(errors[2]!.message, /TCP only/);
});

void test('validate: other providers ignore public and balancer (they are aws settings)', () => {
  const v = validateText(
    `apiVersion: meso/v1
kind: Cluster
name: t
provider: static
marathon: { enabled: true }
masters:
  hosts: [{ name: m1, address: 10.0.0.1 }]
agents:
  - { group: edge, public: true, hosts: [{ name: p1, address: 10.0.0.2 }] }
addons:
  - preset: traefik
    ports: [{ port: 8000, public: true, balancer: true }]
`,
    'cluster.yaml',
  );
  assert.deepEqual(
    v.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message),
    [],
  );
});
