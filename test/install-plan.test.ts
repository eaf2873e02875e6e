// What meso installs, as rendered (repository files, software per host, TLS uploads) and as planned
// against hand-made observations (packages, archives, images, foreign units, agent resets, secrets),
// with the observation lines, the missing-program check and the quorum check around them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { withSecretHashes } from '../src/apply/secrets.js';
import { schedule } from '../src/apply/schedule.js';
import type { LiveState } from '../src/apply/schedule.js';
import { deriveTopology } from '../src/model/topology.js';
import { observeInput, parseObservation } from '../src/observe/observe.js';
import { planToJson } from '../src/plan/json.js';
import { buildPlan, fingerprint, softwareKey } from '../src/plan/plan.js';
import type { ObservedHost } from '../src/plan/plan.js';
import { missingPrograms } from '../src/plan/software.js';
import type { PackageChange, Plan, ServiceChange } from '../src/plan/types.js';
import { planToText } from '../src/report/plan-text.js';
import { renderDesiredState } from '../src/render/render.js';
import type { Assets, DesiredState, HostDesiredState, ServiceName } from '../src/render/types.js';
import { loadTemplates } from '../src/templates.js';
import { isMesoError } from '../src/util/errors.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { converged } from './helpers/observed.js';

const templates = loadTemplates();
const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBGTEST\n-----END PGP PUBLIC KEY BLOCK-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----\n';
const CA = '-----BEGIN CERTIFICATE-----\nMIIca\n-----END CERTIFICATE-----\n';
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const ASSETS: Assets = {
  text: new Map([
    ['keys/repo.asc', KEY],
    ['tls/cert.pem', CERT],
    ['tls/ca.pem', CA],
  ]),
  archive: { path: '/work/mesos-1.11.0.tar.gz', sha256: SHA_A },
};

const APT_REPO =
  '  repository: { url: http://r.example/debian, suite: bookworm, components: [main], key: keys/repo.asc }';
const ZK_DEDICATED = 'zookeeper:\n  hosts:\n    - { name: z1, address: 10.0.2.1 }';

const desire = (yaml: string, assets: Assets = ASSETS): DesiredState => {
  const s = specOf(yaml);
  return renderDesiredState(s, deriveTopology(s), templates, assets);
};
/** One master (also the ZooKeeper member) and one agent, with `install` lines and more YAML. */
const small = (install: string[], more = ''): string =>
  clusterYaml({
    masters: 1,
    agents: 1,
    extra: [install.length > 0 ? 'install:' : '', ...install, more].join('\n'),
  });
/** The agent group with extra lines (attributes, resources, flags). */
const group = (yaml: string, ...lines: string[]): string =>
  yaml.replace('  - group: g\n', `  - group: g\n${lines.map((l) => `    ${l}\n`).join('')}`);

const hostOf = (d: DesiredState, name: string): HostDesiredState => {
  const h = d.hosts.find((x) => x.host.name === name);
  assert.ok(h, `no host ${name}`);
  return h;
};
const contentOf = (h: HostDesiredState, path: string): string | undefined =>
  h.files.find((f) => f.path === path)?.content;
const softwareOf = (d: DesiredState, name: string): string[] =>
  hostOf(d, name).software.map((s) =>
    s.kind === 'package'
      ? `${s.manager} ${s.name}${s.version === undefined ? '' : `=${s.version}`} -> ${s.feeds.join('+')}`
      : s.kind === 'archive'
        ? `archive ${s.prefix} ${s.sha256.slice(0, 4)} ${s.source} -> ${s.feeds.join('+')}`
        : `image ${s.ref} -> ${s.feeds.join('+')}`,
  );

const patch = (
  observed: Map<string, ObservedHost>,
  host: string,
  f: (o: ObservedHost) => Partial<ObservedHost>,
): Map<string, ObservedHost> => {
  const o = observed.get(host)!;
  observed.set(host, { ...o, ...f(o) });
  return observed;
};
type Seen = { version: string | null; held: boolean };
const software = (entries: Record<string, Seen>): ReadonlyMap<string, Seen> =>
  new Map(Object.entries(entries));

const packages = (p: Plan): PackageChange[] =>
  p.changes.filter((c): c is PackageChange => c.kind === 'package');
const services = (p: Plan): ServiceChange[] =>
  p.changes.filter((c): c is ServiceChange => c.kind === 'service');
const jsonChange = (p: Plan, address: string): Record<string, unknown> | undefined =>
  (planToJson(p)['changes'] as Record<string, unknown>[]).find((c) => c['address'] === address);

