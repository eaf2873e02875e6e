import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Templates } from './render/types.js';

/** templates/ at the package root (compiled code runs from dist/src). */
export const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Read every template once; rendering itself stays pure and takes them as a value. */
export function loadTemplates(dir: string = TEMPLATE_DIR): Templates {
  const out: Record<string, string> = {};
  for (const file of walk(dir).sort()) out[relative(dir, file)] = readFileSync(file, 'utf8');
  return out;
}
