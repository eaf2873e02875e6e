// A throwaway gpg signing key for the test repositories (apt-repo.ts, yum-repo.ts), and the small
// async exec both builders use.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Run a program (no shell); resolve with its stdout, reject naming it and its stderr. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface SigningKey {
  /** The key's own GNUPGHOME. */
  home: string;
  /** The environment that points gpg (and rpmsign) at it. */
  env: NodeJS.ProcessEnv;
  fingerprint: string;
  /** gpg in batch mode with that home. */
  gpg: (args: string[]) => Promise<string>;
  /** The public key, ASCII-armored. */
  armored: () => Promise<string>;
}

/**
 * A new key (`algo`: ed25519, rsa3072, ...) in its own GNUPGHOME while `use` runs; afterwards the
 * agent gpg started for it is stopped and the home removed.
 */
export async function withThrowawayKey<T>(
  uid: string,
  algo: string,
  use: (key: SigningKey) => Promise<T>,
): Promise<T> {
  // A short path: gpg-agent's socket goes into GNUPGHOME when /run/user/<uid> is absent (108-byte limit).
  const home = await mkdtemp(join(tmpdir(), 'meso-gpg-'));
  await chmod(home, 0o700);
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  const gpg = (args: string[]): Promise<string> =>
    run('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env });
  try {
    await gpg(['--quick-gen-key', uid, algo, 'sign', 'never']);
    const fingerprint = (await gpg(['--with-colons', '--list-secret-keys']))
      .split('\n')
      .find((l) => l.startsWith('fpr:'))
      ?.split(':')[9];
    if (fingerprint === undefined || fingerprint === '') throw new Error('gpg made no key');
    const armored = async (): Promise<string> => {
      const key = await gpg(['--armor', '--export', fingerprint]);
      if (!key.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'))
        throw new Error('gpg exported no armored key');
      return key;
    };
    return await use({ home, env, fingerprint, gpg, armored });
  } finally {
    // gpg started an agent for this GNUPGHOME; stop it before its directory goes away.
    await run('gpgconf', ['--kill', 'all'], { env }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}
