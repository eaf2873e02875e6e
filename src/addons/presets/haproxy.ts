// Preset haproxy: Debian's haproxy (2.6) on the public agents, haproxy.cfg generated from the
// spec's `backends:`, reloaded (not restarted) on change. Pure.
//
// The unit mirrors the package's own: master-worker mode (-Ws, Type=notify), so `systemctl reload`
// checks the new config, then USR2 makes the master start new workers while the old ones finish
// their open connections.
import type { TopologyHost } from '../../model/topology.js';
import type { Diagnostic } from '../../spec/diagnostics.js';
import { err } from '../../spec/rule-helpers.js';
import type { Spec } from '../../spec/types.js';
import { MANAGED } from '../../render/text.js';
import type { AddonContext, AddonRender, AddonSpec, Preset, PresetDefaults } from '../types.js';
import { unitText } from '../unit.js';
import { checkPort, checkTopology, isDnsName, isIpv4, isPort, tcp } from './common.js';

export const HAPROXY_CONFIG = '/etc/haproxy/haproxy.cfg';

const MODES = ['http', 'tcp'] as const;
const BALANCES = ['roundrobin', 'leastconn', 'source'] as const;
/** HAProxy's proxy names allow more; this is what reads well in logs and the stats page. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const STATS_NAME = 'stats';

export interface HaproxyBackend {
  name: string;
  port: number;
  servers: string[];
  mode: (typeof MODES)[number];
  balance: (typeof BALANCES)[number];
  check: boolean;
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** `backends:` as written, with defaults; entries without a name or a port are left out (check() says why). */
export function haproxyBackends(options: Readonly<Record<string, unknown>>): HaproxyBackend[] {
  return list(options['backends'])
    .map(obj)
    .filter((b) => typeof b['name'] === 'string' && isPort(b['port']))
    .map((b) => ({
      name: b['name'] as string,
      port: b['port'] as number,
      servers: list(b['servers']).map(String),
      mode: MODES.includes(b['mode'] as 'tcp') ? (b['mode'] as 'http' | 'tcp') : 'http',
      balance: BALANCES.includes(b['balance'] as 'source')
        ? (b['balance'] as HaproxyBackend['balance'])
        : 'roundrobin',
      check: b['check'] !== false,
    }));
}

const statsPort = (options: Readonly<Record<string, unknown>>): number | undefined => {
  const p = obj(options['stats'])['port'];
  return isPort(p) ? p : undefined;
};

/** `host:port` split at the last colon; undefined when there is no port. */
function splitServer(s: string): { host: string; port: string } | undefined {
  const i = s.lastIndexOf(':');
  return i <= 0 ? undefined : { host: s.slice(0, i), port: s.slice(i + 1) };
}

function defaults(options: Readonly<Record<string, unknown>>): PresetDefaults {
  const backends = haproxyBackends(options);
  const stats = statsPort(options);
  const first = backends[0];
  return {
    on: { kind: 'publicAgents' },
    after: 'agents',
    install: { kind: 'package', name: 'haproxy', version: undefined },
    reload: true,
    ports: [...backends.map((b) => tcp(b.port)), ...(stats === undefined ? [] : [tcp(stats)])],
    ...(stats !== undefined
      ? { health: { kind: 'http', port: stats, path: '/' } }
      : first !== undefined
        ? { health: { kind: 'tcp', port: first.port } }
        : {}),
  };
}

function check(addon: AddonSpec, spec: Spec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const raw = addon.options['backends'];
  if (!Array.isArray(raw) || raw.length === 0) {
    out.push(
      err(
        ['backends'],
        'haproxy needs at least one backend',
        'add backends: [{ name: web, port: 80, servers: ["host:port"] }]',
      ),
    );
  }
  const hostNames = new Set(checkTopology(spec).hosts.map((h) => h.name));
  const names = new Map<string, number>();
  const ports = new Map<number, string>();
  const stats = obj(addon.options['stats']);
  if (addon.options['stats'] !== undefined) {
    out.push(...checkPort(['stats', 'port'], stats['port']));
    if (stats['port'] === undefined)
      out.push(err(['stats'], 'stats needs a port', 'add stats: { port: 9000 }'));
    if (isPort(stats['port'])) ports.set(stats['port'], 'stats');
  }
  list(raw).forEach((entry, i) => {
    const b = obj(entry);
    const at = (...rest: (string | number)[]): (string | number)[] => ['backends', i, ...rest];
    const name = b['name'];
    if (typeof name !== 'string' || !NAME.test(name)) {
      out.push(
        err(
          at('name'),
          name === undefined
            ? 'a backend needs a name'
            : `backend name ${JSON.stringify(name)} is not usable`,
          "use letters, digits, '-', '_' and '.'",
        ),
      );
    } else if (name === STATS_NAME && addon.options['stats'] !== undefined) {
      out.push(err(at('name'), `backend name "${STATS_NAME}" is the stats page's`, 'choose another name'));
    } else if (names.has(name)) {
      out.push(err(at('name'), `backend ${name} is also backends[${names.get(name)!}]`, 'give each a name'));
    } else names.set(name, i);
    if (b['port'] === undefined) out.push(err(at('port'), 'a backend needs the port HAProxy listens on'));
    else out.push(...checkPort(at('port'), b['port']));
    if (isPort(b['port'])) {
      const other = ports.get(b['port']);
      if (other !== undefined)
        out.push(err(at('port'), `port ${b['port']} is also ${other}'s`, 'give each backend its own port'));
      else ports.set(b['port'], typeof name === 'string' ? `backend ${name}` : `backends[${i}]`);
    }
    if (b['mode'] !== undefined && !MODES.includes(b['mode'] as 'tcp'))
      out.push(err(at('mode'), `mode ${JSON.stringify(b['mode'])} is not http or tcp`));
    if (b['balance'] !== undefined && !BALANCES.includes(b['balance'] as 'source'))
      out.push(
        err(at('balance'), `balance ${JSON.stringify(b['balance'])} is not one of ${BALANCES.join(', ')}`),
      );
    if (b['check'] !== undefined && typeof b['check'] !== 'boolean')
      out.push(err(at('check'), 'check is true or false'));
    const servers = b['servers'];
    if (!Array.isArray(servers) || servers.length === 0) {
      out.push(err(at('servers'), 'a backend needs at least one server', 'add servers: ["host:port"]'));
      return;
    }
    servers.forEach((s, j) => {
      const hp = typeof s === 'string' ? splitServer(s) : undefined;
      if (hp === undefined || !isPort(Number(hp.port)) || !/^\d+$/.test(hp.port)) {
        out.push(
          err(at('servers', j), `server ${JSON.stringify(s)} is not host:port`, 'write it as "w-1:8080"'),
        );
        return;
      }
      if (hostNames.has(hp.host) || isIpv4(hp.host)) return;
      // A name with a dot may be a DNS name HAProxy resolves at start; a bare word must be a host.
      if (hp.host.includes('.') && isDnsName(hp.host) && !/^[\d.]+$/.test(hp.host)) return;
      out.push(
        err(
          at('servers', j),
          `${hp.host} is neither a host of this cluster nor an address`,
          `use a host name (${[...hostNames].join(', ')}) or an IP address`,
        ),
      );
    });
  });
  return out;
}

