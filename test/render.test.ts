import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveTopology } from '../src/model/topology.js';
import { renderDesiredState } from '../src/render/render.js';
import type { HostDesiredState } from '../src/render/types.js';
import type { Spec } from '../src/spec/types.js';
import { loadTemplates } from '../src/templates.js';
import { clusterYaml, specOf } from './helpers/build.js';

const templates = loadTemplates();
const render = (spec: Spec): HostDesiredState[] =>
  renderDesiredState(spec, deriveTopology(spec), templates).hosts;
const host = (hosts: HostDesiredState[], name: string): HostDesiredState => {
  const h = hosts.find((x) => x.host.name === name);
  assert.ok(h, `no host ${name}`);
  return h;
};
const file = (h: HostDesiredState, path: string): string | undefined =>
  h.files.find((f) => f.path === path)?.content;

void test('boolean flags become ?name and ?no-name files; others one value per file', () => {
  const spec = specOf(
    clusterYaml({ extra: '' }).replace(
      '  - group: g\n',
      '  - group: g\n    flags: { switch_user: false, docker_kill_orphans: true, gc_delay: 2days }\n',
    ),
  );
  const a1 = host(render(spec), 'a1');
  assert.equal(file(a1, '/etc/mesos-slave/?no-switch_user'), '');
  assert.equal(file(a1, '/etc/mesos-slave/?docker_kill_orphans'), '');
  assert.equal(file(a1, '/etc/mesos-slave/gc_delay'), '2days\n');
  assert.equal(file(a1, '/etc/mesos-slave/switch_user'), undefined);
});

void test('user flags override meso defaults such as work_dir', () => {
  const spec = specOf(clusterYaml().replace('masters:\n', 'masters:\n  flags: { work_dir: /data/mesos }\n'));
  const m1 = host(render(spec), 'm1');
  assert.equal(file(m1, '/etc/mesos-master/work_dir'), '/data/mesos\n');
  assert.ok(m1.directories.some((d) => d.path === '/data/mesos' && d.data));
});

void test('zoo.cfg lists every member, sorted by id, and settings override meso defaults', () => {
  const spec = specOf(
    clusterYaml({ extra: 'zookeeper:\n  settings: { autopurge.purgeInterval: 1, maxClientCnxns: 100 }' }),
  );
  const cfg = file(host(render(spec), 'm2'), '/etc/zookeeper/conf/zoo.cfg') ?? '';
  assert.match(
    cfg,
    /^server\.1=10\.0\.0\.1:2888:3888\nserver\.2=10\.0\.0\.2:2888:3888\nserver\.3=10\.0\.0\.3:2888:3888\n$/m,
  );
  assert.match(cfg, /^autopurge\.purgeInterval=1$/m);
  assert.doesNotMatch(cfg, /^autopurge\.purgeInterval=24$/m);
  assert.match(cfg, /^maxClientCnxns=100$/m);
  assert.match(cfg, /^4lw\.commands\.whitelist=.*\bsrvr\b.*\bmntr\b/m);
  assert.match(cfg, /^dataDir=\/var\/lib\/zookeeper$/m);
});

void test('the local provider gets the POSIX launcher; public agents the slave_public role', () => {
  const local = specOf(
    'apiVersion: meso/v1\nkind: Cluster\nname: l\nprovider: local\nmasters: { count: 1 }\n' +
      'agents: [{ group: w, count: 1 }, { group: p, public: true, count: 1 }]\n',
  );
  const hosts = render(local);
  assert.equal(file(host(hosts, 'w-1'), '/etc/mesos-slave/launcher'), 'posix\n');
  assert.equal(file(host(hosts, 'w-1'), '/etc/mesos-slave/default_role'), undefined);
  assert.equal(file(host(hosts, 'p-1'), '/etc/mesos-slave/default_role'), 'slave_public\n');
  const statik = host(render(specOf(clusterYaml())), 'a1');
  assert.equal(file(statik, '/etc/mesos-slave/launcher'), undefined);
});

void test('docker: settings become MESOS_* lines in the env file, units run the pinned images', () => {
  const spec = specOf(
    clusterYaml({
      extra: 'install:\n  method: docker\n  images: { mesosAgent: "registry.example/agent:1.2" }',
    }).replace('  - group: g\n', '  - group: g\n    attributes: { rack: r1 }\n    resources: "cpus:2"\n'),
  );
  const a1 = host(render(spec), 'a1');
  const env = file(a1, '/etc/default/mesos-slave') ?? '';
  assert.match(env, /^MESOS_MASTER=zk:\/\/10\.0\.0\.1:2181,10\.0\.0\.2:2181,10\.0\.0\.3:2181\/mesos$/m);
  assert.match(env, /^MESOS_ATTRIBUTES=rack:r1$/m);
  assert.match(env, /^MESOS_RESOURCES=cpus:2$/m);
  assert.match(env, /^MESOS_WORK_DIR=\/var\/lib\/mesos$/m);
  assert.equal(
    a1.files.some((f) => f.path.startsWith('/etc/mesos-slave/')),
    false,
  );
  assert.match(
    file(a1, '/etc/systemd/system/mesos-agent.service') ?? '',
    /--env-file \/etc\/default\/mesos-slave .* registry\.example\/agent:1\.2$/m,
  );
});

void test('secrets: files are 0600, sensitive, and hold only the references', () => {
  const spec = specOf(
    clusterYaml({
      extra: [
        'security:',
        '  authentication:',
        '    frameworks: true',
        '    credentials: [{ principal: fw, secret: env:FW_SECRET }]',
      ].join('\n'),
    }),
  );
  const m1 = host(render(spec), 'm1');
  const cred = m1.files.find((f) => f.path === '/etc/mesos/credentials.json');
  assert.equal(cred?.mode, 0o600);
  assert.equal(cred?.sensitive, true);
  assert.deepEqual(cred?.secret, {
    kind: 'mesos-credentials',
    credentials: [{ principal: 'fw', secret: 'env:FW_SECRET' }],
  });
  assert.equal(file(m1, '/etc/mesos-master/?authenticate_frameworks'), '');
  assert.equal(file(m1, '/etc/mesos-master/credentials'), '/etc/mesos/credentials.json\n');
});

void test('values with shell metacharacters are quoted in sourced /etc/default files', () => {
  const spec = specOf(clusterYaml({ extra: `marathon: { enabled: true, javaOpts: "-Xmx1g -Dx='a b'" }` }));
  const text = file(host(render(spec), 'm1'), '/etc/default/marathon') ?? '';
  assert.match(text, /^JAVA_OPTS='-Xmx1g -Dx='\\''a b'\\'''$/m);
});

void test('rendering is deterministic and every host lists its services in start order', () => {
  const spec = specOf(clusterYaml({ extra: 'marathon: { enabled: true }' }));
  assert.deepEqual(render(spec), render(spec));
  assert.deepEqual(
    host(render(spec), 'm1').services.map((s) => s.name),
    ['zookeeper', 'mesos-master', 'marathon'],
  );
  const paths = host(render(spec), 'm1').files.map((f) => f.path);
  assert.deepEqual(paths, [...paths].sort());
});
