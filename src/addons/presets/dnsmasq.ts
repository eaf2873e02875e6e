// Preset dnsmasq: Debian's dnsmasq answering a wildcard domain (`marathon`: the domain and every
// name under it) with the public agents' addresses. Pure.
//
// The package enables dnsmasq.service, which reads /etc/dnsmasq.conf, /etc/default/dnsmasq and
// /etc/dnsmasq.d, listens on every interface and may point resolvconf at itself. Our unit replaces
// it and runs dnsmasq on our one file only (--conf-file), in the foreground (-k), as user dnsmasq.
import type { Diagnostic } from '../../spec/diagnostics.js';
import { err } from '../../spec/rule-helpers.js';
import type { Spec } from '../../spec/types.js';
import { MANAGED } from '../../render/text.js';
import type { AddonContext, AddonRender, AddonSpec, Preset, PresetDefaults } from '../types.js';
import { unitText } from '../unit.js';
import { checkPort, checkTopology, isDnsName, isIpv4, isIpv6, portOption, tcp, udp } from './common.js';
import { publicAgents } from '../values.js';

export const DNSMASQ_DOMAIN = 'marathon';
export const DNSMASQ_PORT = 53;

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;

const domainOf = (options: Readonly<Record<string, unknown>>): string =>
  typeof options['domain'] === 'string' ? options['domain'].replace(/\.$/, '') : DNSMASQ_DOMAIN;

/**
 * The config file of one dnsmasq add-on; only our unit reads it (--conf-file). Not in /etc/dnsmasq.d,
 * which the package's own dnsmasq.service reads when it runs (an add-on with another name).
 */
export const dnsmasqConfigPath = (name: string): string => `/etc/meso-addons/${name}/dnsmasq.conf`;

function defaults(options: Readonly<Record<string, unknown>>): PresetDefaults {
  const port = portOption(options, 'port', DNSMASQ_PORT);
  return {
    on: { kind: 'masters' },
    after: 'agents',
    install: { kind: 'package', name: 'dnsmasq', version: undefined },
    ports: [udp(port), tcp(port)],
    health: { kind: 'tcp', port },
  };
}

/** An upstream resolver as dnsmasq's server= takes it: an address, optionally `#port`. */
function isUpstream(s: string): boolean {
  const [addr, port, ...rest] = s.split('#');
  return (
    rest.length === 0 &&
    addr !== undefined &&
    (isIpv4(addr) || isIpv6(addr)) &&
    (port === undefined || (/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535))
  );
}

function check(addon: AddonSpec, spec: Spec): Diagnostic[] {
  const o = addon.options;
  const out = checkPort(['port'], o['port']);
  if (o['domain'] !== undefined && (typeof o['domain'] !== 'string' || !isDnsName(domainOf(o))))
    out.push(
      err(
        ['domain'],
        `${JSON.stringify(o['domain'])} is not a DNS name`,
        'write a domain such as marathon or apps.example.com',
      ),
    );
  for (const key of ['servers', 'addresses'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    const list = strings(v);
    if (list === undefined) {
      out.push(err([key], `${key} is a list of addresses`));
      continue;
    }
    list.forEach((s, i) => {
      const ok = key === 'servers' ? isUpstream(s) : isIpv4(s) || isIpv6(s);
      if (!ok)
        out.push(
          err(
            [key, i],
            `${JSON.stringify(s)} is not an IP address`,
            key === 'servers' ? 'write an address, optionally with #port: 10.0.0.2#5353' : undefined,
          ),
        );
    });
  }
  if (o['addresses'] === undefined) {
    if (publicAgents(spec, checkTopology(spec)).length === 0)
      out.push(
        err(
          [],
          `dnsmasq answers ${domainOf(o)} with the public agents' addresses, and this cluster has no public agent`,
          'add an agent group with public: true, or list addresses: [...]',
        ),
      );
  } else if (strings(o['addresses'])?.length === 0)
    out.push(
      err(
        ['addresses'],
        'addresses is empty',
        "list at least one address, or leave it out for the public agents'",
      ),
    );
  return out;
}

export function dnsmasqConfig(ctx: AddonContext): string {
  const o = ctx.addon.options;
  const domain = domainOf(o);
  const port = portOption(o, 'port', DNSMASQ_PORT);
  const addresses =
    strings(o['addresses']) ?? publicAgents(ctx.spec, ctx.topology).map((h) => h.privateAddress);
  const servers = strings(o['servers']) ?? [];
  const lines = [
    `# ${MANAGED}`,
    `# dnsmasq on ${ctx.host.name}: ${domain} and every name under it answer with ${addresses.join(', ')}.`,
    `port=${port}`,
    // Only this host's address and loopback, bound as interfaces come and go (docker's bridges);
    // 127.0.0.53 (systemd-resolved's stub) stays free.
    'bind-dynamic',
    `listen-address=${ctx.host.privateAddress}`,
    'listen-address=127.0.0.1',
    'user=dnsmasq',
    // Answers come from this file only: not /etc/hosts, not /etc/resolv.conf (which may be us).
    'no-hosts',
    'no-resolv',
    'domain-needed',
    'bogus-priv',
    ...servers.map((s) => `server=${s}`),
    // Never forwarded: a name in it without an address of the asked type (AAAA) is NODATA, not REFUSED.
    `local=/${domain}/`,
    ...addresses.map((a) => `address=/${domain}/${a}`),
  ];
  return `${lines.join('\n')}\n`;
}

function render(ctx: AddonContext): AddonRender {
  const conf = dnsmasqConfigPath(ctx.addon.name);
  return {
    files: [{ path: conf, content: dnsmasqConfig(ctx), mode: 0o644 }],
    unit: unitText({
      name: ctx.addon.name,
      cluster: ctx.topology.cluster,
      description: 'dnsmasq DNS server',
      execStartPre: [`/usr/sbin/dnsmasq --test --conf-file=${conf}`],
      // -k: stay in the foreground for systemd; --pid-file with no value: no pid file.
      execStart: `/usr/sbin/dnsmasq -k --conf-file=${conf} --pid-file`,
    }),
  };
}

export const dnsmasq: Preset = {
  name: 'dnsmasq',
  packageUnit: 'dnsmasq.service',
  summary: "dnsmasq (Debian's) answering *.marathon with the public agents' addresses",
  options: ['domain', 'port', 'servers', 'addresses'],
  defaults,
  check,
  render,
};