void describe('render: repositories and software', () => {
  void test('apt: a deb822 source signed by the key from Assets, pins only for pinned packages', () => {
    const d = desire(small([APT_REPO, '  versions: { mesos: 1.11.0-1 }'], 'marathon: { enabled: true }'));
    const m1 = hostOf(d, 'm1');
    const source = contentOf(m1, '/etc/apt/sources.list.d/meso.sources') ?? '';
    assert.match(
      source,
      /^Types: deb\nURIs: http:\/\/r\.example\/debian\nSuites: bookworm\nComponents: main\nSigned-By: \/etc\/apt\/keyrings\/meso\.asc\n$/m,
    );
    assert.equal(contentOf(m1, '/etc/apt/keyrings/meso.asc'), KEY);
    const pins = contentOf(m1, '/etc/apt/preferences.d/meso') ?? '';
    assert.match(pins, /^Package: mesos\nPin: version 1\.11\.0-1\nPin-Priority: 1001$/m);
    assert.equal(pins.match(/^Package: /gm)?.length, 1, pins);
    assert.deepEqual(softwareOf(d, 'm1'), [
      'apt zookeeper -> zookeeper',
      'apt mesos=1.11.0-1 -> mesos-master',
      'apt marathon -> marathon',
    ]);

    // No pin, no preferences file; no key, no keyring and no Signed-By.
    const plain = hostOf(
      desire(small(['  repository: { url: http://r.example/debian, suite: bookworm }'])),
      'm1',
    );
    assert.equal(contentOf(plain, '/etc/apt/preferences.d/meso'), undefined);
    assert.equal(contentOf(plain, '/etc/apt/keyrings/meso.asc'), undefined);
    assert.doesNotMatch(
      contentOf(plain, '/etc/apt/sources.list.d/meso.sources') ?? 'missing',
      /Signed-By|Components/,
    );
  });

  void test('a repository key that was not read before rendering is an error naming it', () => {
    assert.throws(
      () => desire(small([APT_REPO]), { text: new Map() }),
      /the repository key keys\/repo\.asc was not read before rendering/,
    );
  });

  void test('role-scoped packages: zookeeper on members, mesos on masters and agents, marathon where it runs', () => {
    const d = desire(
      clusterYaml({
        masters: 3,
        agents: 1,
        extra: [
          ZK_DEDICATED,
          'marathon: { enabled: true }',
          'install:',
          '  packages: { zookeeper: zookeeperd, mesos: mesos, marathon: marathon, tools: curl }',
        ].join('\n'),
      }),
    );
    assert.deepEqual(softwareOf(d, 'z1'), ['apt zookeeperd -> zookeeper', 'apt curl -> ']);
    assert.deepEqual(softwareOf(d, 'm2'), [
      'apt mesos -> mesos-master',
      'apt marathon -> marathon',
      'apt curl -> mesos-master',
    ]);
    assert.deepEqual(softwareOf(d, 'a1'), ['apt mesos -> mesos-agent', 'apt curl -> mesos-agent']);
    // Without a repository meso writes no source of its own.
    assert.equal(contentOf(hostOf(d, 'm1'), '/etc/apt/sources.list.d/meso.sources'), undefined);
  });

  void test('yum: a repo file with gpgcheck and the key when one is given, gpgcheck=0 without; no apt pins', () => {
    const d = desire(
      small([
        '  method: yum',
        '  repository: { baseurl: http://r.example/el/9/, key: keys/repo.asc }',
        '  versions: { mesos: 1.11.0-1.el9 }',
      ]),
    );
    const signed = hostOf(d, 'a1');
    const repo = contentOf(signed, '/etc/yum.repos.d/meso.repo') ?? '';
    assert.match(
      repo,
      /^\[meso\]\nname=meso: packages of cluster t\nbaseurl=http:\/\/r\.example\/el\/9\/\nenabled=1\n/m,
    );
    assert.match(repo, /^gpgcheck=1\ngpgkey=file:\/\/\/etc\/pki\/rpm-gpg\/RPM-GPG-KEY-meso$/m);
    assert.equal(contentOf(signed, '/etc/pki/rpm-gpg/RPM-GPG-KEY-meso'), KEY);
    // The pin is held by yum itself (versionlock), not by an apt preferences file.
    assert.deepEqual(softwareOf(d, 'a1'), ['yum mesos=1.11.0-1.el9 -> mesos-agent']);
    assert.equal(contentOf(signed, '/etc/apt/preferences.d/meso'), undefined);
    const unsigned = hostOf(
      desire(small(['  method: yum', '  repository: { baseurl: http://r.example/el/9/ }'])),
      'a1',
    );
    assert.match(contentOf(unsigned, '/etc/yum.repos.d/meso.repo') ?? '', /^gpgcheck=0$/m);
    assert.equal(contentOf(unsigned, '/etc/pki/rpm-gpg/RPM-GPG-KEY-meso'), undefined);
  });

  void test('archive: runtime libraries by the OS everywhere, the archive on master and agent hosts only', () => {
    const d = desire(
      clusterYaml({
        masters: 3,
        agents: 1,
        extra: [
          ZK_DEDICATED,
          'install:',
          '  method: archive',
          '  archive: mesos.tgz',
          '  prefix: /opt/mesos-1.11',
          '  packages: [libsasl2-modules]',
          '  versions: { libsasl2-modules: 2.1.28 }',
          '  repository: { url: http://r.example/debian, suite: bookworm }',
        ].join('\n'),
      }),
    );
    assert.deepEqual(softwareOf(d, 'z1'), ['os libsasl2-modules=2.1.28 -> ']);
    assert.deepEqual(softwareOf(d, 'm1'), [
      'os libsasl2-modules=2.1.28 -> mesos-master',
      'archive /opt/mesos-1.11 aaaa /work/mesos-1.11.0.tar.gz -> mesos-master',
    ]);
    assert.deepEqual(softwareOf(d, 'a1'), [
      'os libsasl2-modules=2.1.28 -> mesos-agent',
      'archive /opt/mesos-1.11 aaaa /work/mesos-1.11.0.tar.gz -> mesos-agent',
    ]);
    const m1 = hostOf(d, 'm1');
    // The runtime libraries come from the given apt repository, pinned as apt pins.
    assert.match(
      contentOf(m1, '/etc/apt/sources.list.d/meso.sources') ?? '',
      /^URIs: http:\/\/r\.example\/debian$/m,
    );
    assert.match(
      contentOf(m1, '/etc/apt/preferences.d/meso') ?? '',
      /^Package: libsasl2-modules\nPin: version 2\.1\.28$/m,
    );
    assert.match(
      contentOf(m1, '/etc/systemd/system/mesos-master.service') ?? '',
      /^Environment=LD_LIBRARY_PATH=\/opt\/mesos-1\.11\/lib$/m,
    );
  });

  void test('docker: one image per service the host runs', () => {
    const d = desire(small(['  method: docker', '  images: { mesosAgent: "registry.example/agent:1.2" }']));
    assert.deepEqual(softwareOf(d, 'm1'), [
      'image zookeeper:3.8 -> zookeeper',
      'image mesosphere/mesos-master:1.11.0 -> mesos-master',
    ]);
    assert.deepEqual(softwareOf(d, 'a1'), ['image registry.example/agent:1.2 -> mesos-agent']);
  });

  void test('ssl.upload: certificate and CA from Assets, the key a 0600 sensitive file naming only its reference', () => {
    const d = desire(
      clusterYaml({
        masters: 3,
        agents: 1,
        extra: [
          ZK_DEDICATED,
          'security:',
          '  ssl:',
          '    certFile: /etc/mesos/tls/cert.pem',
          '    keyFile: /etc/mesos/tls/key.pem',
          '    caFile: /etc/mesos/tls/ca.pem',
          '    upload: { cert: tls/cert.pem, key: "file:tls/key.pem", ca: tls/ca.pem }',
        ].join('\n'),
      }),
    );
    for (const name of ['m1', 'a1']) {
      const h = hostOf(d, name);
      const byPath = (p: string) => h.files.find((f) => f.path === p);
      assert.equal(byPath('/etc/mesos/tls/cert.pem')?.content, CERT);
      assert.equal(byPath('/etc/mesos/tls/ca.pem')?.content, CA);
      assert.equal(byPath('/etc/mesos/tls/cert.pem')?.sensitive, false);
      const key = byPath('/etc/mesos/tls/key.pem');
      assert.ok(key !== undefined, name);
      assert.equal(key.mode, 0o600);
      assert.equal(key.sensitive, true);
      assert.deepEqual(key.secret, { kind: 'raw', secret: 'file:tls/key.pem' });
      assert.match(key.content, /file:tls\/key\.pem/);
      assert.match(contentOf(h, '/etc/default/mesos') ?? '', /^LIBPROCESS_SSL_KEY_FILE=/m);
    }
    // A ZooKeeper-only host runs no libprocess: nothing to upload there.
    assert.ok(!hostOf(d, 'z1').files.some((f) => f.path.startsWith('/etc/mesos/tls/')));
  });
});

