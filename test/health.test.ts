import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { loadTemplates } from '../src/templates.js';
import {
  ensembleVerdict,
  healthCommand,
  healthInput,
  masterHealth,
  parseHealth,
  unitTrouble,
} from '../src/verify/health.js';

const script = loadTemplates()['health.sh'] ?? '';

function probe(input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'sh',
      ['-c', healthCommand(script)],
      { encoding: 'utf8' },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
    );
    child.stdin?.end(input);
  });
}

void test('probes a master metrics endpoint and ZooKeeper on loopback in one run', async () => {
  const metrics = {
    'master/elected': 1,
    'registrar/log/recovered': 1,
    'registrar/state_fetch_ms': 12.5,
    'master/slaves_active': 2,
  };
  const http = createHttpServer((req, res) => {
    if (req.url === '/metrics/snapshot') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(metrics));
    } else {
      res.writeHead(307, { Location: 'http://leader:5050/master/state' });
      res.end();
    }
  });
  const zk = createServer((s) => s.once('data', () => s.end('Zookeeper version: 3.8.0\nMode: leader\n')));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => zk.listen(0, '127.0.0.1', r));
  try {
    const out = parseHealth(
      await probe(
        healthInput({
          zkPort: (zk.address() as AddressInfo).port,
          http: [
            {
              name: 'metrics',
              address: '127.0.0.1',
              port: (http.address() as AddressInfo).port,
              path: '/metrics/snapshot',
            },
            {
              name: 'state',
              address: '127.0.0.1',
              port: (http.address() as AddressInfo).port,
              path: '/master/state',
            },
            { name: 'closed', address: '127.0.0.1', port: 1, path: '/ping' },
          ],
        }),
      ),
    );
    assert.equal(out.zkMode, 'leader');
    assert.deepEqual(masterHealth(out.http.get('metrics')), {
      answered: true,
      elected: true,
      logRecovered: true,
      recovered: true,
      agentsActive: 2,
    });
    assert.equal(out.http.get('state')?.status, 307);
    assert.equal(out.http.get('state')?.location, 'http://leader:5050/master/state');
    assert.equal(out.http.get('closed')?.status, 0);
    assert.equal(masterHealth(out.http.get('closed')).answered, false);
  } finally {
    http.close();
    zk.close();
  }
});

void test('a standby master is answering but not elected; before recovery agents are not counted', () => {
  const standby = masterHealth({ status: 200, body: JSON.stringify({ 'master/elected': 0 }) });
  assert.deepEqual(standby, {
    answered: true,
    elected: false,
    logRecovered: false,
    recovered: false,
    agentsActive: 0,
  });
});

void test('the ensemble verdict wants exactly one leader and the rest following', () => {
  assert.equal(
    ensembleVerdict(
      new Map([
        ['a', 'leader'],
        ['b', 'follower'],
        ['c', 'follower'],
      ]),
    ).ok,
    true,
  );
  const twoLeaders = ensembleVerdict(
    new Map([
      ['a', 'leader'],
      ['b', 'leader'],
      ['c', 'follower'],
    ]),
  );
  assert.equal(twoLeaders.ok, false);
  const down = ensembleVerdict(
    new Map([
      ['a', 'leader'],
      ['b', 'follower'],
      ['c', 'down'],
    ]),
  );
  assert.equal(down.ok, false);
  assert.match(down.summary, /down: c/);
  assert.equal(ensembleVerdict(new Map([['solo', 'standalone']])).ok, true);
});

void test('unit states and journals: a crash-looping or failed unit is trouble, a running one is not', () => {
  const journal = Buffer.from('Starting...\nFailed to load flag: bogus\n').toString('base64');
  const out = parseHealth(
    [
      'U\tmesos-master.service\tactivating\tauto-restart\t0\texit-code',
      'U\tmesos-agent.service\tactive\trunning\t3\tsuccess',
      'U\tzookeeper.service\tactive\trunning\t0\tsuccess',
      'U\tmarathon.service\tfailed\tfailed\t5\texit-code',
      `J\tmesos-master.service\t${journal}`,
      'E\tdone',
      '',
    ].join('\n'),
  );
  assert.match(unitTrouble(out.units.get('mesos-master.service')) ?? '', /keeps exiting.*exit-code/);
  assert.match(unitTrouble(out.units.get('mesos-agent.service')) ?? '', /restarted it 3 times/);
  // Restarts from before the step (a unit crash-looping until meso installed its program) do not count.
  assert.equal(unitTrouble(out.units.get('mesos-agent.service'), 3), undefined);
  assert.match(unitTrouble(out.units.get('mesos-agent.service'), 2) ?? '', /restarted it 1 time since/);
  assert.equal(unitTrouble(out.units.get('zookeeper.service')), undefined);
  assert.equal(unitTrouble(out.units.get('marathon.service')), 'failed (exit-code)');
  assert.equal(unitTrouble(undefined), undefined, 'a unit systemd could not tell about is not judged');
  assert.equal(out.journal.get('mesos-master.service'), 'Starting...\nFailed to load flag: bogus');
  assert.equal(
    healthInput({
      http: [],
      units: ['mesos-master.service'],
      journal: [{ unit: 'mesos-master.service', lines: 5 }],
    }),
    'U\tmesos-master.service\nJ\tmesos-master.service\t5\n',
  );
});
