import { readFile } from 'node:fs/promises';
import type { SecretSource } from '../render/types.js';
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