void describe('plan: packages, archives and images', () => {
  const APT = [APT_REPO, '  versions: { mesos: 1.11.0-1 }'];

  void test('absent packages are created: a pinned one held at its version, an unpinned one at any', () => {
    const d = desire(small(APT));
    const plan = buildPlan(d, converged(d, { software: software({}) }), false);
    assert.deepEqual(
      packages(plan).map((c) => [c.address, c.action, c.manager, c.before, c.after, c.hold]),
      [
        ['host/m1/package:zookeeper', 'create', 'apt', null, null, false],
        ['host/m1/package:mesos', 'create', 'apt', null, '1.11.0-1', true],
        ['host/a1/package:mesos', 'create', 'apt', null, '1.11.0-1', true],
      ],
    );
    assert.deepEqual(jsonChange(plan, 'host/m1/package:mesos'), {
      address: 'host/m1/package:mesos',
      action: 'create',
      host: 'm1',
      path: null,
      reason: 'install with apt, pinned and held',
      kind: 'package',
      manager: 'apt',
      name: 'mesos',
      before_version: null,
      version: '1.11.0-1',
      hold: true,
    });
    const text = planToText(plan);
    assert.match(
      text,
      /^ {2}\+ package mesos = 1\.11\.0-1 \(apt, held\): install with apt, pinned and held$/m,
    );
    assert.match(text, /^ {2}\+ package zookeeper = any version \(apt\): install with apt$/m);
  });

  void test('a package held without a pinned version is released, not reinstalled', () => {
    const d = desire(small(APT));
    const plan = buildPlan(
      d,
      converged(d, { software: software({ 'package:zookeeper': { version: '3.4.13', held: true } }) }),
      false,
    );
    const zk = plan.changes.filter((c) => c.kind === 'package' && c.name === 'zookeeper');
    assert.ok(zk.length > 0);
    for (const c of zk) {
      assert.equal(c.action, 'update');
      assert.ok(c.kind === 'package' && c.after === null && !c.hold);
      assert.equal(c.reason, 'release the hold: no version is pinned any more');
    }
  });

  void test('a pinned package: another version is updated, the version unheld is held, held at it nothing', () => {
    const d = desire(small(APT));
    const planWith = (mesos: Seen): Plan =>
      buildPlan(
        d,
        converged(d, {
          // Unpinned, present and not held: no change, whatever the version.
          software: software({
            'package:mesos': mesos,
            'package:zookeeper': { version: '3.4.13', held: false },
          }),
        }),
        false,
      );
    const older = planWith({ version: '1.10.0-1', held: true });
    assert.deepEqual(
      packages(older).map((c) => [c.address, c.action, c.before, c.after, c.hold, c.reason]),
      [
        [
          'host/m1/package:mesos',
          'update',
          '1.10.0-1',
          '1.11.0-1',
          true,
          'change version 1.10.0-1 -> 1.11.0-1',
        ],
        [
          'host/a1/package:mesos',
          'update',
          '1.10.0-1',
          '1.11.0-1',
          true,
          'change version 1.10.0-1 -> 1.11.0-1',
        ],
      ],
    );
    assert.match(
      planToText(older),
      /^ {2}~ package mesos 1\.10\.0-1 -> 1\.11\.0-1 \(apt, held\): change version/m,
    );
    const unheld = planWith({ version: '1.11.0-1', held: false });
    assert.deepEqual(
      packages(unheld).map((c) => [c.host, c.action, c.reason]),
      [
        ['m1', 'update', 'hold the pinned version'],
        ['a1', 'update', 'hold the pinned version'],
      ],
    );
    assert.deepEqual(packages(planWith({ version: '1.11.0-1', held: true })), []);
    assert.deepEqual(planWith({ version: '1.11.0-1', held: true }).changes, []);
  });

  void test('a package change restarts the running services that package feeds, and no others', () => {
    const zk = desire(small([APT_REPO, '  versions: { zookeeper: 3.8.4-1 }']));
    const present = { version: '1', held: false };
    const zkPlan = buildPlan(
      zk,
      converged(zk, {
        software: software({
          'package:zookeeper': { version: '3.4.13', held: true },
          'package:mesos': present,
        }),
      }),
      false,
    );
    assert.deepEqual(
      packages(zkPlan).map((c) => c.address),
      ['host/m1/package:zookeeper'],
    );
    assert.deepEqual(
      services(zkPlan).map((c) => [c.address, c.action]),
      [['host/m1/service:zookeeper', 'restart']],
    );

    // An extra package feeds the Mesos services of its host.
    const extra = desire(small(['  packages: [curl]']));
    const extraPlan = buildPlan(extra, converged(extra, { software: software({}) }), false);
    assert.deepEqual(
      services(extraPlan).map((c) => [c.address, c.action]),
      [
        ['host/m1/service:mesos-master', 'restart'],
        ['host/a1/service:mesos-agent', 'restart'],
      ],
    );
  });

  void test('archive: unpacked when absent, again when its sha256 differs, left alone when it matches', () => {
    const d = desire(small(['  method: archive', '  archive: mesos.tgz']));
    const planWith = (sha: string | null): Plan =>
      buildPlan(
        d,
        converged(d, { software: software({ 'archive:/opt/mesos': { version: sha, held: false } }) }),
        false,
      );
    const absent = planWith(null);
    assert.deepEqual(
      packages(absent).map((c) => [c.address, c.action, c.manager, c.name, c.before, c.after]),
      [
        ['host/m1/archive:/opt/mesos', 'create', 'archive', '/opt/mesos', null, SHA_A],
        ['host/a1/archive:/opt/mesos', 'create', 'archive', '/opt/mesos', null, SHA_A],
      ],
    );
    assert.match(
      planToText(absent),
      /^ {2}\+ archive \/opt\/mesos = sha256:aaaaaaaaaaaa: upload and unpack under \/opt\/mesos$/m,
    );
    const other = planWith(SHA_B);
    assert.deepEqual(
      packages(other).map((c) => [c.host, c.action, c.before, c.after]),
      [
        ['m1', 'update', SHA_B, SHA_A],
        ['a1', 'update', SHA_B, SHA_A],
      ],
    );
    assert.match(
      planToText(other),
      /^ {2}~ archive \/opt\/mesos sha256:bbbbbbbbbbbb -> sha256:aaaaaaaaaaaa: a different tarball/m,
    );
    assert.deepEqual(
      services(other).map((c) => [c.address, c.action]),
      [
        ['host/m1/service:mesos-master', 'restart'],
        ['host/a1/service:mesos-agent', 'restart'],
      ],
    );
    assert.deepEqual(planWith(SHA_A).changes, []);
  });

  void test('docker: an absent image is pulled, a present one left; pulling restarts nothing', () => {
    const d = desire(small(['  method: docker']));
    const plan = buildPlan(
      d,
      converged(d, {
        software: software({ 'image:zookeeper:3.8': { version: 'sha256:1234', held: false } }),
      }),
      false,
    );
    assert.deepEqual(
      packages(plan).map((c) => [c.address, c.action, c.manager, c.name, c.after, c.hold]),
      [
        [
          'host/m1/image:mesosphere/mesos-master:1.11.0',
          'create',
          'docker',
          'mesosphere/mesos-master:1.11.0',
          'mesosphere/mesos-master:1.11.0',
          false,
        ],
        [
          'host/a1/image:mesosphere/mesos-slave:1.11.0',
          'create',
          'docker',
          'mesosphere/mesos-slave:1.11.0',
          'mesosphere/mesos-slave:1.11.0',
          false,
        ],
      ],
    );
    assert.deepEqual(services(plan), []);
    assert.match(planToText(plan), /^ {2}\+ image mesosphere\/mesos-master:1\.11\.0: pull the image$/m);
  });
});

