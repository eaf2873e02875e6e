// OpenSSH known_hosts parsing and matching, and key fingerprints as `ssh-keygen -lf` prints them.
// Pure functions of their inputs (the file is read by the caller), so they are unit-tested without hosts.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** An OpenSSH public key: its type name and the wire-format blob (what the base64 field decodes to). */
export interface PublicKey {
  type: string;
  blob: Buffer;
}

export interface KnownHostEntry {
  /** 1-based line number in the file, for hints. */
  line: number;
  marker: 'revoked' | undefined;
  /** The host field as written: a comma list of patterns, or one `|1|salt|hash` hashed name. */
  hosts: string;
  key: PublicKey;
}

/**
 * Parses known_hosts text. Comments, blank lines, `@cert-authority` lines (meso does not use host
 * certificates) and malformed lines are skipped, as OpenSSH skips them.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields.length === 0 || fields[0] === '' || fields[0]?.startsWith('#')) return;
    let marker: 'revoked' | undefined;
    if (fields[0]?.startsWith('@')) {
      if (fields[0] === '@cert-authority') return;
      if (fields[0] !== '@revoked') return;
      marker = 'revoked';
      fields.shift();
    }
    const [hosts, type, b64] = fields;
    if (hosts === undefined || type === undefined || b64 === undefined) return;
    const key = parseKeyFields(type, b64);
    if (key === undefined) return;
    entries.push({ line: i + 1, marker, hosts, key });
  });
  return entries;
}

/** Parses `ssh-ed25519 AAAA... [comment]` (an OpenSSH public key line, as pinned in meso's state). */
export function parsePublicKeyLine(line: string): PublicKey | undefined {
  const [type, b64] = line.trim().split(/\s+/);
  if (type === undefined || b64 === undefined) return undefined;
  return parseKeyFields(type, b64);
}

/** Builds a key from its wire-format blob, as ssh2 hands it to a host verifier. */
export function publicKeyFromBlob(blob: Buffer): PublicKey | undefined {
  const type = blobKeyType(blob);
  return type === undefined ? undefined : { type, blob };
}

/** `ssh-ed25519 AAAA...`, the form stored in known_hosts and in meso's state. */
export function formatPublicKey(key: PublicKey): string {
  return `${key.type} ${key.blob.toString('base64')}`;
}

export function sameKey(a: PublicKey, b: PublicKey): boolean {
  return a.type === b.type && a.blob.length === b.blob.length && timingSafeEqual(a.blob, b.blob);
}

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(key: PublicKey | string): string {
  const k = typeof key === 'string' ? parsePublicKeyLine(key) : key;
  if (k === undefined) throw new TypeError('fingerprintSha256: not an OpenSSH public key line');
  return `SHA256:${createHash('sha256').update(k.blob).digest('base64').replace(/=+$/, '')}`;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/**
 * Whether an entry's host field matches `name` (from knownHostName). A hashed field is compared by
 * HMAC-SHA1; a pattern list matches when some pattern matches and no `!`-negated one does.
 */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const raw of hosts.split(',')) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (globMatch(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, the form `ssh-keygen -H` writes. */
export function hashHostName(name: string, salt: Buffer): string {
  const mac = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`;
}

/** Entries whose host field matches `name`, split into usable keys and revoked keys. */
export function lookupHost(
  entries: readonly KnownHostEntry[],
  name: string,
): { keys: KnownHostEntry[]; revoked: KnownHostEntry[] } {
  const keys: KnownHostEntry[] = [];
  const revoked: KnownHostEntry[] = [];
  for (const e of entries) {
    if (!hostFieldMatches(e.hosts, name)) continue;
    (e.marker === 'revoked' ? revoked : keys).push(e);
  }
  return { keys, revoked };
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = Buffer.from(parts[3] ?? '', 'base64');
  if (salt.length === 0 || want.length !== 20) return false;
  const got = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(got, want);
}

/** OpenSSH's match_pattern: `*` any run, `?` one character, everything else literal. */
function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function parseKeyFields(type: string, b64: string): PublicKey | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const blob = Buffer.from(b64, 'base64');
  // The blob starts with its own type name; a line whose two disagree is corrupt.
  if (blobKeyType(blob) !== type) return undefined;
  return { type, blob };
}

function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}
