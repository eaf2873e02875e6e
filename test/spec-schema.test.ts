// The JSON Schema layer of validateText: each family of ajv error becomes one located diagnostic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate, yaml } from './helpers/spec.js';

void describe('schema: wrong types', () => {
  void test('a quoted number where an integer is expected names both types', () => {
    expectDiagnostics(validate(base({}, 'ssh:', '  port: "22"')), [
      {
        severity: 'error',
        line: 13,
        col: 9,
        message: "expected integer, got '22'",
        path: 'ssh.port',
        fix: null,
      },
    ]);
  });

  void test('a number where a string is expected', () => {
    expectDiagnostics(validate(base({ 3: 'name: 42' })), [
      { severity: 'error', line: 3, col: 7, message: 'expected string, got number 42', path: 'name' },
    ]);
  });

  void test('a fractional count is not an integer', () => {
    const result = validate(
      yaml('apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: local', 'masters:', '  count: 1.5'),
    );
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 6,
        col: 10,
        message: 'expected integer, got number 1.5',
        path: 'masters.count',
      },
    ]);
  });

  void test('an empty section is null, not a mapping', () => {
    const result = validate(
      yaml('apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: static', 'masters:'),
    );
    expectDiagnostics(result, [
      // A null value has no text of its own: the position is just after the key.
      { severity: 'error', line: 5, col: 9, message: 'expected a mapping, got null', path: 'masters' },
    ]);
  });

  void test('a mapping where a list is expected', () => {
    const text = yaml('apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: static', 'agents: {}');
    expectDiagnostic(validate(text), {
      severity: 'error',
      line: 5,
      col: 9,
      message: 'expected a list, got a mapping',
      path: 'agents',
    });
  });

  void test('a bare host name where a host mapping is expected', () => {
    expectDiagnostics(validate(base({ 7: '    - m1' })), [
      {
        severity: 'error',
        line: 7,
        col: 7,
        message: "expected a mapping, got 'm1'",
        path: 'masters.hosts[0]',
      },
    ]);
  });

  void test('a list as a flag value lists the allowed types', () => {
    expectDiagnostics(validate(base({}, '    flags: { work_dir: [a, b] }')), [
      {
        severity: 'error',
        line: 12,
        col: 24,
        message: 'expected string or number or boolean, got a list',
        path: 'agents[0].flags.work_dir',
      },
    ]);
  });

  void test('a string where a boolean is expected (yes is a string in YAML 1.2)', () => {
    expectDiagnostics(validate(base({}, 'marathon:', '  enabled: yes')), [
      {
        severity: 'error',
        line: 13,
        col: 12,
        message: "expected boolean, got 'yes'",
        path: 'marathon.enabled',
      },
    ]);
  });
});

void describe('schema: unknown fields', () => {
  void test('a misspelt host field points at the key and suggests the right one', () => {
    expectDiagnostics(validate(base({ 7: '    - { name: m1, adress: 10.0.0.1 }' })), [
      {
        severity: 'error',
        line: 7,
        col: 19,
        message: "unknown field 'adress'",
        fix: "did you mean 'address'?",
        path: 'masters.hosts[0].adress',
      },
    ]);
  });

  void test('an unknown field with no close match lists the fields allowed there', () => {
    const [d] = validate(base({}, 'colour: blue')).diagnostics;
    assert.ok(d?.fix !== undefined);
    expectDiagnostics(validate(base({}, 'colour: blue')), [
      { severity: 'error', line: 12, col: 1, message: "unknown field 'colour'", path: 'colour' },
    ]);
    assert.ok(d.fix.startsWith('allowed here: '), d.fix);
    for (const field of ['apiVersion', 'masters', 'agents', 'zookeeper', 'security', 'aws', 'state']) {
      assert.ok(d.fix.includes(field), `${field} in ${d.fix}`);
    }
  });

  void test('a misspelt top-level section is unknown and leaves its required field missing', () => {
    const result = validate(base({ 5: 'mastres:' }));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 1,
        col: 1,
        message: "missing required field 'masters'",
        fix: 'add masters:',
      },
      {
        severity: 'error',
        line: 5,
        col: 1,
        message: "unknown field 'mastres'",
        fix: "did you mean 'masters'?",
      },
    ]);
  });

  void test('an unknown field deep inside security is found too', () => {
    const result = validate(base({}, 'security:', '  authentication:', '    framewroks: true'));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 14,
        col: 5,
        message: "unknown field 'framewroks'",
        fix: "did you mean 'frameworks'?",
        path: 'security.authentication.framewroks',
      },
    ]);
  });
});

