import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { deriveTopology } from '../src/model/topology.js';
import { loadProvider, PROVIDERS, providerPlugin } from '../src/providers/registry.js';
import type { ProviderContext } from '../src/providers/types.js';
import { emptyState } from '../src/state/local.js';
import type { ClusterState } from '../src/state/types.js';
import { isMesoError } from '../src/util/errors.js';
import { ROOT } from './helpers/cli.js';
import { clusterYaml, specOf } from './helpers/build.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

void test('no code outside src/providers/<name>/ tests which provider a spec names', () => {
  const offenders: string[] = [];
  for (const file of sources(join(ROOT, 'src'))) {
    const rel = relative(join(ROOT, 'src'), file);
    if (rel.startsWith('providers/')) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (
          /provider\s*[!=]==?\s*['"]/.test(line) ||
          /['"](aws|local|static)['"]\s*[!=]==?\s*\w*\.?provider\b/.test(line)
        )
          offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
  // The check finds what it looks for.
  assert.ok(/provider\s*[!=]==?\s*['"]/.test("if (spec.provider === 'aws') {"));
});

void test('every registered provider loads and implements the port; an unknown one is a clear error', async () => {
  assert.deepEqual(
    PROVIDERS.map((p) => p.name),
    ['static', 'local', 'aws'],
  );
  for (const p of PROVIDERS) {
    const r = await p.load();
    for (const op of ['discover', 'provision', 'sshTarget'] as const)
      assert.equal(typeof r[op], 'function', `${p.name}.${op}`);
    assert.equal(await loadProvider(p.name), r, `${p.name} is loaded once`);
  }
  assert.throws(
    () => providerPlugin('bare-metal'),
    (e: unknown) =>
      isMesoError(e) &&
      /unknown provider 'bare-metal'/.test(e.message) &&
      /static, local, aws/.test(e.hint ?? ''),
  );
});

function context(yaml: string, state: ClusterState): ProviderContext {
  const spec = specOf(yaml);
  return {
    spec,
    state,
    names: deriveTopology(spec).hosts.map((h) => h.name),
    save: () => Promise.resolve(),
    say: () => undefined,
  };
}

void test('static: every host exists; addresses the state remembers are kept, removed hosts are retired', async () => {
  const state = emptyState('t');
  state.hosts['m1'] = {
    address: '10.9.9.9',
    privateAddress: '10.9.9.9',
    files: {},
    directories: [],
    services: [],
  };
  const d = await (await loadProvider('static')).discover(context(clusterYaml(), state));
  assert.deepEqual(d.missing, []);
  assert.equal(d.addresses.get('m1')?.address, '10.9.9.9');
  assert.equal(d.retireRemoved, true);
  assert.equal(d.cloud, undefined);
  const target = (await loadProvider('static')).sshTarget(
    { spec: specOf(clusterYaml()), state },
    'm1',
    '10.0.0.1',
    22,
  );
  assert.equal(target.hostKey.policy, 'strict');
});

void test('local: hosts not in the state are missing, shown as creates, with addresses from local.subnet', async () => {
  const yaml = [
    'apiVersion: meso/v1',
    'kind: Cluster',
    'name: t',
    'provider: local',
    'local: { subnet: "198.18.9.0/24" }',
    'masters: { count: 1 }',
    'agents: [{ group: w, count: 2 }]',
    '',
  ].join('\n');
  const state = emptyState('t');
  state.hosts['w-1'] = {
    address: '198.18.9.11',
    privateAddress: '198.18.9.11',
    files: {},
    directories: [],
    services: [],
    provider: {
      name: 'w-1',
      sshPrivateKey: '/k',
      hostPublicKey: 'ssh-ed25519 AAAA',
      address: '198.18.9.11',
      hostDir: tmpdir(),
    },
  };
  const local = await loadProvider('local');
  const d = await local.discover(context(yaml, state));
  assert.deepEqual(d.missing, ['master-1', 'w-2']);
  // A host destroyed by hand (its directory gone) is missing too: created again at its address.
  const gone = structuredClone(state);
  (gone.hosts['w-1']!.provider as { hostDir: string }).hostDir = join(tmpdir(), 'meso-no-such-host-dir');
  const again = await local.discover(context(yaml, gone));
  assert.deepEqual(again.missing, ['master-1', 'w-1', 'w-2']);
  assert.equal(again.addresses.get('w-1')?.address, '198.18.9.11', 'at its recorded address');
  assert.equal(d.hostCreates, true);
  assert.equal(d.addresses.get('w-1')?.address, '198.18.9.11', 'kept from the state');
  assert.equal(d.addresses.get('master-1')?.address, '198.18.9.12', 'the lowest free address');
  assert.throws(
    () => local.sshTarget({ spec: specOf(yaml), state }, 'master-1', '198.18.9.12', 22),
    /no record in the state/,
  );
  assert.equal(providerPlugin('local').installMissing, 'warn');
  assert.deepEqual(providerPlugin('local').agentFlags, [['launcher', 'posix']]);
});
