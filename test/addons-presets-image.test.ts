// The image/archive presets (traefik, marathon-lb, metronome): defaults, checks and what they render.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS } from '../src/addons/presets/index.js';
import type { AddonContext, AddonRender, AddonSpec } from '../src/addons/types.js';
import { deriveTopology } from '../src/model/topology.js';
import type { Spec } from '../src/spec/types.js';
import { parse as parseYaml } from 'yaml';
import { normalize } from '../src/spec/normalize.js';

const yaml = (addons: string, extra = 'marathon: { enabled: true }'): string => `apiVersion: meso/v1
kind: Cluster
name: t
provider: static
masters:
  hosts:
    - { name: m1, address: 10.0.0.1 }
    - { name: m2, address: 10.0.0.2 }
    - { name: m3, address: 10.0.0.3 }
agents:
  - group: private
    hosts:
      - { name: a1, address: 10.0.1.1 }
  - group: edge
    public: true
    hosts:
      - { name: p1, address: 10.0.2.1 }
${extra}
addons:
${addons}
`;

// Normalized without the rules: the presets' own check() is what these tests look at (validate
// runs it too, so a spec it refuses never reaches specOf).
function setup(addons: string, extra?: string): { spec: Spec; addon: AddonSpec } {
  const spec = normalize(parseYaml(yaml(addons, extra)));
  return { spec, addon: spec.addons[0]! };
}

function render(spec: Spec, addon: AddonSpec, hostName: string): AddonRender {
  const topology = deriveTopology(spec);
  const host = topology.hosts.find((h) => h.name === hostName)!;
  const ctx: AddonContext = { spec, topology, addon, host, hosts: [host] };
  return PRESETS.get(addon.preset!)!.render(ctx);
}

const file = (r: AddonRender, path: string): string => {
  const f = r.files.find((x) => x.path === path);
  assert.ok(f, `no ${path} in ${r.files.map((x) => x.path).join(', ')}`);
  return f.content;
};
const execStart = (unit: string): string => /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
const check = (spec: Spec, addon: AddonSpec) => PRESETS.get(addon.preset!)!.check(addon, spec);

const MARATHONS = 'http://10.0.0.1:8080,http://10.0.0.2:8080,http://10.0.0.3:8080';

void test('the registry has the three image presets, each named as its key', () => {
  for (const n of ['traefik', 'marathon-lb', 'metronome']) assert.equal(PRESETS.get(n)?.name, n);
});

void test('traefik: defaults on the public agents after marathon, pinned 1.7 image, ports and /ping health', () => {
  const { addon } = setup('  - preset: traefik');
  assert.deepEqual(addon.install, { kind: 'image', ref: 'traefik:v1.7.34' });
  assert.deepEqual(addon.on, { kind: 'publicAgents' });
  assert.equal(addon.after, 'marathon');
  assert.deepEqual(
    addon.ports.map((p) => p.port),
    [80, 8081],
  );
  assert.deepEqual(addon.health, { kind: 'http', port: 8081, path: '/ping' });
});

void test('traefik: traefik.toml lists every Marathon, the domain, the entry points and [ping]; docker mounts it', () => {
  const { spec, addon } = setup('  - preset: traefik');
  const r = render(spec, addon, 'p1');
  const toml = file(r, '/etc/traefik/traefik.toml');
  assert.match(toml, /^\[marathon\]$/m);
  assert.ok(toml.includes(`endpoint = "${MARATHONS}"`), toml);
  assert.match(toml, /^domain = "marathon"$/m);
  assert.match(toml, /^watch = true$/m);
  assert.match(toml, /^exposedByDefault = true$/m);
  assert.match(toml, /\[entryPoints\.http\]\n {2}address = ":80"/);
  assert.match(toml, /\[entryPoints\.traefik\]\n {2}address = ":8081"/);
  assert.match(toml, /^\[ping\]\nentryPoint = "traefik"$/m);
  assert.match(toml, /^\[api\]\nentryPoint = "traefik"$/m);
  const exec = execStart(r.unit);
  assert.ok(exec.startsWith('/usr/bin/docker run --rm --name meso-traefik --net=host'), exec);
  assert.ok(exec.includes('-v /etc/traefik:/etc/traefik:ro'), exec);
  assert.ok(exec.endsWith('traefik:v1.7.34 --configfile=/etc/traefik/traefik.toml'), exec);
  assert.ok(exec.includes('--env-file /etc/default/traefik'), exec);
  assert.ok(r.files.some((f) => f.path === '/etc/default/traefik'));
});