void describe('schema: missing required fields', () => {
  void test('a missing top-level field is reported at the document start with an add fix', () => {
    expectDiagnostics(validate(base({ 3: '# no name' })), [
      {
        severity: 'error',
        line: 1,
        col: 1,
        message: "missing required field 'name'",
        fix: 'add name:',
        path: '(document)',
      },
    ]);
  });

  void test('an agent group without group: is reported at the group item', () => {
    expectDiagnostics(validate(base({ 9: '  - public: false' })), [
      {
        severity: 'error',
        line: 9,
        col: 5,
        message: "missing required field 'group'",
        fix: 'add group:',
        path: 'agents[0]',
      },
    ]);
  });

  void test('a credential without a secret is reported at the credential', () => {
    const result = validate(
      base({}, 'security:', '  authentication:', '    credentials:', '      - { principal: p }'),
    );
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 15,
        col: 9,
        message: "missing required field 'secret'",
        fix: 'add secret:',
        path: 'security.authentication.credentials[0]',
      },
    ]);
  });
});

void describe('schema: enums and constants', () => {
  void test('provider: statik suggests static', () => {
    expectDiagnostics(validate(base({ 4: 'provider: statik' })), [
      {
        severity: 'error',
        line: 4,
        col: 11,
        message: "'statik' is not allowed",
        fix: "did you mean 'static'?",
        path: 'provider',
      },
    ]);
  });

  void test('an enum value with no close match lists the allowed values', () => {
    expectDiagnostics(validate(base({ 4: 'provider: gcp' })), [
      {
        severity: 'error',
        line: 4,
        col: 11,
        message: "'gcp' is not allowed",
        fix: 'use one of: static, local, aws',
      },
    ]);
  });

  void test('a nested enum typo (zookeeper.myid) suggests the closest value', () => {
    expectDiagnostics(validate(base({}, 'zookeeper:', '  myid: last-octect')), [
      {
        severity: 'error',
        line: 13,
        col: 9,
        message: "'last-octect' is not allowed",
        fix: "did you mean 'last-octet'?",
      },
    ]);
  });

  void test('a wrong apiVersion says which one to use', () => {
    expectDiagnostics(validate(base({ 1: 'apiVersion: meso/v2' })), [
      {
        severity: 'error',
        line: 1,
        col: 13,
        message: "'meso/v2' is not allowed",
        fix: 'use meso/v1',
        path: 'apiVersion',
      },
    ]);
  });

  void test('a wrong kind says which one to use', () => {
    expectDiagnostics(validate(base({ 2: 'kind: cluster' })), [
      {
        severity: 'error',
        line: 2,
        col: 7,
        message: "'cluster' is not allowed",
        fix: 'use Cluster',
        path: 'kind',
      },
    ]);
  });

  void test('a containerizer outside the enum is reported at the list item', () => {
    const result = validate(base({}, '    containerizers: [mesos, dokcer]'));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 12,
        col: 29,
        message: "'dokcer' is not allowed",
        fix: "did you mean 'docker'?",
        path: 'agents[0].containerizers[1]',
      },
    ]);
  });
});

void describe('schema: oneOf', () => {
  void test('zookeeper.hosts: mastrs is reported once, with a did-you-mean', () => {
    const result = validate(base({}, 'zookeeper:', '  hosts: mastrs'));
    assert.equal(result.diagnostics.length, 1);
    assert.equal(result.diagnostics[0]!.message, "invalid value 'mastrs'");
    assert.equal(`${result.diagnostics[0]!.line}:${result.diagnostics[0]!.col}`, '13:10');
    assert.match(result.diagnostics[0]!.fix ?? '', /did you mean 'masters'\?/);
  });

  void test('a quorum that is neither auto nor an integer shows the quorum rule', () => {
    expectDiagnostics(
      validate(base({ 6: '  quorum: all', 7: '  hosts: [{ name: m1, address: 10.0.0.1 }]' })),
      [
        {
          severity: 'error',
          line: 6,
          col: 11,
          message: "invalid value 'all'",
          fix: 'auto = floor(N/2)+1',
          path: 'masters.quorum',
        },
      ],
    );
  });

  void test('an agent resources list matches neither string nor map', () => {
    expectDiagnostics(validate(base({}, '    resources: [cpus]')), [
      {
        severity: 'error',
        line: 12,
        col: 16,
        message: 'invalid value a list',
        fix: 'Mesos resources',
        path: 'agents[0].resources',
      },
    ]);
  });

  void test('a oneOf with a branch that matches by shape reports the error inside that branch', () => {
    // resources as a map is the second branch: the bad value inside it is what gets reported.
    expectDiagnostics(validate(base({}, '    resources: { cpus: [4] }')), [
      {
        severity: 'error',
        line: 12,
        col: 24,
        message: 'expected string or number, got a list',
        path: 'agents[0].resources.cpus',
      },
    ]);
  });
});