void describe('plan: units the roles do not call for', () => {
  type Unit = { loaded: boolean; enabled: string; active: string };
  const units = (entries: Record<string, Unit>): ReadonlyMap<string, Unit> =>
    new Map(Object.entries(entries));

  void test('loaded foreign units that are up or enabled are stopped; mesos-slave.service everywhere', () => {
    const d = desire(small([]));
    const observed = converged(d);
    patch(observed, 'm1', () => ({
      units: units({
        'zookeeper.service': { loaded: true, enabled: 'enabled', active: 'active' }, // its own
        'mesos-agent.service': { loaded: true, enabled: 'enabled', active: 'inactive' },
        'mesos-slave.service': { loaded: true, enabled: 'disabled', active: 'active' },
      }),
    }));
    patch(observed, 'a1', () => ({
      units: units({
        'zookeeper.service': { loaded: true, enabled: 'disabled', active: 'inactive' }, // down and disabled
        'mesos-master.service': { loaded: true, enabled: 'disabled', active: 'activating' },
        'mesos-slave.service': { loaded: false, enabled: '', active: 'inactive' }, // not installed
      }),
    }));
    const plan = buildPlan(d, observed, false);
    assert.deepEqual(
      services(plan).map((c) => [c.address, c.action, c.unit, c.reason]),
      [
        [
          'host/m1/service:mesos-agent',
          'delete',
          'mesos-agent.service',
          'stop and disable: m1 is not an agent',
        ],
        [
          'host/m1/service:mesos-slave',
          'delete',
          'mesos-slave.service',
          "stop and disable: the Mesos packages' own agent unit; meso runs mesos-agent.service",
        ],
        [
          'host/a1/service:mesos-master',
          'delete',
          'mesos-master.service',
          'stop and disable: a1 is not a master',
        ],
      ],
    );
    assert.equal(plan.summary.delete, 3);
    assert.match(
      planToText(plan),
      /^ {2}- service mesos-slave\.service: stop and disable: the Mesos packages' own agent unit/m,
    );
  });

  void test('a role gone from a host is stopped once, for its removed unit file and as a foreign unit', () => {
    const d = desire(small([]));
    const observed = patch(converged(d), 'a1', (o) => ({
      files: new Map([
        ...o.files,
        [
          '/etc/systemd/system/mesos-master.service',
          { sha256: 'x', owner: 'root', group: 'root', mode: 0o644 },
        ],
      ]),
      managed: new Set([...o.managed, '/etc/systemd/system/mesos-master.service']),
      units: units({ 'mesos-master.service': { loaded: true, enabled: 'enabled', active: 'active' } }),
    }));
    const plan = buildPlan(d, observed, false);
    assert.deepEqual(
      plan.changes.map((c) => [c.address, c.action]),
      [
        ['host/a1/file:/etc/systemd/system/mesos-master.service', 'delete'],
        ['host/a1/service:mesos-master', 'delete'],
      ],
    );
    assert.equal(services(plan)[0]?.reason, 'stop and disable: the host no longer has this role');
  });
});

