import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnMeso } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { freeSubnet, labRecordIn, labSkip, onLabHost } from './helpers/lab.js';

/**
 * `meso endpoints` and the block that ends `meso apply`, on real local hosts: 3 masters with the
 * ZooKeeper ensemble and 1 agent, install.method none (the lab image has ZooKeeper, not Mesos), so
 * no master leads and no agent registers. The leader against a real Mesos is checked by
 * test/mesos-real.test.ts.
 */
const dir = mkdtempSync(join(tmpdir(), 'meso-cli-endpoints-'));
const file = join(dir, 'lab.yaml');
const name = `ep${process.pid % 10000}`;
const SUBNET = freeSubnet([232, 233]);
const env = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts') };
const MASTERS = ['master-1', 'master-2', 'master-3'];
writeFileSync(
  file,
  [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    `local: { subnet: "${SUBNET}" }`,
    'install: { method: none }',
    // A cut link costs this long, not the default 10 s.
    'ssh: { connectTimeoutSeconds: 3 }',
    'masters: { count: 3 }',
    'agents: [{ group: w, count: 1 }]',
    '',
  ].join('\n'),
);

function meso(args: string[], extraEnv: Record<string, string> = {}): CliResult & { ms: number } {
  const t0 = Date.now();
  const r = spawnMeso(args, { env: { ...env, ...extraEnv }, timeoutMs: 600_000 });
  return { ...r, ms: Date.now() - t0 };
}

const statePath = join(dir, '.meso', `${name}.state.json`);
const address = (host: string): string => labRecordIn(statePath, host).address;
const veth = (host: string): string => (labRecordIn(statePath, host) as unknown as { veth: string }).veth;

interface Endpoints {
  masters: {
    host: string;
    address: string;
    url: string;
    leader: boolean;
    reachable: boolean;
    reason: string | null;
  }[];
  leader: string | null;
  zookeeper: string;
  marathon: string[];
  balancers: unknown[];
  agents: { host: string; address: string; url: string; registered: boolean }[];
}

/** `MESO_TIMINGS {...}` on stderr: how long the block took after the summary, in ms. */
function blockMs(stderr: string): number {
  const m = /MESO_TIMINGS (\{.*\})/.exec(stderr);
  assert.ok(m, stderr);
  const t = JSON.parse(m[1]!) as Record<string, number>;
  assert.ok(t['summary'] !== undefined && t['endpoints'] !== undefined, m[1]);
  return t['endpoints'] - t['summary'];
}

/** The text block as meso prints it for this cluster (reason: why the masters do not answer). */
function block(reason: string): string {
  const urls = MASTERS.map((m) => `http://${address(m)}:5050`);
  const width = Math.max(...urls.map((u) => u.length));
  return [
    'Endpoints:',
    '',
    ...MASTERS.map(
      (m, i) =>
        `${i === 0 ? 'masters   =' : '           '} ${m}  ${urls[i]!.padEnd(width)}  not reachable (${reason})`,
    ),
    'leader    = (none)',
    `zookeeper = zk://${MASTERS.map((m) => `${address(m)}:2181`).join(',')}/mesos`,
    'marathon  = (not enabled)',
    `agents    = w-1  ${address('w-1')}  not registered`,
    '',
  ].join('\n');
}

