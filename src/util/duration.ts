import { MesoError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as Terraform's `-lock-timeout` takes it: `30s`, `15m`, `1h`, `1m30s`, `0s` (or `0`), in
 * milliseconds. `option` names the flag in the error.
 */
export function parseDuration(text: string, option: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (t === '' || parts.map((p) => p[0]).join('') !== t) {
    throw new MesoError('UsageError', `${option} '${text}' is not a duration`, {
      hint: `give a number with a unit: ${option} 30s, 15m or 1h (0s: do not wait)`,
    });
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * (UNIT_MS[p[2] ?? ''] ?? 0), 0));
}

/** `23m 10s`, `1h 0m 5s`, `12s`: how long ago, to the second. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = h > 0 ? [`${h}h`, `${m}m`] : m > 0 ? [`${m}m`] : [];
  return [...parts, `${s % 60}s`].join(' ');
}
