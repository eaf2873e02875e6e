// The packages baked into a local cluster's image: local.packages, archive runtime libraries, the key.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PACKAGES, imageKey, imagePackages } from '../src/providers/local/image.js';
import type { Spec } from '../src/spec/types.js';
import { base, expectClean, expectDiagnostics, validate, yaml } from './helpers/spec.js';

/** A valid local cluster; `lines` go after line 6 (the first of them is line 7). */
function local(...lines: string[]): string {
  return yaml(
    'apiVersion: meso/v1', // 1
    'kind: Cluster', // 2
    'name: t', // 3
    'provider: local', // 4
    'masters: { count: 1 }', // 5
    'agents: [{ group: g, count: 1 }]', // 6
    ...lines,
  );
}

const specOf = (text: string): Spec => expectClean(validate(text));
const packagesOf = (...lines: string[]): string[] => imagePackages(specOf(local(...lines)));
const defaults = [...DEFAULT_PACKAGES].sort();
const archive = ['install:', '  method: archive', '  archive: mesos.tgz'];

void describe('local image packages', () => {
  void test('without local.packages the image has the defaults, libsasl2-modules among them', () => {
    const spec = specOf(local());
    assert.deepEqual(spec.local.packages, []);
    assert.deepEqual(imagePackages(spec), defaults);
    assert.ok(imagePackages(spec).includes('libsasl2-modules'));
  });

  void test('local.packages are added to the defaults, sorted, each once', () => {
    assert.deepEqual(
      packagesOf('local:', '  packages: [vim, curl, less, vim]'),
      [...defaults, 'less', 'vim'].sort(),
    );
  });

  void test("an archive's runtime libraries are baked in, as a list or under component keys", () => {
    assert.deepEqual(
      packagesOf(
        ...archive,
        '  packages: [libsvn1, libcurl4, libsasl2-modules]',
        'local: { packages: [vim] }',
      ),
      [...defaults, 'libcurl4', 'libsvn1', 'vim'].sort(),
    );
    assert.deepEqual(
      packagesOf(...archive, '  packages: { mesos: libsvn1, extra: libevent-2.1-7 }'),
      [...defaults, 'libevent-2.1-7', 'libsvn1'].sort(),
    );
  });

  void test('method none: install.packages are what the image must have, so they are baked in', () => {
    assert.deepEqual(
      packagesOf('install:', '  method: none', '  packages: [openjdk-17-jre-headless]'),
      [...defaults, 'openjdk-17-jre-headless'].sort(),
    );
  });

  void test('apt and yum packages come from their repository at install time, not from the image', () => {
    const repo = '  repository: { url: http://r.example/debian, suite: bookworm }';
    assert.deepEqual(packagesOf('install:', '  method: apt', repo, '  packages: [mesos, libsvn1]'), defaults);
    assert.deepEqual(
      packagesOf('install:', '  method: yum', '  repository: { baseurl: http://r.example/el/9/ }'),
      defaults,
    );
    assert.deepEqual(
      packagesOf('install:', '  method: docker', 'local: { packages: [vim] }'),
      [...defaults, 'vim'].sort(),
    );
  });

  void test('an archive with a repository takes its runtime libraries from it, not from the image', () => {
    assert.deepEqual(
      packagesOf(
        ...archive,
        '  repository: { url: http://r.example/debian, suite: bookworm }',
        '  packages: [libmeso-runtime]',
      ),
      defaults,
    );
  });
});

void describe('local image key', () => {
  void test('a different package set is a different image; the same set is the same image', () => {
    const plain = imageKey(packagesOf());
    const withVim = imageKey(packagesOf('local: { packages: [vim] }'));
    const withLib = imageKey(packagesOf(...archive, '  packages: [libsvn1]'));
    assert.match(plain, /^[0-9a-f]{64}$/);
    assert.notEqual(withVim, plain);
    assert.notEqual(withLib, plain);
    assert.notEqual(withLib, withVim);
    // A default package listed again, or the same packages in another order: the same image.
    assert.equal(imageKey(packagesOf('local: { packages: [curl, zookeeper] }')), plain);
    assert.equal(
      imageKey(packagesOf(...archive, '  packages: [libsvn1]', 'local: { packages: [vim] }')),
      imageKey(packagesOf(...archive, '  packages: [vim]', 'local: { packages: [libsvn1] }')),
    );
  });

  void test('libsasl2-modules is part of the default image, so its key changed with it', () => {
    const without = DEFAULT_PACKAGES.filter((p) => p !== 'libsasl2-modules');
    assert.equal(without.length, DEFAULT_PACKAGES.length - 1);
    assert.notEqual(imageKey(DEFAULT_PACKAGES), imageKey(without));
  });
});

void describe('local.packages in cluster.yaml', () => {
  void test('a name that is not a Debian package name fails the schema at the item', () => {
    expectDiagnostics(validate(local('local:', '  packages: [vim, Vim_2, x]')), [
      {
        severity: 'error',
        line: 8,
        col: 19,
        message: "invalid value 'Vim_2'",
        fix: 'A Debian package name',
        path: 'local.packages[1]',
      },
      {
        severity: 'error',
        line: 8,
        col: 26,
        message: "invalid value 'x'",
        fix: 'at least 2 characters',
        path: 'local.packages[2]',
      },
    ]);
  });

  void test('a single name instead of a list is a type error', () => {
    expectDiagnostics(validate(local('local:', '  packages: vim')), [
      { severity: 'error', line: 8, col: 13, message: "expected a list, got 'vim'", path: 'local.packages' },
    ]);
  });

  void test('local.packages with another provider is an error that says where packages go instead', () => {
    expectDiagnostics(validate(base({}, 'local:', '  packages: [vim]')), [
      {
        severity: 'error',
        line: 13,
        col: 13,
        message: 'local.packages is for provider local: provider static hosts',
        fix: 'install.packages',
        path: 'local.packages',
      },
    ]);
  });

  void test('an empty local.packages with another provider is refused too; local.subnet alone is not', () => {
    expectDiagnostics(validate(base({}, 'local: { packages: [] }')), [
      {
        severity: 'error',
        line: 12,
        col: 20,
        message: 'local.packages is for provider local',
        path: 'local.packages',
      },
    ]);
    expectClean(validate(base({}, 'local: { subnet: 198.18.7.0/24 }')));
  });

  void test('a baked install package must be a Debian name on local hosts, at the package', () => {
    expectDiagnostics(validate(local(...archive, '  packages: [libsvn1, LibSASL]')), [
      {
        severity: 'error',
        line: 10,
        col: 23,
        message: "'LibSASL' is not a Debian package name (local hosts are Debian)",
        fix: 'lower-case',
        path: 'install.packages[1]',
      },
    ]);
    // The same name is fine for static hosts (an RPM name may have capitals).
    expectClean(validate(base({}, ...archive, '  packages: [libsvn1, LibSASL]')));
  });
});
