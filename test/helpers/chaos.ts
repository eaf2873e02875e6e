// The generator of the chaos specs suite: malformed cluster files made from the valid examples in
// clusters/ by a seeded PRNG, so that a seed and a case number reproduce any failure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { EXTRA_KEYS, HOSTILE, NUMBERS, PATH_FIELDS, SPECIAL, WRONG } from './chaos-values.js';
import { ROOT } from './cli.js';

export { CANARY } from './chaos-values.js';

/** mulberry32: small, fast and the same on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** How many cases of each class make up the 1,000 (the dangerous classes are all run as processes too). */
export const QUOTAS = {
  'wrong-type': 150,
  'missing-field': 100,
  'extra-field': 100,
  'hostile-string': 150,
  'yaml-special': 60,
  'huge-number': 80,
  'deep-nesting': 20,
  'alias-bomb': 20,
  'duplicate-key': 40,
  tab: 40,
  'invalid-utf8': 40,
  empty: 20,
  binary: 40,
  directory: 10,
  'multi-document': 40,
  combo: 90,
} as const;
export type ChaosClass = keyof typeof QUOTAS;
/** Classes that could hang or exhaust the stack: every case of them also runs as a real process. */
export const DANGEROUS: readonly ChaosClass[] = ['deep-nesting', 'alias-bomb'];

export interface ChaosCase {
  id: number;
  cls: ChaosClass;
  base: string;
  /** What was done to the base, for the failure message. */
  what: string;
  /** The file's bytes, or `directory` for a directory in its place (holding `files`). */
  content: Buffer | { directory: Record<string, string> };
}

/** The examples with a provider that plan --offline and render can handle without a host or a cloud. */
export const BASES = [
  'dev',
  'ha',
  'secure',
  'archive',
  'packages',
  'docker',
  'local',
  'mesos-local',
] as const;

type Path = (string | number)[];

function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  const entries: [string | number, unknown][] = Array.isArray(v)
    ? v.map((x, i) => [i, x])
    : v !== null && typeof v === 'object'
      ? Object.entries(v)
      : [];
  for (const [k, x] of entries) {
    out.push([...at, k]);
    paths(x, [...at, k], out);
  }
  return out;
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> | undefined {
  let v = root;
  for (const p of path.slice(0, -1)) v = (v as Record<string | number, unknown>)[p];
  return v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>) : undefined;
}

/** Set `path`, making the maps it needs (or replacing a scalar in the way). */
function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let v: Record<string, unknown> = root;
  for (const p of path.slice(0, -1)) {
    const next = v[p];
    v = next !== null && typeof next === 'object' ? (next as Record<string, unknown>) : (v[p] = {});
  }
  v[path[path.length - 1]!] = value;
}

const PLACEHOLDER = 'MESO_CHAOS_RAW_VALUE';

