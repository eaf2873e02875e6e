// known_hosts parsing and matching, fingerprints and shellQuote, cross-checked against OpenSSH's own tools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fingerprintSha256,
  formatPublicKey,
  hashHostName,
  hostFieldMatches,
  knownHostName,
  lookupHost,
  parseKnownHosts,
  parsePublicKeyLine,
} from '../src/transport/known-hosts.js';
import { shellQuote } from '../src/transport/host.js';
import { keygenFingerprints, sshKeygenSkipReason } from './helpers/sshd.js';

const skip = sshKeygenSkipReason();

function withKeys<T>(fn: (dir: string, key: (type: string, name: string) => string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'meso-kh-'));
  try {
    return fn(dir, (type, name) => {
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'c', '-f', join(dir, name)], {
        stdio: 'ignore',
      });
      return readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void test('known_hosts: plain names, comma lists, [host]:port, comments, markers', { skip }, () => {
  withKeys((_dir, key) => {
    const a = key('ed25519', 'a');
    const b = key('ecdsa', 'b');
    const c = key('ed25519', 'c');
    const [aType, aB64] = a.split(' ');
    const text = [
      '# a comment',
      '',
      `master-1.example.com,10.0.0.1 ${a}`,
      `[10.0.0.2]:2222 ${b} trailing comment`,
      `@cert-authority *.example.com ${c}`,
      `@revoked revoked.example.com ${c}`,
      `@bogus-marker x.example.com ${c}`,
      'not a key line',
      `broken.example.com ssh-rsa ${aB64}`, // type does not match the blob: skipped
    ].join('\n');
    const entries = parseKnownHosts(text);
    assert.deepEqual(
      entries.map((e) => [e.line, e.marker, e.hosts, e.key.type]),
      [
        [3, undefined, 'master-1.example.com,10.0.0.1', aType],
        [4, undefined, '[10.0.0.2]:2222', 'ecdsa-sha2-nistp256'],
        [6, 'revoked', 'revoked.example.com', 'ssh-ed25519'],
      ],
    );
    assert.equal(lookupHost(entries, knownHostName('MASTER-1.example.com', 22)).keys.length, 1);
    assert.equal(lookupHost(entries, knownHostName('10.0.0.1', 22)).keys[0]?.line, 3);
    // A non-22 port is only found in its [host]:port form.
    assert.equal(lookupHost(entries, knownHostName('10.0.0.1', 2222)).keys.length, 0);
    assert.equal(lookupHost(entries, knownHostName('10.0.0.2', 2222)).keys[0]?.line, 4);
    assert.equal(lookupHost(entries, knownHostName('10.0.0.2', 22)).keys.length, 0);
    // @cert-authority lines are ignored entirely; @revoked ones come back separately.
    assert.deepEqual(lookupHost(entries, 'x.example.com'), { keys: [], revoked: [] });
    assert.equal(lookupHost(entries, 'revoked.example.com').revoked.length, 1);
    assert.equal(formatPublicKey(entries[0]!.key), `${aType} ${aB64}`);
  });
});

void test('known_hosts: wildcards and negation', () => {
  assert.equal(hostFieldMatches('*.example.com', 'a.example.com'), true);
  assert.equal(hostFieldMatches('*.example.com', 'example.com'), false);
  assert.equal(hostFieldMatches('master-?.example.com', 'master-1.example.com'), true);
  assert.equal(hostFieldMatches('master-?.example.com', 'master-10.example.com'), false);
  assert.equal(hostFieldMatches('!bad.example.com,*.example.com', 'good.example.com'), true);
  assert.equal(hostFieldMatches('!bad.example.com,*.example.com', 'bad.example.com'), false);
  assert.equal(hostFieldMatches('*.example.com,!bad.example.com', 'bad.example.com'), false);
  assert.equal(hostFieldMatches('!bad.example.com', 'good.example.com'), false); // negation alone never matches
  assert.equal(hostFieldMatches('[10.0.0.*]:2222', '[10.0.0.7]:2222'), true);
  assert.equal(hostFieldMatches('[10.0.0.*]:2222', '[10.0.0.7]:22'), false);
  assert.equal(hostFieldMatches('*', '[10.0.0.7]:2222'), true);
  assert.equal(hostFieldMatches('10.0.0.1', '10.0.0.10'), false);
  assert.equal(hostFieldMatches('Master.Example.COM', 'master.example.com'), true);
});

void test('known_hosts: hashed entries written by ssh-keygen -H match, others do not', { skip }, () => {
  withKeys((dir, key) => {
    const a = key('ed25519', 'a');
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `[127.0.0.1]:2222 ${a}\nmaster-1.example.com ${a}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    assert.equal(entries.length, 2);
    for (const e of entries) assert.match(e.hosts, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/);
    assert.equal(lookupHost(entries, '[127.0.0.1]:2222').keys.length, 1);
    assert.equal(lookupHost(entries, 'master-1.example.com').keys.length, 1);
    assert.equal(lookupHost(entries, '127.0.0.1').keys.length, 0);
    assert.equal(lookupHost(entries, '[127.0.0.1]:2223').keys.length, 0);
    // Our HMAC gives back exactly what ssh-keygen wrote, given its salt.
    const first = entries[0]!.hosts;
    const salt = Buffer.from(first.split('|')[2]!, 'base64');
    assert.equal(hashHostName('[127.0.0.1]:2222', salt), first);
    // And ssh-keygen finds a line we hashed ourselves.
    const ours = join(dir, 'ours');
    writeFileSync(ours, `${hashHostName('[10.1.2.3]:2200', Buffer.alloc(20, 7))} ${a}\n`);
    const found = execFileSync('ssh-keygen', ['-F', '[10.1.2.3]:2200', '-f', ours], { encoding: 'utf8' });
    assert.match(found, /found: line 1/);
  });
});

void test('fingerprintSha256 equals ssh-keygen -lf for ed25519, ecdsa and rsa keys', { skip }, () => {
  withKeys((dir, key) => {
    for (const type of ['ed25519', 'ecdsa', 'rsa']) {
      const line = key(type, type);
      const [fp] = keygenFingerprints(join(dir, `${type}.pub`));
      assert.equal(fingerprintSha256(line), fp, type);
      assert.equal(fingerprintSha256(parsePublicKeyLine(line)!), fp, type);
      assert.doesNotMatch(fingerprintSha256(line), /=$/);
    }
  });
});

void test('parsePublicKeyLine refuses garbage and type/blob disagreement', () => {
  assert.equal(parsePublicKeyLine(''), undefined);
  assert.equal(parsePublicKeyLine('ssh-ed25519'), undefined);
  assert.equal(parsePublicKeyLine('ssh-ed25519 !!!notbase64'), undefined);
  const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.alloc(36, 1)]);
  assert.equal(parsePublicKeyLine(`ssh-rsa ${blob.toString('base64')}`), undefined);
  assert.equal(parsePublicKeyLine(`ssh-ed25519 ${blob.toString('base64')} comment`)?.type, 'ssh-ed25519');
  assert.throws(() => fingerprintSha256('nonsense'), TypeError);
});

void test('shellQuote makes one word of anything a shell could misread', () => {
  const values = [
    '',
    'plain',
    "it's",
    'a b',
    '$(id)',
    '`id`',
    '\\',
    'x\ny',
    '"q"',
    '*',
    '-n',
    "'",
    "''",
    ';rm -rf /',
  ];
  for (const v of values) {
    const out = execFileSync('sh', ['-c', `printf '%s|' ${shellQuote(v)}`], { encoding: 'utf8' });
    assert.equal(out, `${v}|`, JSON.stringify(v));
  }
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('/etc/mesos/zk'), '/etc/mesos/zk');
  assert.throws(() => shellQuote('a\0b'), /NUL/);
});
