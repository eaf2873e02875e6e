// Pure naming and address rules of the local lab (no I/O), so they are tested without root.
import { createHash } from 'node:crypto';
import { MesoError } from '../../util/errors.js';

/** The only range lab hosts may use: 198.18.0.0/15, reserved for network benchmarks (RFC 2544). */
export const LAB_RANGE = '198.18.0.0/15';

export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => String(Math.floor(n / 2 ** s) % 256)).join('.');
}

export interface Subnet {
  network: number;
  prefix: number;
  /** The bridge's address: the first address of the subnet (`.1` for a /24). */
  gateway: string;
}

function inRange(n: number, network: number, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return n >= network && n < network + size;
}

/** Parses `a.b.c.d/p` and checks it lies inside 198.18.0.0/15 and leaves room for hosts. */
export function parseSubnet(cidr: string): Subnet {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  const addr = m?.[1] === undefined ? undefined : parseIpv4(m[1]);
  const prefix = Number(m?.[2]);
  if (addr === undefined || !(prefix >= 15 && prefix <= 29)) {
    throw new MesoError(
      'LabAddressInvalid',
      `subnet ${cidr} is not an IPv4 CIDR with a prefix from /15 to /29`,
      {
        hint: 'use a subnet of 198.18.0.0/15, for example 198.18.10.0/24',
      },
    );
  }
  const size = 2 ** (32 - prefix);
  const network = addr - (addr % size);
  if (network !== addr) {
    throw new MesoError('LabAddressInvalid', `subnet ${cidr} has host bits set`, {
      hint: `did you mean ${formatIpv4(network)}/${prefix}?`,
    });
  }
  const lab = parseIpv4('198.18.0.0') ?? 0;
  if (!inRange(network, lab, 15) || !inRange(network + size - 1, lab, 15)) {
    throw new MesoError('LabAddressInvalid', `subnet ${cidr} is outside ${LAB_RANGE}`, {
      hint: `local hosts only use ${LAB_RANGE} (reserved for benchmarks), so they never shadow a real network`,
    });
  }
  return { network, prefix, gateway: formatIpv4(network + 1) };
}

/** Checks a host address: inside the subnet, not its network, gateway or broadcast address. */
export function checkHostAddress(subnet: Subnet, host: string, address: string): void {
  const n = parseIpv4(address);
  const size = 2 ** (32 - subnet.prefix);
  const cidr = `${formatIpv4(subnet.network)}/${subnet.prefix}`;
  if (n === undefined || !inRange(n, subnet.network, subnet.prefix)) {
    throw new MesoError('LabAddressInvalid', `host ${host}: address ${address} is not in subnet ${cidr}`);
  }
  if (n === subnet.network || n === subnet.network + 1 || n === subnet.network + size - 1) {
    throw new MesoError(
      'LabAddressInvalid',
      `host ${host}: address ${address} is the network, bridge (${subnet.gateway}) or broadcast address of ${cidr}`,
      {
        hint: `use an address from ${formatIpv4(subnet.network + 2)} to ${formatIpv4(subnet.network + size - 2)}`,
      },
    );
  }
}

/** Host names become machine names, hostnames and directory names: keep them DNS-label shaped. */
export function checkHostName(name: string): void {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw new MesoError(
      'LabAddressInvalid',
      `host name ${JSON.stringify(name)} is not a valid hostname label`,
      {
        hint: 'use lowercase letters, digits and dashes, at most 63 characters',
      },
    );
  }
}

const h = (s: string, len: number): string => createHash('sha256').update(s).digest('hex').slice(0, len);

/**
 * Kernel names of one cluster's lab objects. Interface names are at most 15 characters, so they are
 * derived from a hash of the cluster (and host) name; every name starts with a meso-specific prefix.
 */
export interface LabNames {
  /** 8 hex characters identifying the cluster in every kernel object name. */
  id: string;
  bridge: string;
  /** Prefix of this cluster's network namespaces (`ip netns list`). */
  netnsPrefix: string;
  netns(host: string): string;
  /** Host-side end of the host's veth pair (in the root namespace, on the bridge). */
  veth(host: string): string;
  /** Temporary name of the namespace-side end before it is moved in and renamed eth0. */
  vethPeer(host: string): string;
  /** Cgroup path (relative to each hierarchy's root) holding the host's supervisor. */
  cgroup(host: string): string;
  clusterCgroup: string;
}

export function labNames(cluster: string): LabNames {
  const id = h(cluster, 8);
  return {
    id,
    bridge: `mesobr-${id}`, // 15 characters
    netnsPrefix: `meso-${id}-`,
    netns: (host) => `meso-${id}-${host}`,
    veth: (host) => `mv${id}${h(host, 5)}`, // 15 characters
    vethPeer: (host) => `mp${id}${h(host, 5)}`,
    cgroup: (host) => `meso/${id}/${host}`,
    clusterCgroup: `meso/${id}`,
  };
}
