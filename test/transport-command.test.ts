// The line sshd runs: the command stays one quoted word, sudo and the host-side timeout wrap it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { remoteCommandLine } from '../src/transport/ssh.js';

void test('remoteCommandLine wraps the fixed command as one sh -c argument', () => {
  const cmd = `printf '%s\\n' "it's $(cat)"`;
  assert.equal(remoteCommandLine(cmd, { sudo: false, timeoutMs: 0, killGraceMs: 1000 }), cmd);
  assert.equal(
    remoteCommandLine(cmd, { sudo: true, timeoutMs: 0, killGraceMs: 1000 }),
    `sudo -n -- sh -c 'printf '\\''%s\\n'\\'' "it'\\''s $(cat)"'`,
  );
  assert.equal(
    remoteCommandLine('systemctl restart mesos-master', { sudo: true, timeoutMs: 30_000, killGraceMs: 1000 }),
    `sudo -n -- timeout -k 1s 30s sh -c 'systemctl restart mesos-master'`,
  );
  // What the remote shell gets back is the command, byte for byte, with stdin passed through.
  const line = remoteCommandLine(cmd, { sudo: false, timeoutMs: 5000, killGraceMs: 500 });
  assert.equal(
    execFileSync('sh', ['-c', line], { input: '$(id) `x`', encoding: 'utf8' }),
    "it's $(id) `x`\n",
  );
});