void describe('plan: agents whose resources or attributes change', () => {
  const agentYaml = (...lines: string[]): string =>
    group(small([]), 'flags: { work_dir: /data/mesos }', ...lines);

  void test('a running agent whose attributes or resources change restarts with a reset of its work dir', () => {
    for (const [before, after] of [
      ['attributes: { rack: r1 }', 'attributes: { rack: r2 }'],
      ['resources: "cpus:2"', 'resources: "cpus:4"'],
      ['attributes: { rack: r1 }', 'attributes: { rack: r1, zone: z1 }'],
    ] as const) {
      const old = desire(agentYaml(before));
      const plan = buildPlan(desire(agentYaml(after)), converged(old), false);
      assert.deepEqual(
        services(plan).map((c) => [c.address, c.action, c.recovery]),
        [['host/a1/service:mesos-agent', 'restart', { reset: true, workDir: '/data/mesos' }]],
        after,
      );
      assert.match(services(plan)[0]?.reason ?? '', /remove \/data\/mesos\/meta\/slaves\/latest/);
      const json = jsonChange(plan, 'host/a1/service:mesos-agent');
      assert.equal(json?.['recovery'], 'reset');
      assert.equal(json?.['work_dir'], '/data/mesos');
    }
    // A stopped agent that ran with other attributes would not recover either: its checkpoint goes
    // before it starts (no drain: it is not registered).
    const old = desire(agentYaml('attributes: { rack: r1 }'));
    const stopped = patch(converged(old), 'a1', () => ({ activeServices: new Set<ServiceName>() }));
    const start = buildPlan(desire(agentYaml('attributes: { rack: r2 }')), stopped, false);
    assert.deepEqual(
      services(start).map((c) => [c.address, c.action, c.recovery]),
      [['host/a1/service:mesos-agent', 'create', { reset: true, workDir: '/data/mesos' }]],
    );
    assert.equal(jsonChange(start, 'host/a1/service:mesos-agent')?.['recovery'], 'reset');
    // A new attribute on a stopped agent (no file before) is a plain start.
    const added = buildPlan(desire(agentYaml('attributes: { rack: r1, zone: z }')), stopped, false);
    assert.deepEqual(
      services(added).map((c) => [c.address, c.action, c.recovery]),
      [['host/a1/service:mesos-agent', 'create', undefined]],
    );
  });

  void test('reconfiguration_policy additive: only new files are a plain restart', () => {
    const additive = (attributes: string): string =>
      agentYaml(`attributes: ${attributes}`).replace(
        'flags: { work_dir: /data/mesos }',
        'flags: { work_dir: /data/mesos, reconfiguration_policy: additive }',
      );
    const old = desire(additive('{ rack: r1, zone: z1 }'));
    const recovery = (attributes: string): ServiceChange['recovery'] =>
      services(buildPlan(desire(additive(attributes)), converged(old), false)).find((c) => c.host === 'a1')
        ?.recovery;
    const restarted = services(
      buildPlan(desire(additive('{ rack: r1, zone: z1, row: w3 }')), converged(old), false),
    );
    assert.deepEqual(
      restarted.map((c) => [c.address, c.action]),
      [['host/a1/service:mesos-agent', 'restart']],
    );
    assert.equal(restarted[0]?.recovery, undefined);
    assert.deepEqual(recovery('{ rack: r2, zone: z1 }'), { reset: true, workDir: '/data/mesos' });
    assert.deepEqual(recovery('{ rack: r1 }'), { reset: true, workDir: '/data/mesos' }); // zone removed
  });

  void test('docker: the MESOS_ATTRIBUTES and MESOS_RESOURCES lines decide, from the old env file', () => {
    const dockerYaml = (...lines: string[]): string => group(small(['  method: docker']), ...lines);
    const old = desire(dockerYaml('attributes: { rack: r1 }', 'resources: "cpus:2"'));
    const oldEnv = contentOf(hostOf(old, 'a1'), '/etc/default/mesos-slave');
    assert.ok(oldEnv !== undefined && /^MESOS_ATTRIBUTES=rack:r1$/m.test(oldEnv));
    const known = patch(converged(old), 'a1', () => ({
      contents: new Map([['/etc/default/mesos-slave', oldEnv]]),
    }));
    const recovery = (observed: Map<string, ObservedHost>, ...lines: string[]) =>
      services(buildPlan(desire(dockerYaml(...lines)), observed, false)).map((c) => [
        c.address,
        c.action,
        c.recovery,
      ]);
    const reset = { reset: true, workDir: '/var/lib/mesos' };
    assert.deepEqual(recovery(known, 'attributes: { rack: r2 }', 'resources: "cpus:2"'), [
      ['host/a1/service:mesos-agent', 'restart', reset],
    ]);
    assert.deepEqual(recovery(known, 'attributes: { rack: r1 }', 'resources: "cpus:3"'), [
      ['host/a1/service:mesos-agent', 'restart', reset],
    ]);
    const otherFlag = ['attributes: { rack: r1 }', 'resources: "cpus:2"', 'flags: { logging_level: INFO }'];
    assert.deepEqual(recovery(known, ...otherFlag), [['host/a1/service:mesos-agent', 'restart', undefined]]);
    // Without the old content meso cannot tell, and resets: even when the new file has neither line.
    assert.deepEqual(recovery(converged(old), ...otherFlag), [
      ['host/a1/service:mesos-agent', 'restart', reset],
    ]);
    assert.deepEqual(recovery(converged(old), 'flags: { logging_level: INFO }'), [
      ['host/a1/service:mesos-agent', 'restart', reset],
    ]);
  });

  void test('systemd layout: /etc/default/mesos-slave carries no resources, so its change is a plain restart', () => {
    const d = desire(small([]));
    const observed = patch(converged(d), 'a1', (o) => {
      const files = new Map(o.files);
      const fp = files.get('/etc/default/mesos-slave')!;
      files.set('/etc/default/mesos-slave', { ...fp, mode: 0o600 }); // mode only
      return { files };
    });
    assert.deepEqual(
      services(buildPlan(d, observed, false)).map((c) => [c.address, c.action, c.recovery]),
      [['host/a1/service:mesos-agent', 'restart', undefined]],
    );
  });
});

