// No secret material in the state: sensitive files are recorded without a hash, old states migrate.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { applyPlan } from '../src/apply/apply.js';
import type { HostApplied } from '../src/apply/apply.js';
import { secretReader, withSecretHashes } from '../src/apply/secrets.js';
import { recordApplied } from '../src/engine/ledger.js';
import type { Session } from '../src/engine/prepare.js';
import { deriveTopology } from '../src/model/topology.js';
import { observeCluster } from '../src/observe/cluster.js';
import { planToJson } from '../src/plan/json.js';
import { buildPlan } from '../src/plan/plan.js';
import type { FileChange } from '../src/plan/types.js';
import { renderDesiredState } from '../src/render/render.js';
import type { DesiredState } from '../src/render/types.js';
import { emptyState, LocalStateBackend } from '../src/state/local.js';
import { scrubbedBackup, scrubSecrets, UNKNOWN_WRITER } from '../src/state/secrets.js';
import type { ClusterState } from '../src/state/types.js';
import { loadTemplates } from '../src/templates.js';
import { clusterYaml, specOf } from './helpers/build.js';
import { FakeHost } from './helpers/fake-host.js';
import { tempDir } from './helpers/tmp.js';

const templates = loadTemplates();
const CRED = '/etc/mesos/credentials.json';
const AGENT_CRED = '/etc/mesos/agent-credential.json';
const ZK = '/etc/mesos/zk';
const WRITER = 'root@workstation (meso apply c.yaml)';
const hex = (text: string): string => createHash('sha256').update(text).digest('hex');

const yaml = clusterYaml({
  masters: 1,
  agents: 1,
  extra: [
    'security:',
    '  authentication:',
    '    frameworks: true',
    '    agents: true',
    '    credentials: [{ principal: fw, secret: env:FW_SECRET }, { principal: ag, secret: env:AG_SECRET }]',
    '    agent: { principal: ag, secret: env:AG_SECRET }',
  ].join('\n'),
});
const spec = specOf(yaml);
const topology = deriveTopology(spec);
const rendered = renderDesiredState(spec, topology, templates);
// Low-entropy secrets: exactly what a sha256 in the state would give away.
const ENV = { FW_SECRET: 'hunter2', AG_SECRET: 'letmein' };

interface World {
  hosts: Map<string, FakeHost>;
  state: ClusterState;
  backend: LocalStateBackend;
  path: string;
}

/** The apply path as `meso apply` runs it: write files, record them, save the state after each host. */
async function applyWith(env: NodeJS.ProcessEnv, w: World): Promise<void> {
  const desired = await withSecretHashes(rendered, secretReader(env));
  const { observed } = await observe(w, desired);
  const session = { topology, desired, state: w.state } as unknown as Session;
  await applyPlan(
    buildPlan(desired, observed, false),
    desired,
    { running: new Map(), zkMode: new Map(), masterQuorum: 1 },
    {
      connection: (h) => Promise.resolve(w.hosts.get(h)!),
      templates,
      secrets: secretReader(env),
      gate: () => Promise.resolve(),
      onHostApplied: async (a: HostApplied) => {
        recordApplied(session, a, WRITER);
        await w.backend.write(w.state);
      },
      onEvent: () => undefined,
      signal: new AbortController().signal,
      parallelism: 1,
    },
  );
}

const observe = (w: World, desired: DesiredState) =>
  observeCluster({
    desired,
    state: w.state,
    connection: (h) => Promise.resolve(w.hosts.get(h)!),
    templates,
    zkPort: 2181,
    masterQuorum: 1,
    parallelism: 2,
  });

function world(): World {
  const path = join(tempDir('meso-secrets-'), '.meso', 't.state.json');
  return {
    hosts: new Map(rendered.hosts.map((h) => [h.host.name, new FakeHost(h.host.name)])),
    state: emptyState('t'),
    backend: new LocalStateBackend(path),
    path,
  };
}