void describe('schema: formats, patterns and ranges', () => {
  void test('aws.expiresAt that is not a date-time gets an RFC 3339 example', () => {
    expectDiagnostics(validate(base({}, 'aws:', '  expiresAt: tomorrow')), [
      {
        severity: 'error',
        line: 13,
        col: 14,
        message: "invalid date-time 'tomorrow'",
        fix: 'use RFC 3339, e.g. 2026-12-31T23:59:00Z',
        path: 'aws.expiresAt',
      },
    ]);
  });

  void test('a date without a time is not a date-time', () => {
    expectDiagnostic(validate(base({}, 'aws:', '  expiresAt: "2026-12-31"')), {
      severity: 'error',
      line: 13,
      col: 14,
      message: 'invalid date-time',
    });
  });

  void test('an RFC 3339 expiresAt passes the schema', () => {
    // With provider static the aws section is ignored, which the rules say as a warning.
    expectDiagnostics(validate(base({}, 'aws:', '  expiresAt: "2026-12-31T23:59:00Z"')), [
      {
        severity: 'warning',
        line: 13,
        col: 3,
        message: 'aws: is ignored with provider: static',
        path: 'aws',
      },
    ]);
  });

  void test('a cluster name with capitals and _ fails the pattern and the fix describes the name', () => {
    expectDiagnostics(validate(base({ 3: 'name: My_Cluster' })), [
      {
        severity: 'error',
        line: 3,
        col: 7,
        message: "invalid value 'My_Cluster'",
        fix: "lower-case letters, digits and '-'",
        path: 'name',
      },
    ]);
  });

  void test('a pattern without a description shows the pattern', () => {
    expectDiagnostics(validate(base({}, 'install:', '  sha256: abc')), [
      {
        severity: 'error',
        line: 13,
        col: 11,
        message: "invalid value 'abc'",
        fix: 'it must match ^[0-9a-f]{64}$',
      },
    ]);
  });

  void test('a port above 65535 is out of range', () => {
    expectDiagnostics(validate(base({ 7: '    - { name: m1, address: 10.0.0.1, sshPort: 70000 }' })), [
      {
        severity: 'error',
        line: 7,
        col: 47,
        message: 'number 70000 must be <= 65535',
        path: 'masters.hosts[0].sshPort',
      },
    ]);
  });

  void test('port 0 is out of range', () => {
    expectDiagnostics(validate(base({}, 'ssh:', '  port: 0')), [
      { severity: 'error', line: 13, col: 9, message: 'number 0 must be >= 1', path: 'ssh.port' },
    ]);
  });

  void test('a negative count is out of range', () => {
    const result = validate(
      yaml('apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: local', 'masters:', '  count: -1'),
    );
    expectDiagnostics(result, [{ severity: 'error', line: 6, col: 10, message: 'number -1 must be >= 0' }]);
  });

  void test('a zero connect timeout fails the exclusive minimum', () => {
    expectDiagnostics(validate(base({}, 'ssh:', '  connectTimeoutSeconds: 0')), [
      { severity: 'error', line: 13, col: 26, message: 'number 0 must be > 0' },
    ]);
  });

  void test('an empty containerizers list is too short', () => {
    expectDiagnostics(validate(base({}, '    containerizers: []')), [
      {
        severity: 'error',
        line: 12,
        col: 21,
        message: /a list must NOT have fewer than 1 items/,
        path: 'agents[0].containerizers',
      },
    ]);
  });

  void test('an empty absolute path is too short', () => {
    expectDiagnostics(validate(base({}, 'zookeeper:', '  dataDir: ""')), [
      { severity: 'error', line: 13, col: 12, message: /fewer than 1 characters/, path: 'zookeeper.dataDir' },
    ]);
  });
});

void describe('schema: several problems', () => {
  void test('every schema problem is reported, sorted by line', () => {
    const result = validate(
      base(
        { 3: 'name: T', 4: 'provider: statik', 7: '    - { name: m1, adress: 10.0.0.1 }' },
        'ssh:',
        '  port: "22"',
      ),
    );
    expectDiagnostics(result, [
      { severity: 'error', line: 3, col: 7, message: "invalid value 'T'" },
      { severity: 'error', line: 4, col: 11, message: "'statik' is not allowed" },
      { severity: 'error', line: 7, col: 19, message: "unknown field 'adress'" },
      { severity: 'error', line: 13, col: 9, message: 'expected integer' },
    ]);
  });

  void test('schema errors stop validation before the semantic rules', () => {
    // Two masters would be a rule error; the schema error alone is reported.
    const result = validate(
      base(
        { 6: '  hosts: [{ name: m1, address: 10.0.0.1 }, { name: m2, address: 10.0.0.2 }]', 7: '  # two' },
        'ssh:',
        '  port: x',
      ),
    );
    assert.equal(result.spec, undefined);
    assert.deepEqual(
      result.diagnostics.map((d) => d.message),
      ["expected integer, got 'x'"],
    );
  });

  void test('a schema-valid document with defaults left out is returned with the defaults applied', () => {
    const spec = expectClean(validate(base()));
    assert.equal(spec.ssh.user, 'root');
    assert.equal(spec.ssh.port, 22);
    assert.equal(spec.zookeeper.onMasters, true);
    assert.equal(spec.zookeeper.clientPort, 2181);
    assert.equal(spec.masters.quorum, 'auto');
    assert.equal(spec.masters.cluster, 't');
    assert.deepEqual(spec.agents[0]!.containerizers, ['mesos']);
    assert.equal(spec.install.method, 'apt');
    assert.equal(spec.state.backend, 'local');
  });
});