void describe('observation of software and programs', () => {
  void test('P, A and D lines are asked for and read back under the keys the plan uses', () => {
    assert.equal(
      observeInput({
        paths: [],
        units: [],
        packages: ['mesos'],
        archives: ['/opt/mesos'],
        images: ['zookeeper:3.8'],
      }),
      'P\tmesos\nA\t/opt/mesos\nD\tzookeeper:3.8\n',
    );
    assert.throws(() => observeInput({ paths: [], units: [], packages: ['mesos\tx'] }), /cannot observe/);
    const obs = parseObservation(
      [
        'P\tmesos\t1.11.0-1\t1',
        'P\tmarathon\t-\t0',
        `A\t/opt/mesos\t${SHA_A}`,
        'D\tmesosphere/mesos-master:1.11.0\tsha256:feed',
        'D\tzookeeper:3.8\t-',
        'E\tdone',
      ].join('\n'),
    );
    assert.deepEqual(
      [...obs.software],
      [
        ['package:mesos', { version: '1.11.0-1', held: true }],
        ['package:marathon', { version: null, held: false }],
        ['archive:/opt/mesos', { version: SHA_A, held: false }],
        ['image:mesosphere/mesos-master:1.11.0', { version: 'sha256:feed', held: false }],
        ['image:zookeeper:3.8', { version: null, held: false }],
      ],
    );
    // Fed to the plan, the image seen is left alone and the one not there is pulled.
    const d = desire(small(['  method: docker']));
    const m1 = hostOf(d, 'm1');
    assert.deepEqual(m1.software.map(softwareKey), [
      'image:zookeeper:3.8',
      'image:mesosphere/mesos-master:1.11.0',
    ]);
    const plan = buildPlan(
      d,
      patch(converged(d), 'm1', () => ({ software: obs.software })),
      false,
    );
    assert.deepEqual(
      packages(plan)
        .filter((c) => c.host === 'm1')
        .map((c) => c.address),
      ['host/m1/image:zookeeper:3.8'],
    );
  });

  void test('method none: each service needs its programs; ZooKeeper both java and the jar', () => {
    const d = desire(clusterYaml({ masters: 1, agents: 2, extra: 'install: { method: none }' }));
    const facts = new Map([
      [
        'm1',
        new Map([
          ['bin:java', '/usr/bin/java'],
          ['bin:mesos-master', '/usr/sbin/mesos-master'],
        ]),
      ],
      ['a1', new Map([['bin:mesos-slave', '/usr/sbin/mesos-slave']])], // the old name will do
      // a2 was not observed: nothing is said about it
    ]);
    assert.deepEqual(missingPrograms('none', d, facts), [
      { service: 'zookeeper', program: 'ZooKeeper (java and /usr/share/java/zookeeper.jar)', hosts: ['m1'] },
    ]);
    facts.set('a2', new Map());
    facts.get('m1')!.set('zookeeper-jar', '/usr/share/java/zookeeper.jar');
    assert.deepEqual(missingPrograms('none', d, facts), [
      { service: 'mesos-agent', program: 'mesos-agent (or mesos-slave)', hosts: ['a2'] },
    ]);
    // Other methods install what they need.
    assert.deepEqual(missingPrograms('apt', d, new Map([['a2', new Map()]])), []);
  });

  void test('method docker: the engine, once per host that lacks it', () => {
    const d = desire(clusterYaml({ masters: 1, agents: 2, extra: 'install: { method: docker }' }));
    const facts = new Map([
      ['m1', new Map<string, string>()],
      ['a1', new Map([['bin:docker', '/usr/bin/docker']])],
      ['a2', new Map([['bin:mesos-agent', '/usr/sbin/mesos-agent']])],
    ]);
    assert.deepEqual(missingPrograms('docker', d, facts), [
      { service: 'zookeeper', program: 'docker', hosts: ['m1'] },
      { service: 'mesos-agent', program: 'docker', hosts: ['a2'] },
    ]);
  });
});

