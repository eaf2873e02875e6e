// Rule provider (static, local, aws, state and install settings) and rule values (names and paths).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate, yaml } from './helpers/spec.js';

void describe('rule provider: static', () => {
  void test('a static host without an address is an error at the host', () => {
    expectDiagnostics(validate(base({ 11: '      - { name: a1 }' })), [
      {
        severity: 'error',
        line: 11,
        col: 9,
        message: 'host a1 has no address',
        fix: 'static hosts need address:',
        path: 'agents[0].hosts[0]',
      },
    ]);
  });

  void test('a static host with only a privateAddress has no address to connect to', () => {
    expectDiagnostic(validate(base({ 11: '      - { name: a1, privateAddress: 10.0.0.11 }' })), {
      severity: 'error',
      line: 11,
      col: 9,
      message: 'host a1 has no address',
    });
  });

  void test('an aws: section with provider static is ignored with a warning', () => {
    const result = validate(base({}, 'aws:', '  region: eu-west-1'));
    expectDiagnostics(result, [
      {
        severity: 'warning',
        line: 13,
        col: 3,
        message: 'aws: is ignored with provider: static',
        path: 'aws',
      },
    ]);
  });
});

void describe('rule provider: local', () => {
  const head = ['apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: local'];

  void test('a local cluster by count with the default subnet is valid', () => {
    const spec = expectClean(
      validate(yaml(...head, 'masters:', '  count: 1', 'agents: [{ group: g, count: 2 }]')),
    );
    assert.equal(spec.local.subnet, '198.18.0.0/24');
  });

  void test('a local host with an address is an error at the address', () => {
    const text = yaml(
      ...head,
      'masters:',
      '  hosts:',
      '    - { name: m1, address: 10.0.0.1 }',
      'agents: [{ group: g, count: 1 }]',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 7,
        col: 28,
        message: 'local hosts get their addresses from local.subnet',
        fix: 'remove address:',
        path: 'masters.hosts[0].address',
      },
    ]);
  });

  void test('a local host listed by name only is fine', () => {
    expectClean(
      validate(yaml(...head, 'masters:', '  hosts: [{ name: m1 }]', 'agents: [{ group: g, count: 1 }]')),
    );
  });

  void test('a local subnet outside 198.18.0.0/15 is an error with an example', () => {
    const text = yaml(
      ...head,
      'local:',
      '  subnet: 10.1.2.0/24',
      'masters:',
      '  count: 1',
      'agents: [{ group: g, count: 1 }]',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 6,
        col: 11,
        message: "subnet '10.1.2.0/24' is not a /24 inside 198.18.0.0/15",
        fix: 'use e.g. 198.18.7.0/24',
        path: 'local.subnet',
      },
    ]);
  });

  void test('local subnets just outside the range, or not /24, are errors', () => {
    for (const subnet of [
      '198.20.0.0/24',
      '198.17.0.0/24',
      '198.18.256.0/24',
      '198.18.0.0/16',
      '198.18.0.1/24',
    ]) {
      const text = yaml(
        ...head,
        'local:',
        `  subnet: ${subnet}`,
        'masters:',
        '  count: 1',
        'agents: [{ group: g, count: 1 }]',
      );
      expectDiagnostics(validate(text), [
        {
          severity: 'error',
          line: 6,
          col: 11,
          message: `subnet '${subnet}' is not a /24 inside 198.18.0.0/15`,
        },
      ]);
    }
  });

  void test('both /16 halves of 198.18.0.0/15 are accepted', () => {
    for (const subnet of ['198.18.0.0/24', '198.19.255.0/24']) {
      const text = yaml(
        ...head,
        'local:',
        `  subnet: ${subnet}`,
        'masters:',
        '  count: 1',
        'agents: [{ group: g, count: 1 }]',
      );
      assert.equal(expectClean(validate(text)).local.subnet, subnet);
    }
  });

  void test('an aws: section with provider local is ignored with a warning', () => {
    const text = yaml(
      ...head,
      'aws: { region: eu-west-1 }',
      'masters:',
      '  count: 1',
      'agents: [{ group: g, count: 1 }]',
    );
    expectDiagnostics(validate(text), [
      { severity: 'warning', line: 5, col: 6, message: 'aws: is ignored with provider: local' },
    ]);
  });
});