/** One mutation of the data; some leave a placeholder that `raw` replaces in the YAML text. */
function mutate(r: Rand, data: Record<string, unknown>, kind: string, raw: string[]): string {
  const all = paths(data);
  const at = all.length > 0 ? pick(r, all) : ['name'];
  const parent = parentOf(data, at);
  const key = at[at.length - 1]!;
  const where = at.join('.');
  switch (kind) {
    case 'wrong-type': {
      const v = pick(r, WRONG);
      if (parent !== undefined) parent[key] = v;
      return `${where} = ${JSON.stringify(v)}`;
    }
    case 'missing-field': {
      if (r() < 0.4) {
        const top = pick(r, ['apiVersion', 'kind', 'name', 'provider', 'masters']);
        delete data[top];
        return `deleted ${top}`;
      }
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else if (parent !== undefined) delete parent[key];
      return `deleted ${where}`;
    }
    case 'extra-field': {
      const maps = [[], ...all].filter((p) => {
        const v = p.length === 0 ? data : parentOf(data, [...p, 'x']);
        return v !== undefined && !Array.isArray(v);
      });
      const m = pick(r, maps);
      const target = (m.length === 0 ? data : parentOf(data, [...m, 'x'])) as Record<string, unknown>;
      const k = pick(r, EXTRA_KEYS);
      Object.defineProperty(target, k, {
        value: pick(r, WRONG),
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return `added ${JSON.stringify(k)} at ${m.join('.') || '(top)'}`;
    }
    case 'hostile-string': {
      const s = pick(r, HOSTILE);
      if (r() < 0.5) {
        const field = pick(r, PATH_FIELDS);
        setPath(data, field, s);
        // Make the path one that is read: an archive install without a sha256, a keyed repository.
        if (field.includes('archive')) {
          setPath(data, ['install', 'method'], 'archive');
          if (r() < 0.7) setPath(data, ['install', 'sha256'], undefined);
        }
        if (field.includes('repository')) setPath(data, ['install', 'method'], pick(r, ['apt', 'yum']));
        return `${field.join('.')} = ${JSON.stringify(s.slice(0, 40))}`;
      }
      if (parent !== undefined) parent[key] = s;
      return `${where} = ${JSON.stringify(s.slice(0, 40))}`;
    }
    case 'huge-number':
    case 'yaml-special': {
      const text = pick(r, kind === 'huge-number' ? NUMBERS : SPECIAL);
      raw.push(text);
      if (r() < 0.3) setPath(data, pick(r, PATH_FIELDS), PLACEHOLDER);
      else if (parent !== undefined) parent[key] = PLACEHOLDER;
      return `${where} = ${text.split('\n')[0]!}`;
    }
    default:
      throw new Error(`no mutation ${kind}`);
  }
}

/** The YAML text of `data` with each placeholder replaced by the raw text queued for it. */
function render(data: unknown, raw: string[]): string {
  let text = stringify(data, { lineWidth: 0 });
  for (const t of raw) {
    const i = text.indexOf(PLACEHOLDER);
    if (i < 0) break;
    // A multi-line block scalar needs the indentation of the line it is on.
    const indent = ' '.repeat(i - text.lastIndexOf('\n', i) - 1 + 2);
    text = text.slice(0, i) + t.replace(/\n/g, `\n${indent}`) + text.slice(i + PLACEHOLDER.length);
  }
  return text;
}

function nesting(r: Rand): { text: string; what: string } {
  const depth = pick(r, [50, 100, 500, 1000, 10_000, 500_000]);
  const form = pick(r, [
    'flow-seq',
    'flow-map',
    'block-map',
    'block-seq',
    'compact-seq',
    'unclosed',
    'mixed',
  ]);
  const text =
    form === 'flow-seq'
      ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
      : form === 'flow-map'
        ? `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`
        : form === 'compact-seq'
          ? `${'- '.repeat(depth)}x`
          : form === 'unclosed'
            ? '['.repeat(depth)
            : form === 'mixed'
              ? `${'[{a: '.repeat(depth / 2)}1${'}]'.repeat(depth / 2)}`
              : Array.from({ length: Math.min(depth, 2000) }, (_, i) =>
                  form === 'block-map' ? `${' '.repeat(i)}a:` : `${' '.repeat(i)}-`,
                ).join('\n');
  return { text, what: `${form} nested ${depth} deep` };
}

function aliasBomb(r: Rand): string {
  const width = pick(r, [9, 10, 16]);
  const levels = pick(r, [6, 9, 12]);
  const lines = [`l0: &l0 [${Array(width).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < levels; i++)
    lines.push(
      `l${i}: &l${i} [${Array(width)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n');
}

function bytes(r: Rand, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => int(r, 0, 255)));
}

/** Case `id` of the run with `seed`: the same seed and id give the same case. */
export function chaosCase(seed: number, id: number, cls: ChaosClass): ChaosCase {
  const r = prng((seed ^ Math.imul(id + 1, 0x9e3779b1)) >>> 0);
  const base = pick(r, BASES);
  const text = readFileSync(join(ROOT, 'clusters', `${base}.yaml`), 'utf8');
  const data = parse(text) as Record<string, unknown>;
  const lines = text.split('\n');
  const done = (what: string, content: string | Buffer): ChaosCase => ({
    id,
    cls,
    base,
    what,
    content: typeof content === 'string' ? Buffer.from(content) : content,
  });
  const lineNo = (): number => {
    const keyed = lines.flatMap((l, i) => (/^\s*[\w-]+:/.test(l) ? [i] : []));
    return pick(r, keyed);
  };
  switch (cls) {
    case 'wrong-type':
    case 'missing-field':
    case 'extra-field':
    case 'hostile-string':
    case 'yaml-special':
    case 'huge-number': {
      const raw: string[] = [];
      const what = mutate(r, data, cls, raw);
      return done(what, render(data, raw));
    }
    case 'combo': {
      const raw: string[] = [];
      const kinds = ['wrong-type', 'missing-field', 'extra-field', 'hostile-string', 'huge-number'];
      const what = Array.from({ length: int(r, 2, 5) }, () => mutate(r, data, pick(r, kinds), raw));
      return done(what.join('; '), render(data, raw));
    }
    case 'deep-nesting': {
      const n = nesting(r);
      const where = pick(r, ['top', 'masters', 'flags', 'attributes', 'key']);
      if (where === 'top') return done(`${n.what} as the document`, n.text);
      if (where === 'key') return done(`${n.what} as a key`, `${text}\n? ${n.text}\n: 1\n`);
      const at = where === 'masters' ? 'masters' : where === 'flags' ? 'work_dir' : 'rack';
      const i = lines.findIndex((l) => l.trimStart().startsWith(`${at}:`));
      const body = n.text.includes('\n') ? `\n${n.text.replace(/^/gm, '  ')}` : ` ${n.text}`;
      const out =
        i < 0 ? `${text}\nmasters:${body}\n` : text.replace(lines[i]!, `${lines[i]!.split(':')[0]!}:${body}`);
      return done(`${n.what} at ${at}`, out);
    }
    case 'alias-bomb': {
      const bomb = aliasBomb(r);
      const form = pick(r, ['extra-top', 'in-flags', 'as-masters', 'self']);
      if (form === 'self') return done('a recursive alias', `${text}\nloop: &x [*x]\nagain: *x\n`);
      if (form === 'extra-top') return done(`billion laughs at the top`, `${bomb}\n${text}`);
      if (form === 'as-masters')
        return done(
          'billion laughs as masters',
          `${text}\n${bomb}\nmasters: *l${bomb.split('\n').length - 1}\n`,
        );
      const flags = `x-bomb:\n${bomb.replace(/^/gm, '  ')}`;
      return done('billion laughs under an unknown key', `${text}\n${flags}\n`);
    }
    case 'duplicate-key': {
      const i = lineNo();
      const copy = [...lines];
      copy.splice(i + int(r, 0, 1), 0, lines[i]!);
      return done(`line ${i + 1} twice`, copy.join('\n'));
    }
    case 'tab': {
      const i = lineNo();
      const copy = [...lines];
      copy[i] = pick(r, [
        (l: string) => l.replace(/^( *)/, '\t'),
        (l: string) => l.replace(/^( *)/, '$1\t'),
        (l: string) => l.replace(':', ':\t'),
        (l: string) => `${l}\t`,
        (l: string) => l.replace(/ /g, '\t'),
      ])(copy[i]!);
      return done(`tab on line ${i + 1}`, copy.join('\n'));
    }
    case 'invalid-utf8': {
      const buf = Buffer.from(text);
      const bad = pick(r, [
        [0xff],
        [0xc0, 0xaf],
        [0xed, 0xa0, 0x80],
        [0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xfe, 0xff],
        [0xe2, 0x82],
      ]);
      const at = r() < 0.2 ? 0 : int(r, 0, buf.length);
      return done(
        `bytes ${bad.map((b) => b.toString(16)).join(' ')} at ${at}`,
        Buffer.concat([buf.subarray(0, at), Buffer.from(bad), buf.subarray(at)]),
      );
    }
    case 'empty': {
      const e = pick(r, [
        '',
        '\n',
        '   \n\n',
        '# only a comment\n',
        '---\n',
        '...\n',
        '---\n...\n',
        '\uFEFF',
        'null\n',
        '~\n',
        '{}\n',
        '[]\n',
        '""\n',
      ]);
      return done(`empty: ${JSON.stringify(e)}`, e);
    }
    case 'binary': {
      const n = pick(r, [1, 16, 1024, 65_536, 1_000_000]);
      const head = pick(r, [
        Buffer.alloc(0),
        Buffer.from([0x1f, 0x8b, 8, 0]),
        Buffer.from('\x7fELF'),
        Buffer.from(text),
      ]);
      return done(`${n} random bytes after ${head.length} header bytes`, Buffer.concat([head, bytes(r, n)]));
    }
    case 'directory':
      return {
        id,
        cls,
        base,
        what: 'a directory in place of the file',
        content: { directory: r() < 0.5 ? {} : { 'cluster.yaml': text } },
      };
    case 'multi-document': {
      const second = pick(r, [text, 'garbage: [', '--- !!binary', 'x: *nope', '%YAML 1.1\n---\na: 1']);
      const form = pick(r, ['---', '...\n---', '--- a']);
      return done(`two documents separated by ${JSON.stringify(form)}`, `${text}\n${form}\n${second}\n`);
    }
  }
}

/** The 1,000 cases of a run, class by class. */
export function chaosCases(seed: number): ChaosCase[] {
  const out: ChaosCase[] = [];
  for (const [cls, n] of Object.entries(QUOTAS) as [ChaosClass, number][])
    for (let i = 0; i < n; i++) out.push(chaosCase(seed, out.length, cls));
  return out;
}
