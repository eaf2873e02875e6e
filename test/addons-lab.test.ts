import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnMeso } from './helpers/cli.js';
import type { CliResult } from './helpers/cli.js';
import { freeSubnet, labRecordIn, labSkip, onLabHost } from './helpers/lab.js';

/**
 * The Debian presets on real local hosts, with the real packages (baked into the lab image, which
 * has no route to an archive): a 3-member etcd on the masters, HAProxy on the public agent in front
 * of backends served on w-1, dnsmasq on the masters answering *.marathon. install.method none: the
 * lab image has ZooKeeper, not Mesos, which the add-ons do not need here.
 */
const dir = mkdtempSync(join(tmpdir(), 'meso-addons-lab-'));
const file = join(dir, 'lab.yaml');
const name = `ad${process.pid % 10000}`;
const SUBNET = freeSubnet([239, 243, 253]);
const env = { ...process.env, MESO_LOCAL_DIR: join(dir, 'hosts') };
const MASTERS = ['master-1', 'master-2', 'master-3'];

const spec = (o: { heartbeat: number; servers: string; dnsmasq?: false }): string =>
  [
    'apiVersion: meso/v1',
    'kind: Cluster',
    `name: ${name}`,
    'provider: local',
    // etcd-client for etcdctl; the add-ons' own packages are baked in without being listed.
    `local: { subnet: "${SUBNET}", packages: [etcd-client] }`,
    'install: { method: none }',
    'masters: { count: 3 }',
    'agents: [{ group: pub, public: true, count: 1 }, { group: w, count: 1 }]',
    'addons:',
    `  - { preset: etcd, env: { ETCD_HEARTBEAT_INTERVAL: ${o.heartbeat}, ETCD_ELECTION_TIMEOUT: 1500 } }`,
    '  - preset: haproxy',
    '    backends:',
    '      - { name: web, port: 8000, servers: ["w-1:8001"] }',
    `      - { name: raw, port: 9001, mode: tcp, servers: [${o.servers}], check: false }`,
    ...(o.dnsmasq === false ? [] : ['  - preset: dnsmasq']),
    // One of our own: a page from a template with the cluster's values, served by python3.
    '  - name: hello',
    '    on: w',
    '    command: /usr/bin/python3 -m http.server 8090 --directory /etc/hello',
    '    config: { /etc/hello/index.html: { template: "zk={{ zk_url }} on {{ host.name }}" } }',
    '    ports: [8090]',
    '    health: { http: /, port: 8090 }',
    '',
  ].join('\n');

const meso = (args: string[]): CliResult => spawnMeso(args, { env, timeoutMs: 900_000 });
const statePath = join(dir, '.meso', `${name}.state.json`);
const address = (host: string): string => labRecordIn(statePath, host).address;
const on = async (host: string, script: string, input?: string): Promise<string> => {
  const r = await onLabHost(statePath, host, script, {
    timeoutMs: 60_000,
    ...(input === undefined ? {} : { input }),
  });
  assert.equal(r.code, 0, `${host}: ${script}\n${r.stderr}`);
  return r.stdout;
};