void describe('secrets in the plan', () => {
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

  void test('sensitive files are planned by the hash of their real content, which never shows', async () => {
    const d = desire(
      small(
        [],
        [
          'security:',
          '  authentication:',
          '    agents: true',
          '    credentials: [{ principal: ag, secret: env:AG_SECRET }]',
          '    agent: { principal: ag, secret: env:AG_SECRET }',
        ].join('\n'),
      ),
    );
    let reads = 0;
    const reader = (value: string) => async (ref: string) => {
      assert.equal(ref, 'env:AG_SECRET');
      reads += 1;
      return Promise.resolve(value);
    };
    const old = await withSecretHashes(d, reader('old-s3cret'));
    assert.equal(reads, 1, 'each reference is read once');
    const credentials = hostOf(old, 'm1').files.find((f) => f.path === '/etc/mesos/credentials.json');
    assert.equal(
      credentials?.secretSha256,
      sha(`${JSON.stringify({ credentials: [{ principal: 'ag', secret: 'old-s3cret' }] }, null, 2)}\n`),
    );
    const agent = hostOf(old, 'a1').files.find((f) => f.path === '/etc/mesos/agent-credential.json');
    assert.equal(
      agent?.secretSha256,
      sha(`${JSON.stringify({ principal: 'ag', secret: 'old-s3cret' }, null, 2)}\n`),
    );
    assert.ok(
      !d.hosts.some((h) => h.files.some((f) => f.secretSha256 !== undefined)),
      'the input is not changed',
    );
    assert.ok(!JSON.stringify(old).includes('old-s3cret'));

    const world = converged(old);
    assert.deepEqual(buildPlan(await withSecretHashes(d, reader('old-s3cret')), world, false).changes, []);
    const plan = buildPlan(await withSecretHashes(d, reader('new-s3cret')), world, false);
    assert.deepEqual(
      plan.changes.filter((c) => c.kind === 'file').map((c) => [c.address, c.action, c.reason]),
      [
        ['host/m1/file:/etc/mesos/credentials.json', 'update', 'content changed (sensitive)'],
        ['host/a1/file:/etc/mesos/agent-credential.json', 'update', 'content changed (sensitive)'],
      ],
    );
    const json = JSON.stringify(planToJson(plan));
    const text = planToText(plan);
    for (const shown of [json, text]) {
      assert.ok(!shown.includes('s3cret'));
      assert.ok(!shown.includes(credentials.secretSha256), 'not even the old hash');
    }
    assert.equal(
      jsonChange(plan, 'host/a1/file:/etc/mesos/agent-credential.json')?.['sha256'],
      '(sensitive)',
    );
    assert.match(text, /^ {6}\(sensitive: no diff shown\)$/m);
    // Planned by the placeholder alone, the same world would look changed.
    assert.equal(buildPlan(d, world, false).summary.update, 2);
  });

  void test('the uploaded TLS key is hashed as the secret itself', async () => {
    const d = desire(
      small(
        [],
        [
          'security:',
          '  ssl:',
          '    certFile: /etc/mesos/tls/cert.pem',
          '    keyFile: /etc/mesos/tls/key.pem',
          '    upload: { key: "file:tls/key.pem" }',
        ].join('\n'),
      ),
    );
    const hashed = await withSecretHashes(d, (ref) =>
      Promise.resolve(ref === 'file:tls/key.pem' ? 'PRIVATE KEY' : 'wrong'),
    );
    const key = hostOf(hashed, 'a1').files.find((f) => f.path === '/etc/mesos/tls/key.pem');
    assert.equal(key?.secretSha256, sha('PRIVATE KEY'));
    assert.equal(fingerprint(key).sha256, sha('PRIVATE KEY'));
  });
});

