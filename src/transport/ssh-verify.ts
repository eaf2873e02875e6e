// Host key verification for one hop: known_hosts or the pin, revoked keys, strict or accept-new.
import { readFile } from 'node:fs/promises';
import { MesoError } from '../util/errors.js';
import { shellQuote } from './host.js';
import {
  fingerprintSha256,
  knownHostName,
  lookupHost,
  parseKnownHosts,
  parsePublicKeyLine,
  publicKeyFromBlob,
  sameKey,
} from './known-hosts.js';
import type { KnownHostEntry, PublicKey } from './known-hosts.js';
import { errorText } from './ssh-session.js';
import type { Hop } from './ssh-session.js';

// --- host key verification ------------------------------------------------------------------------------

/** ssh2 host-key algorithm names per key type, so the server presents a key of a type we know. */
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss'],
};

export interface Verifier {
  verify(blob: Buffer): boolean;
  /** Restricts the negotiated host key algorithms to the types known for this host (like OpenSSH does). */
  algorithms: string[] | undefined;
  failure: MesoError | undefined;
  presented: PublicKey | undefined;
  /** The presented key was unknown and accepted under accept-new. */
  acceptedNew: boolean;
  /** Forget the previous attempt's failure. */
  reset(): void;
  expectedText(): string;
  mismatchHint(): string;
}

export async function makeVerifier(hop: Hop): Promise<Verifier> {
  const check = hop.hostKey;
  const name = knownHostName(hop.host, hop.port);
  const known = await readKnownHosts(hop.label, check.knownHostsPath);
  const { keys, revoked } = lookupHost(known, name);
  let pin: PublicKey | undefined;
  if (check.pinned !== undefined) {
    pin = parsePublicKeyLine(check.pinned);
    if (pin === undefined) {
      throw new MesoError(
        'SshKnownHostsUnreadable',
        `${hop.label}: the pinned host key is not an OpenSSH public key line`,
        {
          hint: 'the pin in meso state must look like "ssh-ed25519 AAAA..."; restore it from `ssh-keyscan` output verified out of band',
        },
      );
    }
  }
  // The pin, when there is one, is the only key that counts; otherwise every known_hosts entry for the host.
  const expected: { key: PublicKey; from: string }[] =
    pin !== undefined
      ? [{ key: pin, from: "pinned in meso's state" }]
      : keys.map((e) => ({ key: e.key, from: `${check.knownHostsPath}:${e.line}` }));
  const types = [...new Set(expected.map((x) => x.key.type))];
  const algorithms = types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []);
  const quotedName = shellQuote(name);
  const quotedPath = shellQuote(check.knownHostsPath);

  const v: Verifier = {
    algorithms: algorithms.length > 0 ? algorithms : undefined,
    failure: undefined,
    presented: undefined,
    acceptedNew: false,
    reset: () => {
      v.failure = undefined;
    },
    expectedText: () =>
      expected.map((x) => `${x.key.type} ${fingerprintSha256(x.key)} (${x.from})`).join(', '),
    mismatchHint: () =>
      pin !== undefined
        ? `The host's key differs from the one pinned in meso's state. If the host was rebuilt, verify the new fingerprint out of band (provider console, ssh-keygen -lf on the host) and update the pin; otherwise treat it as a possible man-in-the-middle.`
        : `If the host was rebuilt, verify the new fingerprint out of band (provider console, ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the host), then remove the old entry with \`ssh-keygen -R ${quotedName} -f ${quotedPath}\` and add the new one; otherwise treat it as a possible man-in-the-middle.`,
    verify(blob) {
      const presented = publicKeyFromBlob(blob);
      if (presented === undefined) {
        v.failure = new MesoError(
          'SshHostKeyMismatch',
          `${hop.label}: ${name} presented an unreadable host key`,
          {
            hint: v.mismatchHint(),
          },
        );
        return false;
      }
      const shown = `${presented.type} ${fingerprintSha256(presented)}`;
      const bad = revoked.find((e: KnownHostEntry) => sameKey(e.key, presented));
      if (bad !== undefined) {
        v.failure = new MesoError(
          'SshHostKeyRevoked',
          `${hop.label}: ${name} presented host key ${shown}, which is marked @revoked in ${check.knownHostsPath}:${bad.line}`,
          {
            hint: 'a revoked key is never accepted: give the host a new host key and record it (known_hosts or the pin)',
          },
        );
        return false;
      }
      if (expected.length > 0) {
        if (expected.some((x) => sameKey(x.key, presented))) {
          v.presented = presented;
          return true;
        }
        v.failure = new MesoError(
          'SshHostKeyMismatch',
          `${hop.label}: host key for ${name} does not match: expected ${v.expectedText()}, presented ${shown}`,
          { hint: v.mismatchHint() },
        );
        return false;
      }
      if (check.policy === 'strict') {
        v.failure = new MesoError(
          'SshHostKeyUnknown',
          `${hop.label}: ${name} is not in ${check.knownHostsPath} (presented ${shown}) and the host key policy is strict`,
          {
            hint: `verify the fingerprint out of band, then add the key: \`ssh-keyscan -p ${hop.port} ${shellQuote(hop.host)} >> ${quotedPath}\` (check it with \`ssh-keygen -lf ${quotedPath}\`), or pin it in meso's state`,
          },
        );
        return false;
      }
      // accept-new: trust on first use, and hold later attempts and re-keys to that key.
      expected.push({ key: presented, from: 'accepted as new during this connection' });
      v.presented = presented;
      v.acceptedNew = true;
      return true;
    },
  };
  return v;
}

async function readKnownHosts(label: string, path: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return [];
    throw new MesoError(
      'SshKnownHostsUnreadable',
      `${label}: cannot read known_hosts ${path}: ${errorText(e)}`,
      {
        hint: 'check the known_hosts path and its permissions',
      },
    );
  }
}