void test('traefik: options move the ports, the domain and the health check; an image: overrides the pin', () => {
  const { spec, addon } = setup(
    '  - { preset: traefik, port: 8000, apiPort: 8090, domain: apps.example.com, exposedByDefault: false, image: "traefik:v1.7.30" }',
  );
  assert.deepEqual(
    addon.ports.map((p) => p.port),
    [8000, 8090],
  );
  assert.deepEqual(addon.health, { kind: 'http', port: 8090, path: '/ping' });
  const r = render(spec, addon, 'p1');
  const toml = file(r, '/etc/traefik/traefik.toml');
  assert.match(toml, /address = ":8000"/);
  assert.match(toml, /address = ":8090"/);
  assert.match(toml, /^domain = "apps\.example\.com"$/m);
  assert.match(toml, /^exposedByDefault = false$/m);
  assert.ok(execStart(r.unit).includes(' traefik:v1.7.30 '));
  assert.deepEqual(check(spec, addon), []);
});

void test('traefik: an archive: runs <prefix>/traefik with the same config, no docker', () => {
  const sha = 'a'.repeat(64);
  const { spec, addon } = setup(
    `  - { preset: traefik, archive: files/traefik-1.7.34.tar.gz, sha256: ${sha}, prefix: /opt/traefik }`,
  );
  assert.equal(addon.install.kind, 'archive');
  const r = render(spec, addon, 'p1');
  assert.equal(execStart(r.unit), '/opt/traefik/traefik --configfile=/etc/traefik/traefik.toml');
  assert.doesNotMatch(r.unit, /docker/);
  assert.match(r.unit, /^EnvironmentFile=-\/etc\/default\/traefik$/m);
  assert.ok(file(r, '/etc/traefik/traefik.toml').includes(`endpoint = "${MARATHONS}"`));
  assert.deepEqual(check(spec, addon), []);
});

void test("traefik: the spec's config: for traefik.toml replaces the preset's", () => {
  const { spec, addon } = setup(
    ['  - preset: traefik', '    config:', '      /etc/traefik/traefik.toml: "# mine\\n"'].join('\n'),
  );
  const r = render(spec, addon, 'p1');
  assert.ok(!r.files.some((f) => f.path === '/etc/traefik/traefik.toml'));
});

void test('traefik: check() wants Marathon, ports that are ports and differ, a domain, an image or archive', () => {
  const off = setup('  - preset: traefik', 'marathon: { enabled: false }');
  const d = check(off.spec, off.addon);
  assert.equal(d.length, 1);
  assert.deepEqual(d[0]!.path, ['preset']);
  assert.match(d[0]!.message, /Marathon/);
  assert.match(d[0]!.fix ?? '', /marathon\.enabled: true/);

  const bad = setup('  - { preset: traefik, port: 8081, domain: "a b", exposedByDefault: "yes" }');
  assert.deepEqual(
    check(bad.spec, bad.addon).map((x) => x.path.join('.')),
    ['apiPort', 'domain', 'exposedByDefault'],
  );
  const pkg = setup('  - { preset: traefik, package: traefik }');
  assert.deepEqual(
    check(pkg.spec, pkg.addon).map((x) => x.path.join('.')),
    ['package'],
  );
});

void test('marathon-lb: pinned image, sse on every Marathon, group, health check, PORTS in its env file', () => {
  const { spec, addon } = setup('  - preset: marathon-lb');
  assert.deepEqual(addon.on, { kind: 'publicAgents' });
  assert.equal(addon.after, 'marathon');
  assert.deepEqual(
    addon.ports.map((p) => p.port),
    [80, 443, 9090, 9091],
  );
  assert.deepEqual(addon.health, { kind: 'http', port: 9090, path: '/_haproxy_health_check' });
  const r = render(spec, addon, 'p1');
  const exec = execStart(r.unit);
  assert.ok(
    exec.endsWith(
      'mesosphere/marathon-lb:v1.15.0 sse --marathon http://10.0.0.1:8080 http://10.0.0.2:8080 http://10.0.0.3:8080 --group external --health-check',
    ),
    exec,
  );
  assert.ok(exec.includes('--env-file /etc/default/marathon-lb'));
  assert.match(file(r, '/etc/default/marathon-lb'), /^PORTS="9090"$/m);
  assert.deepEqual(check(spec, addon), []);

  const internal = setup('  - { preset: marathon-lb, name: lb-internal, group: internal, on: private }');
  const ri = render(internal.spec, internal.addon, 'a1');
  assert.ok(execStart(ri.unit).includes('--name meso-lb-internal '));
  assert.ok(execStart(ri.unit).includes(' --group internal --health-check'));
});

void test('marathon-lb: check() wants Marathon and an image', () => {
  const off = setup('  - preset: marathon-lb', 'marathon: { enabled: false }');
  assert.deepEqual(
    check(off.spec, off.addon).map((x) => x.message),
    ['marathon-lb reads its apps from Marathon, which this cluster does not run'],
  );
  const arc = setup(`  - { preset: marathon-lb, archive: x.tar.gz, sha256: ${'b'.repeat(64)} }`);
  assert.deepEqual(
    check(arc.spec, arc.addon).map((x) => x.path.join('.')),
    ['archive'],
  );
  const grp = setup('  - { preset: marathon-lb, group: "a b" }');
  assert.deepEqual(
    check(grp.spec, grp.addon).map((x) => x.path.join('.')),
    ['group'],
  );
});

