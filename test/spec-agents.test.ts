// Rule agentGroups: group names, attributes, resources, containerizers and isolators.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../src/spec/normalize.js';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate, yaml } from './helpers/spec.js';

void describe('rule agentGroups: groups', () => {
  void test('a group name declared twice is an error at the second group name', () => {
    const text = base({}, '  - group: g', '    hosts:', '      - { name: a2, address: 10.0.0.12 }');
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 12,
        col: 12,
        message: "agent group 'g' is declared twice",
        fix: 'give every group its own name',
        path: 'agents[1].group',
      },
    ]);
  });

  void test('a group name with a space is unsafe', () => {
    expectDiagnostics(validate(base({ 9: '  - group: my group' })), [
      {
        severity: 'error',
        line: 9,
        col: 12,
        message: "group name 'my group' has unsafe characters",
        fix: "use letters, digits, '-' and '_'",
      },
    ]);
  });

  void test('no agents at all is only a warning, so the spec is returned', () => {
    const text = yaml(
      'apiVersion: meso/v1',
      'kind: Cluster',
      'name: t',
      'provider: static',
      'masters:',
      '  hosts:',
      '    - { name: m1, address: 10.0.0.1 }',
    );
    const result = validate(text);
    expectDiagnostics(result, [
      {
        severity: 'warning',
        line: 1,
        col: 1,
        message: 'no agents: the cluster can run no tasks',
        fix: 'add an agent group',
        path: 'agents',
      },
    ]);
    assert.deepEqual(result.spec?.agents, []);
  });

  void test('agents: [] is the same warning, at the empty list', () => {
    const text = base({ 8: 'agents: []', 9: '', 10: '', 11: '' });
    expectDiagnostics(validate(text), [{ severity: 'warning', line: 8, col: 9, message: 'no agents' }]);
  });
});

void describe('rule agentGroups: attributes', () => {
  void test('an attribute name with a space is an error at the key', () => {
    expectDiagnostics(validate(base({}, '    attributes: { "rack id": r1 }')), [
      {
        severity: 'error',
        line: 12,
        col: 19,
        message: "attribute name 'rack id' has unsafe characters",
        fix: "use letters, digits, '_', '-' and '.'",
        path: 'agents[0].attributes.rack id',
      },
    ]);
  });

  void test("an attribute value with ';' is an error at the value", () => {
    expectDiagnostics(validate(base({}, '    attributes: { rack: "r1;os:linux" }')), [
      {
        severity: 'error',
        line: 12,
        col: 25,
        message: "attribute value 'r1;os:linux' contains ';', ':' or a line break",
        fix: 'Mesos separates attributes with ; and :',
      },
    ]);
  });

  void test("an attribute value with ':' is an error too", () => {
    expectDiagnostic(validate(base({}, '    attributes: { rack: "a:b" }')), {
      severity: 'error',
      line: 12,
      col: 25,
      message: "attribute value 'a:b' contains",
    });
  });

  void test('number and boolean attribute values are kept as text', () => {
    const spec = expectClean(validate(base({}, '    attributes: { rack: 3, ssd: true, zone: eu-1a }')));
    assert.deepEqual(spec.agents[0]!.attributes, { rack: '3', ssd: 'true', zone: 'eu-1a' });
  });
});

void describe('rule agentGroups: resources', () => {
  void test('a resources string is parsed into name/value entries in the order written', () => {
    const spec = expectClean(
      validate(base({}, '    resources: "mem:2048; cpus:4 ;ports(*):[31000-32000];"')),
    );
    assert.deepEqual(spec.agents[0]!.resources, [
      ['mem', '2048'],
      ['cpus', '4'],
      ['ports(*)', '[31000-32000]'],
    ]);
  });

  void test('a resources map is parsed into the same entries, values as text', () => {
    const spec = expectClean(validate(base({}, '    resources: { cpus: 4, "disk(role1)": 1000 }')));
    assert.deepEqual(spec.agents[0]!.resources, [
      ['cpus', '4'],
      ['disk(role1)', '1000'],
    ]);
  });

  void test('parseResources keeps a colon inside a value', () => {
    assert.deepEqual(parseResources('ports:[1-2];gpus : 1'), [
      ['ports', '[1-2]'],
      ['gpus', '1'],
    ]);
  });

  void test('a bad resource name is an error at resources', () => {
    expectDiagnostics(validate(base({}, '    resources: "cpus:4;mem[x]:1"')), [
      {
        severity: 'error',
        line: 12,
        col: 16,
        message: "resource name 'mem[x]' is not valid",
        fix: 'use name or name(role), e.g. cpus or ports(*)',
        path: 'agents[0].resources',
      },
    ]);
  });

  void test('a resource without a value is an error', () => {
    expectDiagnostics(validate(base({}, '    resources: "cpus;mem:1"')), [
      {
        severity: 'error',
        line: 12,
        col: 16,
        message: "resource 'cpus' needs a value",
        fix: 'e.g. cpus:4',
      },
    ]);
  });

  void test("a resource value with ';' in the map form is an error", () => {
    expectDiagnostic(validate(base({}, '    resources: { cpus: "4;mem:1" }')), {
      severity: 'error',
      line: 12,
      col: 16,
      message: "resource 'cpus' needs a value without ';' or line breaks",
    });
  });

  void test('a resource given twice is an error', () => {
    expectDiagnostics(validate(base({}, '    resources: "cpus:4;cpus:8"')), [
      { severity: 'error', line: 12, col: 16, message: "resource 'cpus' is given twice" },
    ]);
  });
});

void describe('rule agentGroups: containerizers and isolation', () => {
  void test('a containerizer listed twice is an error at the list', () => {
    expectDiagnostics(validate(base({}, '    containerizers: [mesos, docker, mesos]')), [
      {
        severity: 'error',
        line: 12,
        col: 21,
        message: 'a containerizer is listed twice',
        path: 'agents[0].containerizers',
      },
    ]);
  });

  void test('an isolator with capitals is an error at that item', () => {
    expectDiagnostics(validate(base({}, '    isolation: [cgroups/cpu, Cgroups/Mem]')), [
      {
        severity: 'error',
        line: 12,
        col: 30,
        message: "isolator 'Cgroups/Mem' is not valid",
        fix: 'e.g. cgroups/cpu, filesystem/linux, docker/runtime',
        path: 'agents[0].isolation[1]',
      },
    ]);
  });

  void test('an isolator with a comma (two isolators in one item) is an error', () => {
    expectDiagnostic(validate(base({}, '    isolation: ["cgroups/cpu,cgroups/mem"]')), {
      severity: 'error',
      line: 12,
      col: 17,
      message: "isolator 'cgroups/cpu,cgroups/mem' is not valid",
    });
  });

  void test('valid isolators and both containerizers are accepted', () => {
    const spec = expectClean(
      validate(
        base(
          {},
          '    containerizers: [docker, mesos]',
          '    isolation: [cgroups/cpu, filesystem/linux, posix]',
        ),
      ),
    );
    assert.deepEqual(spec.agents[0]!.containerizers, ['docker', 'mesos']);
    assert.deepEqual(spec.agents[0]!.isolation, ['cgroups/cpu', 'filesystem/linux', 'posix']);
  });
});
