import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { observeCommand, observeInput, parseObservation } from '../src/observe/observe.js';
import { sha256 } from '../src/plan/plan.js';
import { loadTemplates } from '../src/templates.js';
import { tempDir } from './helpers/tmp.js';

const script = loadTemplates()['observe.sh'] ?? '';

/** Run the observe command exactly as a host's shell would receive it. */
function runObserve(input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'sh',
      ['-c', observeCommand(script)],
      { encoding: 'utf8' },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
    child.stdin?.end(input);
  });
}

void test('reports hash, owner, group and mode of files, and what is not a regular file', async () => {
  const dir = tempDir('meso-observe-');
  const plain = join(dir, 'zk');
  const odd = join(dir, 'resources', 'ports(*)');
  const flag = join(dir, '?no-switch_user');
  mkdirSync(join(dir, 'resources'));
  writeFileSync(plain, 'zk://a:2181/mesos\n');
  chmodSync(plain, 0o640);
  writeFileSync(odd, '[31000-32000]\n');
  writeFileSync(flag, '');
  symlinkSync(plain, join(dir, 'link'));
  const paths = [plain, odd, flag, join(dir, 'link'), join(dir, 'resources'), join(dir, 'missing')];
  const obs = parseObservation(await runObserve(observeInput({ paths, units: [] })));
  const owner = process.getuid?.() === 0 ? 'root' : undefined;
  const zk = obs.paths.get(plain);
  assert.equal(zk?.type, 'file');
  assert.equal(zk?.fingerprint?.sha256, sha256('zk://a:2181/mesos\n'));
  assert.equal(zk?.fingerprint?.mode, 0o640);
  if (owner !== undefined) assert.equal(zk?.fingerprint?.owner, owner);
  assert.equal(obs.paths.get(odd)?.fingerprint?.sha256, sha256('[31000-32000]\n'));
  assert.equal(obs.paths.get(flag)?.fingerprint?.sha256, sha256(''));
  assert.equal(obs.paths.get(join(dir, 'link'))?.type, 'symlink');
  assert.equal(obs.paths.get(join(dir, 'resources'))?.type, 'directory');
  assert.equal(obs.paths.get(join(dir, 'missing'))?.type, 'missing');
  assert.equal(obs.paths.size, paths.length);
  assert.equal(obs.facts.get('uid'), String(process.getuid?.()));
});

void test('asks ZooKeeper for its role on the given port, and says down when nothing answers', async () => {
  const server = createServer((socket) => {
    socket.once('data', (d) => {
      socket.end(
        d.toString() === 'srvr'
          ? 'Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0/0\nMode: follower\n'
          : '',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const up = parseObservation(await runObserve(observeInput({ paths: [], units: [], zkPort: port })));
    assert.equal(up.zkMode, 'follower');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const down = parseObservation(await runObserve(observeInput({ paths: [], units: [], zkPort: port })));
  assert.equal(down.zkMode, 'down');
});

void test('parses systemctl show blocks into unit states', () => {
  const out = [
    'S\tId=zookeeper.service',
    'S\tLoadState=loaded',
    'S\tUnitFileState=enabled',
    'S\tActiveState=active',
    'S\t',
    'S\tId=mesos-agent.service',
    'S\tLoadState=not-found',
    'S\tUnitFileState=',
    'S\tActiveState=inactive',
    'E\tdone',
  ].join('\n');
  const obs = parseObservation(out);
  assert.deepEqual(obs.units.get('zookeeper.service'), {
    loaded: true,
    enabled: 'enabled',
    active: 'active',
  });
  assert.deepEqual(obs.units.get('mesos-agent.service'), { loaded: false, enabled: '', active: 'inactive' });
});

void test('a cut-short answer is rejected, and values that could break the protocol are refused', () => {
  assert.throws(() => parseObservation('F\t/etc/mesos/zk\t-\n'), /cut short/);
  assert.throws(() => observeInput({ paths: ['/etc/x\nF\t/etc/shadow'], units: [] }), /cannot observe/);
  assert.throws(() => observeInput({ paths: ['/etc/a\tb'], units: [] }), /cannot observe/);
});

void test('the command is fixed text: no requested value appears in it', () => {
  const cmd = observeCommand(script);
  assert.ok(cmd.startsWith("bash -c '"));
  assert.ok(!cmd.includes('/etc/mesos/zk'));
});