void describe('rule provider: aws', () => {
  const head = ['apiVersion: meso/v1', 'kind: Cluster', 'name: t', 'provider: aws'];
  const tail = ['masters:', '  count: 1', 'agents:', '  - { group: g, count: 1 }'];
  /** A complete aws: section on lines 5-11; `over` replaces lines of it by their number. */
  const awsSection = (over: Readonly<Record<number, string>> = {}, ...extra: string[]): string[] =>
    [
      'aws:', // 5
      '  region: eu-west-1', // 6
      '  keyName: ops', // 7
      '  ami: ami-0123', // 8
      '  instanceTypes: { default: m5.large }', // 9
      '  subnets: { masters: [subnet-1], agents: [subnet-2] }', // 10
      '  adminCidrs: [203.0.113.0/24]', // 11
    ]
      .map((line, i) => over[i + 5] ?? line)
      .concat(extra);

  void test('a complete aws section is valid', () => {
    const spec = expectClean(validate(yaml(...head, ...awsSection(), ...tail)));
    assert.equal(spec.aws['region'], 'eu-west-1');
  });

  void test('provider aws without an aws section reports each missing field at the document start', () => {
    const result = validate(yaml(...head, ...tail));
    expectDiagnostics(
      result,
      ['ami', 'instanceTypes', 'keyName', 'region', 'subnets'].map((key) => ({
        severity: 'error' as const,
        line: 1,
        col: 1,
        message: `provider aws needs aws.${key}`,
        fix: `add aws.${key}`,
      })),
    );
  });

  void test('an empty aws section reports each missing field at the section', () => {
    const result = validate(yaml(...head, 'aws: {}', ...tail));
    for (const key of ['region', 'keyName', 'ami', 'instanceTypes', 'subnets']) {
      expectDiagnostic(result, {
        severity: 'error',
        line: 5,
        col: 6,
        message: `provider aws needs aws.${key}`,
        fix: `add aws.${key}`,
        path: 'aws',
      });
    }
    assert.equal(result.diagnostics.length, 5);
  });

  void test('the fix for a missing region gives an example region', () => {
    const result = validate(yaml(...head, ...awsSection({ 6: '  # no region' }), ...tail));
    expectDiagnostics(result, [
      { severity: 'error', line: 7, col: 3, message: 'provider aws needs aws.region', fix: 'e.g. us-east-1' },
    ]);
  });

  void test('a public agent group without publicAgents subnets is an error at aws.subnets', () => {
    const text = yaml(...head, ...awsSection(), ...tail, '  - { group: edge, public: true, count: 1 }');
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 10,
        col: 12,
        message: 'no subnets for public agents',
        fix: 'add aws.subnets.publicAgents',
        path: 'aws.subnets',
      },
    ]);
  });

  void test('subnets without masters, or private agents without agents subnets, are errors', () => {
    const text = yaml(...head, ...awsSection({ 10: '  subnets: { zookeeper: [subnet-9] }' }), ...tail);
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 10,
        col: 12,
        message: 'no subnets for private agents',
        fix: 'aws.subnets.agents',
      },
      {
        severity: 'error',
        line: 10,
        col: 12,
        message: 'no subnets for the masters',
        fix: 'aws.subnets.masters',
      },
    ]);
  });

  void test('an endpoint that is not an http(s) URL is an error at the endpoint', () => {
    const text = yaml(...head, ...awsSection({}, '  endpoints: { ec2: "localhost:4566" }'), ...tail);
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 12,
        col: 21,
        message: "endpoint 'localhost:4566' is not an http(s) URL",
        path: 'aws.endpoints.ec2',
      },
    ]);
  });

  void test('http and https endpoints are accepted', () => {
    const extra = '  endpoints: { ec2: "http://localhost:4566", s3: "https://s3.example.net" }';
    expectClean(validate(yaml(...head, ...awsSection({}, extra), ...tail)));
  });

  void test('an admin CIDR without a prefix length is an error at that item', () => {
    const text = yaml(...head, ...awsSection({ 11: '  adminCidrs: [203.0.113.0/24, 0.0.0.0]' }), ...tail);
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 11,
        col: 32,
        message: "'0.0.0.0' is not an IPv4 CIDR",
        fix: 'e.g. 203.0.113.0/24',
        path: 'aws.adminCidrs[1]',
      },
    ]);
  });

  void test('an instance type is needed for every role unless there is a default', () => {
    const text = yaml(...head, ...awsSection({ 9: '  instanceTypes: { masters: m5.large }' }), ...tail);
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 9,
        col: 18,
        message: 'no instance type for g',
        fix: 'add aws.instanceTypes.g, aws.instanceTypes.agents or aws.instanceTypes.default',
      },
    ]);
  });

  void test('instanceTypes.agents covers every agent group', () => {
    const text = yaml(
      ...head,
      ...awsSection({ 9: '  instanceTypes: { masters: m5.large, agents: m5.xlarge }' }),
      ...tail,
    );
    expectClean(validate(text));
  });

  void test('an aws host with an address is an error: aws creates the machines', () => {
    const text = yaml(
      ...head,
      ...awsSection(),
      'masters:',
      '  hosts: [{ name: m1, address: 10.0.0.1 }]',
      'agents: [{ group: g, count: 1 }]',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 13,
        col: 32,
        message: 'aws hosts get their addresses when they are created',
        fix: 'use count: instead',
      },
    ]);
  });
});

