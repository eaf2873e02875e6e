// The presets, by name. Each is one file in this folder; the README documents what each writes.
import type { Preset } from '../types.js';
// The Debian-package presets.
import { dnsmasq } from './dnsmasq.js';
import { etcd } from './etcd.js';
import { haproxy } from './haproxy.js';
// The image/archive presets.
import { marathonLb } from './marathon-lb.js';
import { metronome } from './metronome.js';
import { traefik } from './traefik.js';

export const PRESETS: ReadonlyMap<string, Preset> = new Map<string, Preset>([
  // The Debian-package presets.
  ['etcd', etcd],
  ['haproxy', haproxy],
  ['dnsmasq', dnsmasq],
  // The image/archive presets.
  ['traefik', traefik],
  ['marathon-lb', marathonLb],
  ['metronome', metronome],
]);
