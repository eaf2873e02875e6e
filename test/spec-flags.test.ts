// Rule flags: Mesos master and agent flags against the catalog, reserved flags, and Marathon flags.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RESERVED_FLAGS } from '../src/spec/flags.js';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate } from './helpers/spec.js';

/** BASE with `  flags: <flow>` on line 6 (`{` at column 10, first key at 12) and the master on line 7. */
const masterFlags = (flow: string): string =>
  base({ 6: `  flags: ${flow}`, 7: '  hosts: [{ name: m1, address: 10.0.0.1 }]' });

/** BASE with `    flags: <flow>` on line 12 in agent group g (`{` at column 12, first key at 14). */
const agentFlags = (flow: string): string => base({}, `    flags: ${flow}`);

/** BASE with Marathon enabled and `  flags: <flow>` on line 14 (`{` at column 10, first key at 12). */
const marathonFlags = (flow: string): string => base({}, 'marathon:', '  enabled: true', `  flags: ${flow}`);

void describe('rule flags: unknown Mesos flags', () => {
  void test('a misspelt master flag points at the key and suggests the real one', () => {
    const d = expectDiagnostic(validate(masterFlags('{ work_dri: /var/lib/mesos }')), {
      severity: 'error',
      line: 6,
      col: 12,
      message: "unknown mesos-master flag 'work_dri'",
      fix: "did you mean 'work_dir'?",
      path: 'masters.flags.work_dri',
    });
    assert.equal(d.atKey, true);
  });

  void test('an agent-only flag on the masters says it is a mesos-agent flag', () => {
    expectDiagnostics(validate(masterFlags('{ switch_user: false }')), [
      {
        severity: 'error',
        line: 6,
        col: 12,
        message: "unknown mesos-master flag 'switch_user'",
        fix: "'switch_user' is a mesos-agent flag",
      },
    ]);
  });

  void test('a master-only flag on an agent group says it is a mesos-master flag', () => {
    expectDiagnostics(validate(agentFlags('{ registry: in_memory }')), [
      {
        severity: 'error',
        line: 12,
        col: 14,
        message: "unknown mesos-agent flag 'registry'",
        fix: "'registry' is a mesos-master flag",
        path: 'agents[0].flags.registry',
      },
    ]);
  });

  void test('a misspelt agent flag suggests the agent flag', () => {
    expectDiagnostic(validate(agentFlags('{ executor_registraton_timeout: 5mins }')), {
      severity: 'error',
      line: 12,
      col: 14,
      message: "unknown mesos-agent flag 'executor_registraton_timeout'",
      fix: "did you mean 'executor_registration_timeout'?",
    });
  });

  void test('a flag unknown to both roles points to --help', () => {
    expectDiagnostics(validate(masterFlags('{ frobnicate: 1 }')), [
      {
        severity: 'error',
        line: 6,
        col: 12,
        message: "unknown mesos-master flag 'frobnicate'",
        fix: 'see mesos-master --help',
      },
    ]);
  });

  void test('flags shared by master and agent are accepted on both', () => {
    expectClean(validate(masterFlags('{ log_dir: /var/log/mesos, quiet: true, logging_level: INFO }')));
    expectClean(validate(agentFlags('{ log_dir: /var/log/mesos, quiet: true, logging_level: INFO }')));
  });
});