void describe('rule provider: state and install', () => {
  void test('state backend s3 without a bucket is an error at state', () => {
    expectDiagnostics(validate(base({}, 'state:', '  backend: s3')), [
      {
        severity: 'error',
        line: 13,
        col: 3,
        message: 'state backend s3 needs a bucket',
        fix: 'add state.bucket',
        path: 'state',
      },
    ]);
  });

  void test('state backend s3 with a bucket is fine', () => {
    const spec = expectClean(validate(base({}, 'state:', '  backend: s3', '  bucket: my-state')));
    assert.equal(spec.state.bucket, 'my-state');
  });

  void test('a state endpoint that is not an http(s) URL is an error at the endpoint', () => {
    const text = base({}, 'state:', '  backend: s3', '  bucket: b', '  endpoint: localhost:9000');
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 15,
        col: 13,
        message: "endpoint 'localhost:9000' is not an http(s) URL",
        path: 'state.endpoint',
      },
    ]);
  });

  void test('a state endpoint that is an http(s) URL is kept', () => {
    const text = base({}, 'state:', '  backend: s3', '  bucket: b', '  endpoint: http://127.0.0.1:9000');
    assert.equal(expectClean(validate(text)).state.endpoint, 'http://127.0.0.1:9000');
  });

  void test('state.lockTimeoutSeconds is 600 unless given; it is an integer of at least 1', () => {
    assert.equal(expectClean(validate(base({}))).state.lockTimeoutSeconds, 600);
    const text = (v: string): string =>
      base({}, 'state:', '  backend: s3', '  bucket: b', `  lockTimeoutSeconds: ${v}`);
    assert.equal(expectClean(validate(text('30'))).state.lockTimeoutSeconds, 30);
    for (const [bad, message] of [
      ['0', 'number 0 must be >= 1'],
      ['1.5', 'expected integer, got number 1.5'],
      ['"10m"', "expected integer, got '10m'"],
    ] as const)
      expectDiagnostics(validate(text(bad)), [
        { severity: 'error', line: 15, col: 23, message, path: 'state.lockTimeoutSeconds' },
      ]);
  });

  void test('install.method archive without an archive is an error at install', () => {
    expectDiagnostics(validate(base({}, 'install:', '  method: archive')), [
      {
        severity: 'error',
        line: 13,
        col: 3,
        message: 'install.method archive needs the archive to upload',
        fix: 'add install.archive: path/to/mesos.tar.gz',
        path: 'install',
      },
    ]);
  });

  void test('install.method archive with an archive is fine', () => {
    const spec = expectClean(
      validate(base({}, 'install:', '  method: archive', '  archive: ./mesos.tar.gz')),
    );
    assert.equal(spec.install.options['archive'], './mesos.tar.gz');
  });
});

void describe('rule values', () => {
  void test('a masters.cluster name with ; is an error', () => {
    expectDiagnostics(
      validate(
        base({ 5: 'masters: { cluster: "a;b", hosts: [{ name: m1, address: 10.0.0.1 }] }', 6: '', 7: '' }),
      ),
      [
        {
          severity: 'error',
          line: 5,
          col: 21,
          message: "cluster name 'a;b' has unsafe characters",
          fix: "use letters, digits, spaces, '_', '.' and '-'",
          path: 'masters.cluster',
        },
      ],
    );
  });

  void test('a masters.cluster name with spaces is fine', () => {
    const text = base({
      5: 'masters: { cluster: "The Grid", hosts: [{ name: m1, address: 10.0.0.1 }] }',
      6: '',
      7: '',
    });
    assert.equal(expectClean(validate(text)).masters.cluster, 'The Grid');
  });

  void test('marathon javaOpts with a line break is an error', () => {
    expectDiagnostics(validate(base({}, 'marathon:', '  javaOpts: "-Xmx1g\\n-Dx=y"')), [
      {
        severity: 'error',
        line: 13,
        col: 13,
        message: 'javaOpts must be on one line',
        path: 'marathon.javaOpts',
      },
    ]);
  });

  void test('an install image reference with shell characters is an error at the image', () => {
    const result = validate(
      base({}, 'install:', '  method: docker', '  images: { zookeeper: "zookeeper:3.8;id" }'),
    );
    expectDiagnostic(result, {
      severity: 'error',
      line: 14,
      col: 24,
      message: "image reference 'zookeeper:3.8;id' has unsafe characters",
      path: 'install.images.zookeeper',
    });
    assert.equal(result.diagnostics.length, 1);
  });

  void test('pinned image references with a registry, tag and digest are fine', () => {
    const images = '  images: { mesosMaster: "registry.example.net:5000/mesos/master:1.11.0@sha256:abc" }';
    expectClean(validate(base({}, 'install:', '  method: docker', images)));
  });

  void test('a relative install prefix is an error', () => {
    const result = validate(
      base({}, 'install:', '  method: archive', '  archive: m.tgz', '  prefix: opt/mesos'),
    );
    expectDiagnostic(result, {
      severity: 'error',
      line: 15,
      col: 11,
      message: "prefix 'opt/mesos' must be an absolute path",
      path: 'install.prefix',
    });
    assert.equal(result.diagnostics.length, 1);
  });

  void test('an SSH user with capitals is not a valid user name', () => {
    expectDiagnostics(validate(base({}, 'ssh:', '  user: Admin')), [
      {
        severity: 'error',
        line: 13,
        col: 9,
        message: "SSH user 'Admin' is not a valid user name",
        path: 'ssh.user',
      },
    ]);
  });
});
