import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateAddresses } from '../src/providers/local/addresses.js';
import { specSshTarget as sshTarget } from '../src/transport/target.js';
import { emptyState } from '../src/state/local.js';
import { clusterYaml, specOf } from './helpers/build.js';

void test('local addresses: kept from state, new hosts take the lowest free one', () => {
  const fresh = allocateAddresses(['m1', 'm2', 'a1'], '198.18.7.0/24', new Map());
  assert.deepEqual([...fresh.values()], ['198.18.7.11', '198.18.7.12', '198.18.7.13']);
  const grown = allocateAddresses(
    ['m1', 'm2', 'a1', 'a2'],
    '198.18.7.0/24',
    new Map([['a1', '198.18.7.11']]),
  );
  assert.deepEqual(Object.fromEntries(grown), {
    m1: '198.18.7.12',
    m2: '198.18.7.13',
    a1: '198.18.7.11',
    a2: '198.18.7.14',
  });
});

void test('accept-new pins the first key seen into the state, even for a host the state does not know yet', () => {
  const spec = specOf(clusterYaml({ extra: 'ssh: { hostKeyPolicy: accept-new, user: admin }' }));
  const state = emptyState('t');
  const target = sshTarget(spec, state, 'm1', '10.0.0.1', 22);
  assert.equal(target.hostKey.policy, 'accept-new');
  assert.equal(target.sudo, true, 'a non-root user gets sudo -n');
  if (target.hostKey.policy === 'accept-new') target.hostKey.onNewKey('ssh-ed25519 AAAAC3Nza');
  assert.equal(state.hosts['m1']?.hostKey, 'ssh-ed25519 AAAAC3Nza');
  const again = sshTarget(spec, state, 'm1', '10.0.0.1', 22);
  assert.equal(again.hostKey.pinned, 'ssh-ed25519 AAAAC3Nza', 'the next run checks against the pin');
});

void test('strict never pins and checks known_hosts, ~ expanded', () => {
  const spec = specOf(clusterYaml());
  const target = sshTarget(spec, emptyState('t'), 'm1', '10.0.0.1', 22);
  assert.equal(target.hostKey.policy, 'strict');
  assert.ok(!target.hostKey.knownHostsPath.startsWith('~'));
  assert.equal(target.hostKey.pinned, undefined);
});
