// What the semantic rules share: the rule signature, diagnostics, safe-value patterns and the raw document.
// The provider rules (src/providers/*/rules.ts) import it too, so it stays free of heavy dependencies.
import type { Diagnostic, SpecPath } from './diagnostics.js';
import type { Spec } from './types.js';

/**
 * Semantic rules: each looks at one concern and reports every problem it finds, so a user sees all
 * of them at once. `raw` is the document as written (to tell "unset" from "set to the default").
 */
export interface RuleContext {
  spec: Spec;
  raw: Record<string, unknown>;
}
export type Rule = (ctx: RuleContext) => Diagnostic[];

export const err = (path: SpecPath, message: string, fix?: string, atKey = false): Diagnostic => ({
  severity: 'error',
  path,
  message,
  ...(fix === undefined ? {} : { fix }),
  ...(atKey ? { atKey } : {}),
});
export const warn = (path: SpecPath, message: string, fix?: string): Diagnostic => ({
  severity: 'warning',
  path,
  message,
  ...(fix === undefined ? {} : { fix }),
});

export const SAFE = {
  hostName: /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/,
  address: /^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$/,
  group: /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/,
  flagName: /^[a-z][a-z0-9_]*$/,
  attributeName: /^[A-Za-z0-9_.-]+$/,
  resourceName: /^[A-Za-z0-9_.-]+(\([A-Za-z0-9_.*/-]+\))?$/,
  principal: /^[A-Za-z0-9_.@-]+$/,
  absPath: /^\/[A-Za-z0-9._/@+-]*$/,
  zkSetting: /^[A-Za-z0-9_.]+$/,
  image: /^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/,
  secretRef: /^(env:[A-Za-z_][A-Za-z0-9_]*|file:[^\s]+)$/,
  /** Debian policy's package name (also in the schema, for local.packages). */
  debianPackage: /^[a-z0-9][a-z0-9+.-]+$/,
  /** A one-line value that goes into a file or an environment variable as it is. */
  oneLine: /^[^\n\r\0]*$/,
} as const;

export function isIpv4Cidr(c: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(c);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

export function rawAt(raw: unknown, path: SpecPath): unknown {
  let node: unknown = raw;
  for (const p of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[p];
  }
  return node;
}

// Debian names are lower case; RPM names may have capitals (perl-Digest-SHA, NetworkManager).
export const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
