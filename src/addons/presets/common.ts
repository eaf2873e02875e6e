// What the Debian-package presets (etcd, haproxy, dnsmasq) share: reading options as written,
// port checks, addresses and DNS names. Pure.
import { deriveTopology } from '../../model/topology.js';
import type { Topology } from '../../model/topology.js';
import type { Diagnostic, SpecPath } from '../../spec/diagnostics.js';
import { err } from '../../spec/rule-helpers.js';
import type { Spec } from '../../spec/types.js';
import type { AddonPort } from '../types.js';

export const isPort = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

/** A port option: its value when it is one, else the default (check() reports the bad value). */
export const portOption = (
  options: Readonly<Record<string, unknown>>,
  key: string,
  fallback: number,
): number => (isPort(options[key]) ? options[key] : fallback);

/** The error for an option that must be a port, or none. */
export function checkPort(path: SpecPath, v: unknown): Diagnostic[] {
  return v === undefined || isPort(v)
    ? []
    : [err(path, `${JSON.stringify(v)} is not a port`, 'use an integer from 1 to 65535')];
}

export const tcp = (port: number): AddonPort => ({ port, protocol: 'tcp', public: false, balancer: false });
export const udp = (port: number): AddonPort => ({ port, protocol: 'udp', public: false, balancer: false });

/** An IPv4 address in dotted quads, each 0-255. */
export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** An IPv6 address (the shape only: hex groups and colons, at most one `::`). */
export function isIpv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:]+$/.test(s) || !s.includes(':') || s.split('::').length > 2) return false;
  const groups = s.split(':').filter((g) => g !== '');
  return groups.every((g) => g.length <= 4) && (s.includes('::') ? groups.length < 8 : groups.length === 8);
}

/** A DNS name: dot-separated labels of letters, digits and inner '-', each at most 63 characters. */
export function isDnsName(s: string): boolean {
  return (
    s.length <= 253 && s.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))
  );
}

/** The topology a check() needs: names only, so addresses may be unknown. */
export const checkTopology = (spec: Spec): Topology => deriveTopology(spec);