void describe('rule flags: flags meso manages', () => {
  void test('quorum under masters.flags is managed by meso and points to masters.quorum', () => {
    const d = expectDiagnostic(validate(masterFlags('{ quorum: 2 }')), {
      severity: 'error',
      line: 6,
      col: 12,
      message: "flag 'quorum' is managed by meso",
      fix: 'use masters.quorum',
      path: 'masters.flags.quorum',
    });
    assert.equal(d.atKey, true);
  });

  void test('zk under masters.flags is derived from the ensemble', () => {
    expectDiagnostics(validate(masterFlags('{ zk: "zk://10.0.0.1:2181/mesos" }')), [
      {
        severity: 'error',
        line: 6,
        col: 12,
        message: "flag 'zk' is managed by meso",
        fix: 'meso derives it from the zookeeper ensemble',
      },
    ]);
  });

  void test('master under agent flags is managed by meso', () => {
    expectDiagnostics(validate(agentFlags('{ master: "zk://10.0.0.1:2181/mesos" }')), [
      {
        severity: 'error',
        line: 12,
        col: 14,
        message: "flag 'master' is managed by meso",
        fix: 'meso derives it from the zookeeper ensemble',
        path: 'agents[0].flags.master',
      },
    ]);
  });

  void test('resources under agent flags points to resources: on the group', () => {
    expectDiagnostics(validate(agentFlags('{ resources: "cpus:4" }')), [
      {
        severity: 'error',
        line: 12,
        col: 14,
        message: "flag 'resources' is managed by meso",
        fix: 'use resources: on the agent group',
      },
    ]);
  });

  void test('every reserved master flag is refused with its own fix', () => {
    for (const [name, fix] of Object.entries(RESERVED_FLAGS.master)) {
      expectDiagnostics(validate(masterFlags(`{ ${name}: x }`)), [
        { severity: 'error', line: 6, col: 12, message: `flag '${name}' is managed by meso`, fix },
      ]);
    }
    assert.ok(Object.keys(RESERVED_FLAGS.master).length >= 9);
  });

  void test('every reserved agent flag is refused with its own fix', () => {
    for (const [name, fix] of Object.entries(RESERVED_FLAGS.agent)) {
      expectDiagnostics(validate(agentFlags(`{ ${name}: x }`)), [
        { severity: 'error', line: 12, col: 14, message: `flag '${name}' is managed by meso`, fix },
      ]);
    }
    assert.ok(Object.keys(RESERVED_FLAGS.agent).length >= 8);
  });
});

void describe('rule flags: values', () => {
  void test('a boolean flag given the string "true" is an error at the value', () => {
    const d = expectDiagnostic(validate(agentFlags('{ switch_user: "true" }')), {
      severity: 'error',
      line: 12,
      col: 27,
      message: `flag 'switch_user' is a boolean, got "true"`,
      fix: 'write switch_user: true or switch_user: false',
    });
    assert.notEqual(d.atKey, true);
  });

  void test('a boolean flag given yes (a string in YAML 1.2) is an error', () => {
    expectDiagnostics(validate(agentFlags('{ docker_kill_orphans: yes }')), [
      {
        severity: 'error',
        line: 12,
        col: 35,
        message: `flag 'docker_kill_orphans' is a boolean, got "yes"`,
        fix: 'write docker_kill_orphans: true or docker_kill_orphans: false',
      },
    ]);
  });

  void test('a boolean flag given 1 is an error', () => {
    expectDiagnostic(validate(masterFlags('{ quiet: 1 }')), {
      severity: 'error',
      line: 6,
      col: 19,
      message: "flag 'quiet' is a boolean, got 1",
    });
  });

  void test('a boolean flag given true or false is fine', () => {
    const spec = expectClean(validate(agentFlags('{ switch_user: false, docker_kill_orphans: true }')));
    assert.deepEqual(spec.agents[0]!.flags, { switch_user: false, docker_kill_orphans: true });
  });

  void test('a value flag given a boolean is an error that gives the Mesos default', () => {
    expectDiagnostics(validate(masterFlags('{ logging_level: false }')), [
      {
        severity: 'error',
        line: 6,
        col: 27,
        message: "flag 'logging_level' takes a value, not false",
        fix: 'its default is INFO',
      },
    ]);
  });

  void test('a value flag with no default given a boolean asks for a value', () => {
    expectDiagnostic(validate(masterFlags('{ work_dir: true }')), {
      severity: 'error',
      line: 6,
      col: 22,
      message: "flag 'work_dir' takes a value, not true",
      fix: 'give it a value',
    });
  });

  void test('an empty string flag is an error that says to remove it', () => {
    expectDiagnostics(validate(masterFlags('{ logging_level: "" }')), [
      {
        severity: 'error',
        line: 6,
        col: 27,
        message: "flag 'logging_level' is empty",
        fix: 'remove it to use the Mesos default',
      },
    ]);
  });

  void test('a flag value with a line break is an error', () => {
    expectDiagnostics(validate(masterFlags('{ logging_level: "INFO\\n--zk=x" }')), [
      { severity: 'error', line: 6, col: 27, message: "flag 'logging_level' must be on one line" },
    ]);
  });

  void test('a relative work_dir is an error', () => {
    expectDiagnostics(validate(agentFlags('{ work_dir: var/lib/mesos }')), [
      {
        severity: 'error',
        line: 12,
        col: 24,
        message: "work_dir 'var/lib/mesos' must be an absolute path of safe characters",
      },
    ]);
  });

  void test('a log_dir with a space is an error', () => {
    expectDiagnostic(validate(masterFlags('{ log_dir: "/var/log/my logs" }')), {
      severity: 'error',
      line: 6,
      col: 21,
      message: "log_dir '/var/log/my logs' must be an absolute path",
    });
  });

  void test('numbers are accepted for value flags', () => {
    const spec = expectClean(validate(masterFlags('{ max_completed_frameworks: 50, port: 5050 }')));
    assert.deepEqual(spec.masters.flags, { max_completed_frameworks: 50, port: 5050 });
  });

  void test('cgroups_enable_cfs is a boolean agent flag (--[no-]cgroups_enable_cfs)', () => {
    expectClean(validate(agentFlags('{ cgroups_enable_cfs: true }')));
  });
});

