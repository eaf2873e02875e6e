import type { Diagnostic, SpecPath } from '../diagnostics.js';
import { hostEntries } from '../../model/hosts.js';
import { PROVIDERS } from '../../providers/registry.js';
import { err, rawAt, SAFE, warn } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';

// --- hosts ----------------------------------------------------------------------------------------

export const hostLists: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  const lists: SpecPath[] = [
    ['masters'],
    ['zookeeper'],
    ...spec.agents.map((_, i) => ['agents', i] as SpecPath),
  ];
  for (const p of lists) {
    const node = rawAt(raw, p);
    if (node === null || typeof node !== 'object') continue;
    const hasHosts = Array.isArray((node as Record<string, unknown>)['hosts']);
    const hasCount = (node as Record<string, unknown>)['count'] !== undefined;
    if (hasHosts && hasCount)
      out.push(err([...p, 'count'], 'give either hosts or count, not both', undefined, true));
    const plugin = PROVIDERS.find((x) => x.name === spec.provider);
    if (hasCount && plugin?.createsMachines === false) {
      out.push(
        err(
          [...p, 'count'],
          'count needs a provider that creates machines',
          `list hosts with their addresses, or use provider: ${PROVIDERS.filter((x) => x.createsMachines)
            .map((x) => x.name)
            .join(' or ')}`,
          true,
        ),
      );
    }
    if (p[0] === 'agents' && !hasHosts && !hasCount)
      out.push(err(p, 'this agent group lists no hosts', 'add hosts: or count:'));
    const hosts = (node as Record<string, unknown>)['hosts'];
    if (p[0] === 'agents' && Array.isArray(hosts) && hosts.length === 0)
      out.push(warn([...p, 'hosts'], 'this agent group has no hosts yet'));
  }
  return out;
};

export const hostIdentity: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  const byName = new Map<
    string,
    { address: string | undefined; privateAddress: string | undefined; where: SpecPath }
  >();
  const byAddress = new Map<string, string>();
  const inList = new Map<string, Set<string>>();
  for (const e of hostEntries(spec)) {
    const { name, address, privateAddress } = e.host;
    const listKey = e.role === 'agent' ? `agents.${e.group?.group ?? ''}` : `${e.role}s`;
    if (!SAFE.hostName.test(name)) {
      out.push(
        err(
          [...e.path, 'name'],
          `host name '${name}' has unsafe characters`,
          "use letters, digits, '-' and '.'",
        ),
      );
      continue;
    }
    for (const [field, value] of [
      ['address', address],
      ['privateAddress', privateAddress === address ? undefined : privateAddress],
    ] as const) {
      if (value !== undefined && !SAFE.address.test(value)) {
        out.push(err([...e.path, field], `${field} '${value}' is not an IP address or DNS name`));
      }
    }
    const names = inList.get(listKey) ?? new Set<string>();
    if (names.has(name))
      out.push(
        err([...e.path, 'name'], `host ${name} is listed twice in ${listKey}`, 'host names must be unique'),
      );
    names.add(name);
    inList.set(listKey, names);
    const prior = byName.get(name);
    if (prior === undefined) {
      byName.set(name, { address, privateAddress, where: e.path });
      for (const a of new Set([address, privateAddress])) {
        if (a === undefined) continue;
        const owner = byAddress.get(a);
        if (owner !== undefined && owner !== name) {
          out.push(
            err(
              [...e.path, a === address ? 'address' : 'privateAddress'],
              `address ${a} is already used by host ${owner}`,
              'every host needs its own address',
            ),
          );
        } else byAddress.set(a, name);
      }
    } else if (prior.address !== address) {
      out.push(
        err(
          [...e.path, 'address'],
          `host ${name} is declared again with another address (${address ?? 'none'} vs ${prior.address ?? 'none'})`,
          'a host in two roles must have the same address in both',
        ),
      );
    } else if (prior.privateAddress !== privateAddress) {
      out.push(
        err(
          [...e.path, 'privateAddress'],
          `host ${name} is declared again with another privateAddress (${privateAddress ?? 'none'} vs ${prior.privateAddress ?? 'none'})`,
          'a host in two roles must have the same privateAddress in both',
        ),
      );
    }
  }
  return out;
};