void describe('schedule: the masters keep their quorum', () => {
  const live = (down: string[], masterQuorum: number, hosts: string[]): LiveState => ({
    running: new Map(
      hosts.map((h) => [h, new Set<ServiceName>(down.includes(h) ? [] : ['zookeeper', 'mesos-master'])]),
    ),
    zkMode: new Map(),
    masterQuorum,
  });
  /** A plan that restarts mesos-master on `stale` hosts of a three-master cluster, all running. */
  const restartPlan = (stale: string[]): Plan => {
    const d = desire(clusterYaml({ masters: 3 }));
    const observed = converged(d);
    for (const h of stale)
      patch(observed, h, (o) => ({
        files: new Map([
          ...o.files,
          ['/etc/mesos-master/quorum', { sha256: 'old', owner: 'root', group: 'root', mode: 0o644 }],
        ]),
      }));
    return buildPlan(d, observed, false);
  };
  const masters = ['m1', 'm2', 'm3'];
  const summary = (p: Plan, l: LiveState): string[] =>
    schedule(p, l).map((w) => `${w.action} ${w.service} ${w.hosts.join(',')}`);

  void test('restarting only members that are down is allowed; an up member below the quorum is refused', () => {
    assert.deepEqual(summary(restartPlan(['m3']), live(['m3'], 2, masters)), ['restart mesos-master m3']);
    // m3 down and restarted too: it goes first, so two are up again before m1 restarts.
    assert.deepEqual(summary(restartPlan(['m1', 'm3']), live(['m3'], 2, masters)), [
      'restart mesos-master m3',
      'restart mesos-master m1',
    ]);
    assert.throws(
      () => schedule(restartPlan(['m1']), live(['m3'], 2, masters)),
      (e) =>
        isMesoError(e, 'PlanUnsafe') &&
        /restarting the masters one at a time would leave 1 of 3 up, below the quorum of 2 \(down now: m3\)/.test(
          e.message,
        ),
    );
    // All three up: one at a time keeps two, the quorum.
    assert.deepEqual(summary(restartPlan(['m1', 'm3']), live([], 2, masters)), [
      'restart mesos-master m1',
      'restart mesos-master m3',
    ]);
  });

  void test('a single member restarts: it has no quorum to keep', () => {
    const before = desire(clusterYaml({ masters: 1 }));
    const after = desire(
      clusterYaml({ masters: 1, extra: 'zookeeper: { tickTime: 3000 }' }).replace(
        'masters:\n',
        'masters:\n  flags: { logging_level: INFO }\n',
      ),
    );
    const plan = buildPlan(after, converged(before), false);
    assert.deepEqual(summary(plan, live([], 1, ['m1'])), ['restart zookeeper m1', 'restart mesos-master m1']);
  });
});

void test('an install failure is explained by the error lines, not by the settings dnf dumps after them', async () => {
  const { installHint } = await import('../src/apply/apply.js');
  const dnf = [
    'Last metadata expiration check: 0:00:01 ago.',
    'Error: GPG check FAILED',
    'Problem repository: [_dnf_local]',
    'install-packages: dnf install mesos-1.11.0-1 failed',
    'user_agent: libdnf (Debian GNU/Linux 12; generic; Linux.x86_64)',
    'username: ',
  ].join('\n');
  assert.equal(
    installHint(dnf),
    'Error: GPG check FAILED / Problem repository: [_dnf_local] / install-packages: dnf install mesos-1.11.0-1 failed',
  );
  assert.equal(installHint('one\ntwo\n'), 'one / two', 'no error lines: the last lines');
  assert.equal(installHint(''), 'see the host for details');
});