void describe('rule flags: Marathon flags', () => {
  void test('zk is managed by meso', () => {
    const d = expectDiagnostic(validate(marathonFlags('{ zk: "zk://10.0.0.1:2181/marathon" }')), {
      severity: 'error',
      line: 14,
      col: 12,
      message: "Marathon flag 'zk' is managed by meso",
      fix: 'meso derives it from the cluster',
      path: 'marathon.flags.zk',
    });
    assert.equal(d.atKey, true);
  });

  void test('master and hostname are managed by meso too', () => {
    for (const name of ['master', 'hostname']) {
      expectDiagnostics(validate(marathonFlags(`{ ${name}: x }`)), [
        { severity: 'error', line: 14, col: 12, message: `Marathon flag '${name}' is managed by meso` },
      ]);
    }
  });

  void test('a *_secret flag is refused without echoing its value', () => {
    const result = validate(marathonFlags('{ mesos_authentication_secret: hunter2 }'));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 14,
        col: 12,
        message: "Marathon flag 'mesos_authentication_secret' would put a secret on the command line",
        fix: 'use security.authentication.marathon',
      },
    ]);
    assert.ok(!JSON.stringify(result.diagnostics).includes('hunter2'));
  });

  void test('a *password* flag is refused', () => {
    expectDiagnostic(validate(marathonFlags('{ ssl_keystore_password: x }')), {
      severity: 'error',
      line: 14,
      col: 12,
      message: 'would put a secret on the command line',
    });
  });

  void test('a *_secret_file flag (a path, not a secret) is accepted', () => {
    const spec = expectClean(
      validate(marathonFlags('{ mesos_authentication_secret_file: /etc/marathon/secret }')),
    );
    assert.equal(spec.marathon.flags['mesos_authentication_secret_file'], '/etc/marathon/secret');
  });

  void test('a flag name with capitals or - is unsafe', () => {
    expectDiagnostics(validate(marathonFlags('{ Event-Subscriber: http_callback }')), [
      {
        severity: 'error',
        line: 14,
        col: 12,
        message: "Marathon flag name 'Event-Subscriber' has unsafe characters",
        fix: 'use lower-case letters, digits and _',
      },
    ]);
  });

  void test('a Marathon flag value with a line break is an error at the value', () => {
    expectDiagnostics(validate(marathonFlags('{ event_subscriber: "http_callback\\nx" }')), [
      { severity: 'error', line: 14, col: 30, message: "flag 'event_subscriber' must be on one line" },
    ]);
  });

  void test('other Marathon flags are passed through as written', () => {
    const spec = expectClean(
      validate(marathonFlags('{ event_subscriber: http_callback, task_launch_timeout: 300000 }')),
    );
    assert.deepEqual(spec.marathon.flags, { event_subscriber: 'http_callback', task_launch_timeout: 300000 });
  });
});