/** The sha256 of every sensitive file's real content on the hosts, and of the secrets themselves. */
function secretDigests(w: World): string[] {
  const out = Object.values(ENV).map(hex);
  for (const h of w.hosts.values())
    for (const p of [CRED, AGENT_CRED]) {
      const f = h.files.get(p);
      if (f !== undefined) out.push(hex(f.content));
    }
  return out;
}

void test('an apply that writes sensitive files leaves no hash of them in the state or its backup', async () => {
  const w = world();
  await applyWith(ENV, w);
  assert.match(w.hosts.get('m1')!.files.get(CRED)!.content, /hunter2/, 'the host has the real secret');
  const digests = secretDigests(w);
  assert.equal(digests.length, 4);
  for (const file of [w.path, `${w.path}.backup`]) {
    const text = readFileSync(file, 'utf8');
    for (const d of digests) assert.ok(!text.includes(d), `${file} holds ${d}`);
  }
  const saved = JSON.parse(readFileSync(w.path, 'utf8')) as ClusterState;
  const m1 = saved.hosts['m1']!.files;
  assert.equal(m1[ZK] !== undefined && 'sha256' in m1[ZK], true, 'plain files keep their fingerprint');
  assert.deepEqual(Object.keys(m1[CRED]!).sort(), [
    'group',
    'mode',
    'owner',
    'sensitive',
    'writtenAt',
    'writtenBy',
  ]);
  assert.equal((m1[CRED] as { writtenBy: string }).writtenBy, WRITER);
  assert.equal(m1[CRED]!.mode, 0o600);
  assert.ok('sensitive' in saved.hosts['a1']!.files[AGENT_CRED]!);
});

void test('change detection: a changed secret updates its file, the same one does not, a hand edit does', async () => {
  const w = world();
  await applyWith(ENV, w);
  const plan = async (env: NodeJS.ProcessEnv) => {
    const desired = await withSecretHashes(rendered, secretReader(env));
    return buildPlan(desired, (await observe(w, desired)).observed, false);
  };
  const files = (p: Awaited<ReturnType<typeof plan>>): string[] =>
    p.changes.flatMap((c) => (c.kind === 'file' ? [`${c.action} ${c.host}:${c.path}`] : []));

  assert.deepEqual(files(await plan(ENV)), [], 'secrets unchanged: nothing to do');

  const changed = await plan({ ...ENV, FW_SECRET: 'hunter3' });
  assert.deepEqual(files(changed), [`update m1:${CRED}`]);
  const c = changed.changes.find((x): x is FileChange => x.kind === 'file')!;
  assert.equal(c.sensitive, true);
  assert.equal(c.reason, 'content changed (sensitive)');
  const json = JSON.stringify(planToJson(changed));
  for (const d of [...secretDigests(w), hex('hunter3')])
    assert.ok(!json.includes(d), 'plan JSON holds a hash');

  const a1 = w.hosts.get('a1')!;
  const f = a1.files.get(AGENT_CRED)!;
  a1.files.set(AGENT_CRED, { ...f, content: f.content.replace('letmein', 'edited') });
  assert.deepEqual(files(await plan(ENV)), [`update a1:${AGENT_CRED}`]);
});

void test('a sensitive file that left the spec is deleted without showing its hash', async () => {
  const w = world();
  await applyWith(ENV, w);
  const digests = secretDigests(w);
  const plain = renderDesiredState(specOf(clusterYaml({ masters: 1, agents: 1 })), topology, templates);
  const p = buildPlan(plain, (await observe(w, plain)).observed, false);
  const gone = p.changes.filter((c): c is FileChange => c.kind === 'file' && c.action === 'delete');
  assert.deepEqual(
    gone.filter((c) => c.sensitive).map((c) => `${c.host}:${c.path}`),
    [`m1:${CRED}`, `a1:${AGENT_CRED}`],
  );
  assert.ok(gone.some((c) => !c.sensitive && c.path === '/etc/mesos-master/credentials'));
  const json = JSON.stringify(planToJson(p));
  for (const d of digests) assert.ok(!json.includes(d), 'plan JSON holds a hash');
});

