import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { DesiredState, SecretSource } from '../render/types.js';
import { MesoError } from '../util/errors.js';

/** Resolves `env:NAME` / `file:PATH` to the secret; errors name the reference, never a value. */
export type SecretReader = (ref: string) => Promise<string>;

export function secretReader(env: NodeJS.ProcessEnv = process.env): SecretReader {
  return async (ref) => {
    if (ref.startsWith('env:')) {
      const value = env[ref.slice(4)];
      if (value === undefined || value === '') {
        throw new MesoError('SecretUnavailable', `secret ${ref} is not set`, {
          hint: `export ${ref.slice(4)} before running meso`,
        });
      }
      return value;
    }
    if (ref.startsWith('file:')) {
      try {
        return (await readFile(ref.slice(5), 'utf8')).replace(/\r?\n$/, '');
      } catch (e) {
        throw new MesoError(
          'SecretUnavailable',
          `secret ${ref} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
    throw new MesoError('SecretUnavailable', `'${ref.split(':')[0] ?? ''}:' is not a secret reference`, {
      hint: 'use env:NAME or file:PATH',
    });
  };
}

/** The real content of a sensitive file, in the formats Mesos and Marathon read. */
export async function sensitiveContent(src: SecretSource, read: SecretReader): Promise<string> {
  switch (src.kind) {
    case 'mesos-credentials': {
      const credentials = [];
      for (const c of src.credentials)
        credentials.push({ principal: c.principal, secret: await read(c.secret) });
      return `${JSON.stringify({ credentials }, null, 2)}\n`;
    }
    case 'mesos-credential':
      return `${JSON.stringify({ principal: src.principal, secret: await read(src.secret) }, null, 2)}\n`;
    case 'raw':
      return read(src.secret);
  }
}

/**
 * The desired state with every sensitive file's real sha256 (`secretSha256`), so that a plan against
 * the hosts sees a changed secret as a changed file. The content itself is dropped at once.
 */
export async function withSecretHashes(desired: DesiredState, read: SecretReader): Promise<DesiredState> {
  const cache = new Map<string, string>();
  const reader: SecretReader = async (ref) => {
    const hit = cache.get(ref);
    if (hit !== undefined) return hit;
    const value = await read(ref);
    cache.set(ref, value);
    return value;
  };
  const hosts = [];
  for (const h of desired.hosts) {
    const files = [];
    for (const f of h.files) {
      if (f.secret === undefined) files.push(f);
      else {
        const content = await sensitiveContent(f.secret, reader);
        files.push({ ...f, secretSha256: createHash('sha256').update(content).digest('hex') });
      }
    }
    hosts.push({ ...h, files });
  }
  cache.clear();
  return { ...desired, hosts };
}