void test('metronome: on the masters, application.conf with the ZooKeeper and Mesos URLs, the port, JAVA_OPTS', () => {
  const { spec, addon } = setup('  - preset: metronome');
  assert.deepEqual(addon.on, { kind: 'masters' });
  assert.equal(addon.after, 'marathon');
  assert.deepEqual(
    addon.ports.map((p) => p.port),
    [9000, 9443],
  );
  assert.deepEqual(addon.health, { kind: 'http', port: 9000, path: '/ping' });
  const r = render(spec, addon, 'm2');
  const conf = file(r, '/etc/metronome/application.conf');
  assert.match(conf, /^include classpath\("application\.conf"\)$/m);
  assert.match(
    conf,
    /^metronome\.zk\.url = "zk:\/\/10\.0\.0\.1:2181,10\.0\.0\.2:2181,10\.0\.0\.3:2181\/metronome"$/m,
  );
  assert.match(
    conf,
    /^metronome\.mesos\.master\.url = "zk:\/\/10\.0\.0\.1:2181,10\.0\.0\.2:2181,10\.0\.0\.3:2181\/mesos"$/m,
  );
  assert.match(conf, /^play\.server\.http\.port = 9000$/m);
  assert.match(conf, /^metronome\.framework\.name = "metronome"$/m);
  assert.match(conf, /^metronome\.leader\.election\.hostname = "10\.0\.0\.2"$/m);
  const env = file(r, '/etc/default/metronome');
  assert.match(env, /^JAVA_OPTS="-Dconfig\.file=\/etc\/metronome\/application\.conf"$/m);
  assert.match(env, /^LIBPROCESS_IP="10\.0\.0\.2"$/m);
  const exec = execStart(r.unit);
  assert.ok(exec.includes('-v /etc/metronome:/etc/metronome:ro'), exec);
  assert.ok(exec.endsWith(' mesosphere/metronome:v0.6.33'), exec);
  assert.deepEqual(check(spec, addon), []);
});

void test('metronome: options, flags as -D properties, image: overrides the pin, archive runs bin/metronome', () => {
  const { spec, addon } = setup(
    '  - { preset: metronome, port: 9100, frameworkName: jobs, image: "mesosphere/metronome:v0.6.30", flags: { metronome.history.count: 20 } }',
  );
  assert.deepEqual(addon.health, { kind: 'http', port: 9100, path: '/ping' });
  const r = render(spec, addon, 'm1');
  assert.match(file(r, '/etc/metronome/application.conf'), /^play\.server\.http\.port = 9100$/m);
  assert.match(file(r, '/etc/metronome/application.conf'), /^metronome\.framework\.name = "jobs"$/m);
  assert.ok(
    execStart(r.unit).endsWith(' mesosphere/metronome:v0.6.30 -Dmetronome.history.count=20'),
    execStart(r.unit),
  );
  const arc = setup(`  - { preset: metronome, archive: m.tgz, sha256: ${'c'.repeat(64)} }`);
  const ra = render(arc.spec, arc.addon, 'm1');
  assert.equal(execStart(ra.unit), '/opt/meso-addons/metronome/bin/metronome');
  assert.match(ra.unit, /^EnvironmentFile=-\/etc\/default\/metronome$/m);
});

void test('metronome: check() wants Marathon, distinct ports; warns when frameworks must authenticate', () => {
  const off = setup('  - { preset: metronome, httpsPort: 9000 }', 'marathon: { enabled: false }');
  assert.deepEqual(
    check(off.spec, off.addon).map((x) => x.path.join('.')),
    ['preset', 'httpsPort'],
  );
  const bad = setup('  - { preset: metronome, port: 70000 }');
  assert.deepEqual(
    check(bad.spec, bad.addon).map((x) => x.path.join('.')),
    ['port'],
  );
  const ok = setup('  - preset: metronome');
  const auth = { ...ok.spec, security: { ...ok.spec.security, authenticateFrameworks: true } };
  assert.deepEqual(
    check(auth, ok.addon).map((x) => x.severity),
    ['warning'],
  );
});

void test('the renders are deterministic: the same input gives the same text', () => {
  for (const p of ['traefik', 'marathon-lb', 'metronome']) {
    const { spec, addon } = setup(`  - preset: ${p}`);
    const host = addon.on.kind === 'masters' ? 'm1' : 'p1';
    assert.deepEqual(render(spec, addon, host), render(spec, addon, host));
  }
});