/** A state as meso wrote it before: every file by its sha256, sensitive ones included. */
function oldState(): ClusterState {
  const s = { ...emptyState('t'), updatedAt: '2024-05-01T10:00:00.000Z' };
  const fp = (text: string, mode = 0o644) => ({ sha256: hex(text), owner: 'root', group: 'root', mode });
  s.hosts['m1'] = {
    address: '10.0.0.1',
    privateAddress: '10.0.0.1',
    files: {
      [ZK]: fp('zk://10.0.0.1:2181/mesos\n'),
      [CRED]: fp('{"credentials":[{"principal":"fw","secret":"hunter2"}]}\n', 0o600),
      // A TLS key at a path the spec chose: recognised by its mode.
      '/etc/ssl/meso/key.pem': fp('-----BEGIN KEY-----\n', 0o600),
      // Sensitive for the spec only.
      '/etc/custom/token': fp('hunter2', 0o640),
    },
    directories: [],
    services: [],
  };
  return s;
}

void test('scrubSecrets drops the hash of sensitive records only, and is the identity when there is none', () => {
  const old = oldState();
  const s = scrubSecrets(old, new Set(['/etc/custom/token']));
  const files = s.hosts['m1']!.files;
  assert.deepEqual(files[ZK], old.hosts['m1']!.files[ZK], 'plain records are unchanged');
  for (const p of [CRED, '/etc/ssl/meso/key.pem', '/etc/custom/token'])
    assert.deepEqual(Object.keys(files[p]!), [
      'sensitive',
      'owner',
      'group',
      'mode',
      'writtenAt',
      'writtenBy',
    ]);
  assert.deepEqual(files[CRED], {
    sensitive: true,
    owner: 'root',
    group: 'root',
    mode: 0o600,
    writtenAt: '2024-05-01T10:00:00.000Z',
    writtenBy: UNKNOWN_WRITER,
  });
  assert.ok('sha256' in old.hosts['m1']!.files[CRED]!, 'pure: the input is untouched');
  assert.equal(scrubSecrets(s, new Set(['/etc/custom/token'])), s);
  assert.equal(scrubbedBackup(JSON.stringify(s), s), undefined, 'a clean backup is copied as it is');
  assert.equal(scrubbedBackup('{ not json', s), undefined);
});

void test('a state from before is migrated on the next write, its backup too (local)', async () => {
  const w = world();
  const old = oldState();
  await mkdir(dirname(w.path), { recursive: true });
  // The old version kept the hashes in the state and in the backup of the one before.
  writeFileSync(w.path, JSON.stringify(old, null, 2));
  writeFileSync(`${w.path}.backup`, JSON.stringify({ ...old, serial: old.serial - 1 }, null, 2));
  const read = (await w.backend.read())!;
  // prepare scrubs with the spec's sensitive paths; the backend with what it knows alone.
  await w.backend.write({ ...scrubSecrets(read, new Set(['/etc/custom/token'])), serial: 1 });
  const secret = hex('{"credentials":[{"principal":"fw","secret":"hunter2"}]}\n');
  for (const file of [w.path, `${w.path}.backup`]) {
    const text = readFileSync(file, 'utf8');
    for (const d of [secret, hex('-----BEGIN KEY-----\n'), hex('hunter2')])
      assert.ok(!text.includes(d), `${file} still holds ${d}`);
    assert.ok(text.includes(hex('zk://10.0.0.1:2181/mesos\n')), `${file} keeps the plain fingerprint`);
  }
  const backup = JSON.parse(readFileSync(`${w.path}.backup`, 'utf8')) as ClusterState;
  assert.equal(backup.serial, 0, 'the backup is the previous state, scrubbed');
  // Even a writer that knows nothing of the spec scrubs meso's own secret paths.
  writeFileSync(w.path, JSON.stringify(old, null, 2));
  await w.backend.write(old);
  assert.ok(!readFileSync(w.path, 'utf8').includes(secret));
  assert.ok(!readFileSync(`${w.path}.backup`, 'utf8').includes(secret));
});
