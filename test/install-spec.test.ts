// install: as the spec reads it (packages, versions, repository, missing) and the rules that guard it
// (repositories, package names and versions, pinned images, the uploaded TLS key).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic } from '../src/spec/diagnostics.js';
import type { PackageSpec } from '../src/spec/types.js';
import {
  base,
  errorsOf,
  expectClean,
  expectDiagnostic,
  expectDiagnostics,
  validate,
  warningsOf,
} from './helpers/spec.js';

/** BASE with `install:` on line 12 and `lines` (indented by the caller) from line 13 on. */
const install = (...lines: string[]): string => base({}, 'install:', ...lines);
const packagesOf = (...lines: string[]): PackageSpec[] =>
  expectClean(validate(install(...lines))).install.packages;

void describe('install.packages and install.versions', () => {
  void test('a list is every host (component extra); versions pin by package name', () => {
    assert.deepEqual(packagesOf('  packages: [mesos, curl]', '  versions: { curl: "7.88.1-10" }'), [
      { name: 'mesos', component: 'extra', version: undefined },
      { name: 'curl', component: 'extra', version: '7.88.1-10' },
    ]);
  });

  void test('a map: zookeeper, mesos and marathon keys are components, other keys extra', () => {
    assert.deepEqual(
      packagesOf(
        '  packages: { zookeeper: zookeeperd, mesos: mesos-bin, marathon: marathon, tools: curl }',
        // by component key (mesos -> mesos-bin) and by package name (curl)
        '  versions: { mesos: "1.11.0-2.0.1", curl: "7.88" }',
      ),
      [
        { name: 'zookeeperd', component: 'zookeeper', version: undefined },
        { name: 'mesos-bin', component: 'mesos', version: '1.11.0-2.0.1' },
        { name: 'marathon', component: 'marathon', version: undefined },
        { name: 'curl', component: 'extra', version: '7.88' },
      ],
    );
  });

  void test('a repository without packages brings the defaults, for apt and for yum', () => {
    const defaults = [
      { name: 'zookeeper', component: 'zookeeper', version: undefined },
      { name: 'mesos', component: 'mesos', version: '1.11.0-1' },
      { name: 'marathon', component: 'marathon', version: undefined },
    ];
    assert.deepEqual(
      packagesOf(
        '  repository: { url: http://r.example/debian, suite: bookworm }',
        '  versions: { mesos: 1.11.0-1 }',
      ),
      defaults,
    );
    assert.deepEqual(
      packagesOf(
        '  method: yum',
        '  repository: { baseurl: http://r.example/el/9/ }',
        '  versions: { mesos: 1.11.0-1 }',
      ),
      defaults,
    );
  });

  void test('no defaults without a repository, nor for an archive', () => {
    assert.deepEqual(packagesOf('  method: apt'), []);
    assert.deepEqual(
      packagesOf(
        '  method: archive',
        '  archive: mesos.tgz',
        '  repository: { url: http://r.example/debian, suite: bookworm }',
      ),
      [],
    );
  });

  void test('archive: every package is a runtime library, even under a component key', () => {
    assert.deepEqual(
      packagesOf(
        '  method: archive',
        '  archive: mesos.tgz',
        '  packages: { mesos: libsvn1, extra: libcurl4 }',
        '  versions: { mesos: "1.14.2-4" }',
      ),
      [
        { name: 'libsvn1', component: 'extra', version: '1.14.2-4' },
        { name: 'libcurl4', component: 'extra', version: undefined },
      ],
    );
  });

  void test('install.missing: warn by default for provider local, error otherwise; as written when given', () => {
    const local = (extra: string): string =>
      `apiVersion: meso/v1\nkind: Cluster\nname: l\nprovider: local\nmasters: { count: 1 }\n${extra}`;
    const missing = (text: string): string | undefined => validate(text).spec?.install.missing;
    assert.equal(missing(local('')), 'warn');
    assert.equal(missing(local('install: { missing: error }\n')), 'error');
    assert.equal(missing(base()), 'error');
    assert.equal(missing(install('  missing: warn')), 'warn');
  });
});