void describe('meso endpoints on local hosts', { skip: labSkip(), timeout: 15 * 60_000 }, () => {
  void test('apply ends with the block; endpoints --json and text; a master cut off is shown, not a crash', async () => {
    const figures: string[] = [];
    try {
      const none = meso(['endpoints', file]);
      assert.equal(none.code, 1, 'no state yet');
      assert.match(none.stderr, /error: cluster ep\d+ has no state yet .*\nhint: run meso apply .* first/);

      const first = meso(['apply', file, '--auto-approve'], { MESO_TIMINGS: '1' });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /\] applied: /);
      // The last thing on stdout, after the plan: what verify knew (Mesos is not on the lab image).
      assert.ok(
        first.stdout.endsWith(`\n\n${block('mesos-master is not installed')}`),
        `apply's output ends with the block:\n${first.stdout.slice(-1200)}`,
      );
      figures.push(`block after a bring-up apply: ${blockMs(first.stderr)} ms`);

      const json = meso(['endpoints', file, '--json']);
      assert.equal(json.code, 0, json.stderr);
      figures.push(`meso endpoints --json: ${json.ms} ms`);
      const e = JSON.parse(json.stdout) as Endpoints;
      assert.deepEqual(Object.keys(e), ['masters', 'leader', 'zookeeper', 'marathon', 'balancers', 'agents']);
      assert.deepEqual(
        e.masters.map((m) => [m.host, m.address, m.url, m.leader, m.reachable, m.reason]),
        MASTERS.map((m) => [
          m,
          address(m),
          `http://${address(m)}:5050`,
          false,
          false,
          'no answer on port 5050',
        ]),
      );
      assert.equal(e.leader, null, 'Mesos is not installed: no master leads');
      const zk = await onLabHost(statePath, 'master-1', 'cat /etc/mesos/zk');
      assert.equal(zk.code, 0, zk.stderr);
      assert.equal(e.zookeeper, zk.stdout.trim(), 'the very string meso wrote to /etc/mesos/zk');
      assert.deepEqual(e.marathon, []);
      assert.deepEqual(e.balancers, []);
      assert.deepEqual(e.agents, [
        { host: 'w-1', address: address('w-1'), url: `http://${address('w-1')}:5051`, registered: false },
      ]);

      const text = meso(['endpoints', file]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stdout, block('no answer on port 5050'));

      // A no-op apply with --json: the block is one `endpoints` event, right after the summary.
      const noop = meso(['apply', file, '--auto-approve', '--json'], { MESO_TIMINGS: '1' });
      assert.equal(noop.code, 0, noop.stderr);
      const events = noop.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { time: string; type: string; message: string } & Partial<Endpoints>);
      assert.deepEqual(
        events.slice(-2).map((x) => x.type),
        ['done', 'endpoints'],
      );
      const ev = events.at(-1)!;
      assert.match(ev.message, /^endpoints: leader \(none\); zookeeper zk:\/\//);
      // Besides time, type and message, the event is the object `meso endpoints --json` prints.
      const { time, type, message, ...fields } = ev;
      assert.ok(time !== '' && type === 'endpoints' && message !== '');
      assert.deepEqual(Object.keys(fields), Object.keys(e));
      assert.deepEqual(
        ev.masters!.map((m) => m.url),
        e.masters.map((m) => m.url),
      );
      assert.equal(ev.zookeeper, e.zookeeper);
      figures.push(`block after a no-op apply: ${blockMs(noop.stderr)} ms`);

      // master-3 and the agent cut off the network: still exit 0, master-3 shown as not reachable.
      for (const h of ['master-3', 'w-1']) {
        const r = spawnSync('ip', ['link', 'set', veth(h), 'down'], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      }
      try {
        const cut = meso(['endpoints', file, '--json']);
        assert.equal(cut.code, 0, cut.stderr);
        figures.push(`meso endpoints with a master cut off: ${cut.ms} ms`);
        const c = JSON.parse(cut.stdout) as Endpoints;
        const m3 = c.masters.find((m) => m.host === 'master-3')!;
        assert.equal(m3.reachable, false);
        assert.equal(m3.url, `http://${address('master-3')}:5050`);
        assert.match(m3.reason ?? '', /^no SSH connection: /);
        assert.deepEqual(
          c.masters.filter((m) => m.host !== 'master-3').map((m) => m.reason),
          ['no answer on port 5050', 'no answer on port 5050'],
        );
        assert.equal(c.agents[0]!.registered, false);
        assert.match(
          meso(['endpoints', file]).stdout,
          /master-3 +http:\S+ +not reachable \(no SSH connection: /,
        );
      } finally {
        for (const h of ['master-3', 'w-1']) spawnSync('ip', ['link', 'set', veth(h), 'up']);
      }
    } finally {
      const destroyed = meso(['destroy', file, '--auto-approve']);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      for (const f of figures) process.stdout.write(`# cli-endpoints: ${f}\n`);
    }
    const st = JSON.parse(readFileSync(statePath, 'utf8')) as { hosts: Record<string, unknown> };
    assert.deepEqual(st.hosts, {});
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.equal(netns.includes(name), false, netns);
    assert.equal(readFileSync('/proc/mounts', 'utf8').includes(dir), false);
  });
});