/** One line through a socket that stays open: what comes back for it. */
function roundTrip(sock: Socket, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no echo of ${line}`)), 10_000);
    sock.once('data', (d: Buffer) => {
      clearTimeout(t);
      resolve(d.toString('utf8'));
    });
    sock.once('error', reject);
    sock.write(`${line}\n`);
  });
}

const LINE_ECHO =
  'import socketserver\nclass H(socketserver.StreamRequestHandler):\n    def handle(self):\n        for l in self.rfile:\n            self.wfile.write(l)\nsocketserver.ThreadingTCPServer.allow_reuse_address = True\nsocketserver.ThreadingTCPServer(("0.0.0.0", 9002), H).serve_forever()\n';

void describe(
  'add-on presets on local hosts: etcd, HAProxy, dnsmasq',
  { skip: labSkip(), timeout: 30 * 60_000 },
  () => {
    void test('apply, health, reload without a dropped connection, leader last, wildcard DNS, destroy', async () => {
      try {
        writeFileSync(file, spec({ heartbeat: 100, servers: '"w-1:9002"' }));
        const up = meso(['apply', file, '--auto-approve']);
        assert.equal(up.code, 0, up.stderr);
        // A new etcd cluster starts together, after the ensemble.
        assert.match(
          up.stdout + up.stderr,
          /restart etcd on master-1, master-2, master-3 \(a new cluster starts together\)/,
        );

        // etcdctl, from a master: the three members are healthy.
        const endpoints = MASTERS.map((m) => `http://${address(m)}:2379`).join(',');
        const health = await on(
          'master-1',
          `ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint health 2>&1`,
        );
        assert.equal(health.match(/is healthy/g)?.length, 3, health);

        // status and endpoints know the add-ons.
        const st = meso(['status', file, '--json']);
        const status = JSON.parse(st.stdout) as {
          addons: Record<string, { ok: boolean; hosts: Record<string, unknown> }>;
        };
        assert.deepEqual(Object.keys(status.addons).sort(), ['dnsmasq', 'etcd', 'haproxy', 'hello']);
        for (const [n, a] of Object.entries(status.addons)) assert.ok(a.ok, `${n}: ${JSON.stringify(a)}`);
        assert.deepEqual(Object.keys(status.addons['etcd']!.hosts), MASTERS);
        const ep = JSON.parse(meso(['endpoints', file, '--json']).stdout) as {
          addons: { name: string; host: string; url: string }[];
        };
        assert.ok(
          ep.addons.some(
            (a) =>
              a.name === 'etcd' && a.host === 'master-2' && a.url === `http://${address('master-2')}:2379`,
          ),
        );

        // HAProxy on the public agent forwards to a backend served on another host (w-1).
        await on(
          'w-1',
          `mkdir -p /tmp/www && echo "hello from w-1 ${name}" > /tmp/www/index.html && systemd-run --unit=web python3 -m http.server 8001 --directory /tmp/www`,
        );
        await on('w-1', 'cat > /tmp/echo.py && systemd-run --unit=echo python3 /tmp/echo.py', LINE_ECHO);
        const pub = address('pub-1');
        const page = await on(
          'master-1',
          `for i in $(seq 30); do curl -fsS http://${pub}:8000/ && exit 0; sleep 1; done; exit 1`,
        );
        assert.equal(page.trim(), `hello from w-1 ${name}`);

        // A connection through HAProxy that stays open across the next apply.
        let sock: Socket | undefined;
        for (let i = 0; i < 30 && sock === undefined; i++) {
          const s = connect(9001, pub);
          const ok = await new Promise<boolean>((r) => {
            s.once('connect', () => r(true));
            s.once('error', () => r(false));
          });
          if (ok && (await roundTrip(s, 'probe').catch(() => '')) === 'probe\n') sock = s;
          else {
            s.destroy();
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        assert.ok(sock !== undefined, 'no echo through HAProxy');
        assert.equal(await roundTrip(sock, 'before'), 'before\n');
        const pidBefore = await on('pub-1', 'systemctl show -p MainPID --value haproxy');

        // Which member leads etcd now: the restart must come to it last.
        const leaderOf = async (): Promise<string> => {
          for (const m of MASTERS)
            if (/^etcd_server_is_leader 1$/m.test(await on(m, `curl -fsS http://${address(m)}:2379/metrics`)))
              return m;
          return '';
        };
        const leader = await leaderOf();
        assert.ok(MASTERS.includes(leader), 'no etcd leader');

        // One apply: a backend change (a reload of HAProxy) and an etcd setting (a rolling restart).
        writeFileSync(file, spec({ heartbeat: 150, servers: '"w-1:9002", "master-1:9002"' }));
        const plan = meso(['plan', file]);
        assert.match(plan.stdout, /haproxy\.service: its configuration changed: reload, no restart/);
        const change = meso(['apply', file, '--auto-approve']);
        assert.equal(change.code, 0, change.stderr);
        const out = change.stdout + change.stderr;
        const etcdSteps = [...out.matchAll(/restart etcd on (master-\d) \(([^)]*)\)/g)].map((m) => [
          m[1],
          m[2],
        ]);
        assert.equal(etcdSteps.length, 3, out);
        assert.deepEqual(etcdSteps[2], [leader, 'the leader last']);
        assert.ok(
          etcdSteps.slice(0, 2).every(([h, why]) => h !== leader && why === 'followers first'),
          out,
        );
        assert.match(out, /reload haproxy on pub-1/);

        // The open connection still works; HAProxy's master process is the same (a reload).
        assert.equal(await roundTrip(sock, 'after'), 'after\n');
        sock.destroy();
        assert.equal(await on('pub-1', 'systemctl show -p MainPID --value haproxy'), pidBefore);
        assert.match(
          await on('pub-1', 'cat /etc/haproxy/haproxy.cfg'),
          new RegExp(`${address('master-1')}:9002`),
        );
        const again = await on(
          'master-1',
          `ETCDCTL_API=3 etcdctl --endpoints=${endpoints} endpoint health 2>&1`,
        );
        assert.equal(again.match(/is healthy/g)?.length, 3, again);
        assert.match(await on('master-2', 'cat /etc/default/etcd'), /ETCD_HEARTBEAT_INTERVAL="150"/);

        // dnsmasq on every master answers anything.marathon with the public agent's address.
        for (const m of MASTERS) {
          const r = new Resolver({ timeout: 3000, tries: 2 });
          r.setServers([address(m)]);
          assert.deepEqual(await r.resolve4(`anything-${name}.marathon`), [address('pub-1')], m);
        }

        // Our own add-on: its templated page, its journal, and status when it is down.
        const zk = MASTERS.map((m) => `${address(m)}:2181`).join(',');
        assert.equal(
          await on('master-1', `curl -fsS http://${address('w-1')}:8090/`),
          `zk=zk://${zk}/mesos on w-1`,
        );
        const logs = meso(['logs', file, 'w-1', 'hello', '--lines', '20']);
        assert.equal(logs.code, 0, logs.stderr);
        assert.match(logs.stdout, /Started hello\.service/);
        await on('w-1', 'systemctl stop hello');
        const sick = JSON.parse(meso(['status', file, '--json']).stdout) as {
          healthy: boolean;
          addons: Record<string, { ok: boolean; hosts: Record<string, { ok: boolean; detail: string }> }>;
        };
        assert.equal(sick.healthy, false);
        assert.deepEqual(sick.addons['hello']?.hosts['w-1'], {
          ok: false,
          detail: 'hello.service is inactive',
        });
        assert.equal(sick.addons['etcd']?.ok, true);

        // Without dnsmasq: its files go, its unit stops and is disabled; hello is started again.
        writeFileSync(file, spec({ heartbeat: 150, servers: '"w-1:9002", "master-1:9002"', dnsmasq: false }));
        const gone = meso(['apply', file, '--auto-approve']);
        assert.equal(gone.code, 0, gone.stderr);
        for (const m of MASTERS) {
          const left = await on(
            m,
            'ls /etc/systemd/system/dnsmasq.service /etc/meso-addons/dnsmasq/dnsmasq.conf 2>/dev/null; systemctl is-active dnsmasq; systemctl is-enabled dnsmasq; true',
          );
          assert.equal(left.trim().split('\n').join(' '), 'inactive disabled', m);
        }
        const well = JSON.parse(meso(['status', file, '--json']).stdout) as {
          healthy: boolean;
          addons: Record<string, unknown>;
        };
        assert.equal(well.healthy, true);
        assert.deepEqual(Object.keys(well.addons).sort(), ['etcd', 'haproxy', 'hello']);

        // Nothing left to do.
        const settled = meso(['plan', file, '--detailed-exitcode']);
        assert.equal(settled.code, 0, settled.stdout);
      } finally {
        const down = meso(['destroy', file, '--auto-approve']);
        assert.equal(down.code, 0, down.stderr);
      }
    });
  },
);