void describe('rule install: repositories', () => {
  void test('an apt repository needs url and suite', () => {
    expectDiagnostics(validate(install('  repository: { url: http://r.example/debian }')), [
      {
        severity: 'error',
        line: 13,
        col: 15,
        message: 'an apt repository needs url and suite',
        fix: 'suite: stretch',
        path: 'install.repository',
      },
    ]);
  });

  void test('an archive repository without baseurl is an apt one; with baseurl it is fine', () => {
    const archive = ['  method: archive', '  archive: mesos.tgz'];
    expectDiagnostic(validate(install(...archive, '  repository: { url: http://r.example/debian }')), {
      severity: 'error',
      line: 15,
      col: 15,
      message: 'an apt repository needs url and suite',
    });
    expectClean(validate(install(...archive, '  repository: { baseurl: http://r.example/el/9/ }')));
  });

  void test('a yum repository needs baseurl', () => {
    expectDiagnostics(validate(install('  method: yum', '  repository: { url: http://r.example/el }')), [
      {
        severity: 'error',
        line: 14,
        col: 15,
        message: 'a yum repository needs baseurl',
        path: 'install.repository',
      },
    ]);
  });

  void test('a repository with method docker or none is a warning, and the spec is still valid', () => {
    for (const method of ['docker', 'none']) {
      const result = validate(
        install(`  method: ${method}`, '  repository: { url: http://r.example/debian, suite: bookworm }'),
      );
      expectDiagnostics(result, [
        {
          severity: 'warning',
          line: 14,
          col: 15,
          message: `install.method ${method} does not use a repository`,
          path: 'install.repository',
        },
      ]);
      assert.ok(result.spec !== undefined);
    }
  });

  void test('repository URLs are http(s) or file URLs; suite and components are safe words', () => {
    const result = validate(
      install('  repository: { url: "ftp://r.example/debian", suite: "a b", components: ["main;x"] }'),
    );
    assert.deepEqual(
      errorsOf(result)
        .map((d) => d.message)
        .sort(),
      [
        "'ftp://r.example/debian' is not an http(s) or file URL",
        "component 'main;x' has unsafe characters",
        "suite 'a b' has unsafe characters",
      ],
    );
    expectClean(validate(install('  repository: { url: "file:///srv/repo", suite: ./ }')));
  });
});

void describe('rule install: package names and versions', () => {
  void test('a bad package name is an error at that entry, in a list and in a map', () => {
    expectDiagnostics(validate(install('  packages: [mesos, "-bad"]')), [
      {
        severity: 'error',
        line: 13,
        col: 21,
        message: "package name '-bad' is not a valid package name",
        path: 'install.packages[1]',
      },
    ]);
    expectDiagnostics(validate(install('  packages: { mesos: "mesos; reboot" }')), [
      {
        severity: 'error',
        line: 13,
        col: 22,
        message: "package name 'mesos; reboot' is not a valid package name",
        path: 'install.packages.mesos',
      },
    ]);
  });

  void test('a version with shell characters is an error naming the package', () => {
    const result = validate(install('  packages: [mesos]', '  versions: { mesos: "1.11.0 || reboot" }'));
    expectDiagnostic(result, {
      severity: 'error',
      line: 14,
      col: 13,
      message: "version '1.11.0 || reboot' of mesos has unsafe characters",
      path: 'install.versions',
    });
    // Epochs, tildes and distribution suffixes are versions as apt and yum write them.
    expectClean(validate(install('  packages: [mesos]', '  versions: { mesos: "1:1.11.0~rc1-2.el9_x" }')));
  });

  void test('versions naming no package are errors, with the names that can be pinned', () => {
    expectDiagnostic(
      validate(install('  packages: { mesos: mesos-bin }', '  versions: { marathon: "1.11" }')),
      {
        severity: 'error',
        line: 14,
        col: 25,
        message: 'versions.marathon names no package',
        fix: 'pin one of: mesos-bin, mesos',
        path: 'install.versions.marathon',
      },
    );
    expectDiagnostic(validate(install('  versions: { mesos: "1.11" }')), {
      severity: 'error',
      line: 13,
      col: 22,
      message: 'versions.mesos names no package',
      fix: 'give install.repository for the defaults',
    });
  });
});

