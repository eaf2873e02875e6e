// Links, network namespaces and the cluster's bridge, through `ip`.
import { MesoError } from '../../util/errors.js';
import { run } from './exec.js';
import { parseIpv4, type LabNames, type Subnet } from './net.js';

export async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name], { allowFail: true })).code === 0;
}

export async function netnsList(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/**
 * Refuses a subnet that overlaps an address on any interface but this cluster's bridge: another
 * cluster's bridge (or a real network) would then share the route and take the traffic.
 */
export async function checkSubnetFree(names: LabNames, subnet: Subnet, cidr: string): Promise<void> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  for (const line of stdout.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (m === null || m[1] === names.bridge) continue;
    const addr = parseIpv4(m[2] ?? '');
    const prefix = Number(m[3]);
    if (addr === undefined) continue;
    const size = 2 ** (32 - prefix);
    const net = addr - (addr % size);
    const mine = 2 ** (32 - subnet.prefix);
    if (net < subnet.network + mine && subnet.network < net + size) {
      throw new MesoError(
        'LabAddressInvalid',
        `subnet ${cidr} overlaps ${m[2]}/${prefix} on interface ${m[1]}`,
        {
          hint: 'choose another subnet of 198.18.0.0/15 for this cluster (each cluster needs its own)',
        },
      );
    }
  }
}

export async function ensureBridge(names: LabNames, gateway: string, prefix: number): Promise<void> {
  if (!(await linkExists(names.bridge))) {
    await run('ip', ['link', 'add', names.bridge, 'type', 'bridge']);
  }
  await run('ip', ['addr', 'replace', `${gateway}/${prefix}`, 'dev', names.bridge]);
  await run('ip', ['link', 'set', names.bridge, 'up']);
}