/** A server as HAProxy reads it: a cluster host's name becomes its private address. */
function resolveServer(s: string, hosts: ReadonlyMap<string, TopologyHost>): string {
  const hp = splitServer(s);
  if (hp === undefined) return s;
  const h = hosts.get(hp.host);
  return h === undefined ? s : `${h.privateAddress}:${hp.port}`;
}

const serverName = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

export function haproxyConfig(ctx: AddonContext): string {
  const byName = new Map(ctx.topology.hosts.map((h) => [h.name, h]));
  const stats = statsPort(ctx.addon.options);
  const lines = [
    `# ${MANAGED}`,
    `# HAProxy on ${ctx.host.name}: one listen section per entry of backends: in cluster.yaml.`,
    'global',
    // /dev/log is bound into the chroot by the unit (as Debian's does); requests (info) are not logged.
    '\tlog /dev/log local0 notice',
    '\tchroot /var/lib/haproxy',
    '\tstats socket /run/haproxy/admin.sock mode 660 level admin',
    '\tstats timeout 30s',
    '\tuser haproxy',
    '\tgroup haproxy',
    '',
    'defaults',
    '\tlog global',
    '\tmode http',
    '\toption dontlognull',
    '\ttimeout connect 5s',
    '\ttimeout client 50s',
    '\ttimeout server 50s',
  ];
  if (stats !== undefined)
    lines.push(
      '',
      `listen ${STATS_NAME}`,
      `\tbind :${stats}`,
      '\tmode http',
      '\tstats enable',
      '\tstats uri /',
    );
  for (const b of haproxyBackends(ctx.addon.options)) {
    lines.push('', `listen ${b.name}`, `\tbind :${b.port}`, `\tmode ${b.mode}`, `\tbalance ${b.balance}`);
    lines.push(b.mode === 'http' ? '\toption httplog' : '\toption tcplog');
    for (const s of b.servers)
      lines.push(`\tserver ${serverName(s)} ${resolveServer(s, byName)}${b.check ? ' check' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function render(ctx: AddonContext): AddonRender {
  const check = `/usr/sbin/haproxy -c -q -f ${HAPROXY_CONFIG}`;
  return {
    files: [{ path: HAPROXY_CONFIG, content: haproxyConfig(ctx), mode: 0o644 }],
    unit: unitText({
      name: ctx.addon.name,
      cluster: ctx.topology.cluster,
      description: 'HAProxy load balancer',
      type: 'notify',
      // Not /etc/default/haproxy: the package's EXTRAOPTS would change what runs.
      execStartPre: [check],
      execStart: `/usr/sbin/haproxy -Ws -f ${HAPROXY_CONFIG} -p /run/${ctx.addon.name}.pid -S /run/${ctx.addon.name}-master.sock`,
      // A bad config fails the reload and the running workers stay; then the master re-execs.
      execReload: check,
      service: [
        'ExecReload=/bin/kill -USR2 $MAINPID',
        'KillMode=mixed',
        'SuccessExitStatus=143',
        'BindReadOnlyPaths=/dev/log:/var/lib/haproxy/dev/log',
      ],
    }),
  };
}

export const haproxy: Preset = {
  name: 'haproxy',
  packageUnit: 'haproxy.service',
  summary: "HAProxy (Debian's haproxy 2.6) on the public agents, one listener per entry of backends:",
  options: ['backends', 'stats'],
  defaults,
  check,
  render,
};