void describe('rule install: images and the TLS key', () => {
  void test('docker images must be pinned: a tag other than latest, or a digest', () => {
    const result = validate(
      install(
        '  method: docker',
        '  images:',
        '    zookeeper: "zookeeper:latest"',
        '    mesosMaster: "registry.example:5000/mesos-master"',
        '    mesosAgent: "registry.example:5000/mesos-agent:1.11.0"',
        '    marathon: "mesosphere/marathon@sha256:0123456789abcdef"',
      ),
    );
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 15,
        col: 16,
        message: "image 'zookeeper:latest' is not pinned",
        fix: 'name@sha256:',
        path: 'install.images.zookeeper',
      },
      {
        severity: 'error',
        line: 16,
        col: 18,
        message: "image 'registry.example:5000/mesos-master' is not pinned",
        path: 'install.images.mesosMaster',
      },
    ]);
    // The images meso uses when none are given are pinned.
    expectClean(validate(install('  method: docker')));
  });

  void test('ssl.upload.key must be a secret reference, and an inline key is never echoed', () => {
    const ssl = (upload: string): string =>
      base(
        {},
        'security:',
        '  ssl:',
        '    certFile: /etc/mesos/tls/cert.pem',
        '    keyFile: /etc/mesos/tls/key.pem',
        '    caFile: /etc/mesos/tls/ca.pem',
        `    upload: ${upload}`,
      );
    const result = validate(ssl('{ cert: tls/cert.pem, key: "PRIVATEKEYBYTES" }'));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 17,
        col: 40,
        message: 'the key must be given by reference, never inline',
        fix: 'use file:PATH',
        path: 'security.ssl.upload.key',
      },
    ]);
    for (const d of result.diagnostics) assert.ok(!formatDiagnostic(d).includes('PRIVATEKEYBYTES'));
    const spec = expectClean(
      validate(ssl('{ cert: tls/cert.pem, key: "file:tls/key.pem", ca: tls/ca.pem }')),
    );
    assert.deepEqual(spec.security.ssl?.upload, {
      cert: 'tls/cert.pem',
      key: 'file:tls/key.pem',
      ca: 'tls/ca.pem',
    });
  });
});

void describe('install: gaps found while testing, now closed', () => {
  void test('a package listed twice is rejected', () => {
    const result = validate(install('  packages: [curl, curl]'));
    assert.equal(result.spec, undefined);
    assert.ok(
      result.diagnostics.some((d) => d.message === 'package curl is listed twice'),
      JSON.stringify(result.diagnostics),
    );
  });

  void test('yum package names may have capitals', () => {
    const result = validate(
      install(
        '  method: yum',
        '  repository: { baseurl: http://r.example/el/9/ }',
        '  packages: [perl-Digest-SHA]',
      ),
    );
    assert.deepEqual(errorsOf(result), []);
  });

  void test('a CA to upload without a caFile to put it in is reported', () => {
    const result = validate(
      base(
        {},
        'security:',
        '  ssl:',
        '    certFile: /etc/mesos/tls/cert.pem',
        '    keyFile: /etc/mesos/tls/key.pem',
        '    upload: { ca: tls/ca.pem }',
      ),
    );
    assert.ok(
      [...errorsOf(result), ...warningsOf(result)].some((d) => /caFile/.test(d.message)),
      result.diagnostics.map(formatDiagnostic).join('\n'),
    );
  });
});
