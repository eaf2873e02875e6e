import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BOOT_WRAPPER } from '../src/providers/local/cgroups.js';
import { tempDir } from './helpers/tmp.js';

/** The local hosts' boot wrapper, with a stand-in for systemd-nspawn and no cgroups to join. */
const dir = tempDir('meso-boot-wrapper-');

void test('a host that reboots (exit 133) is booted again; any other exit ends the wrapper', () => {
  const count = join(dir, 'boots');
  writeFileSync(count, '');
  const nspawn = `echo boot >> ${count}; [ $(wc -l < ${count}) -ge 3 ] && exit 7; exit 133`;
  const r = spawnSync('sh', ['-c', BOOT_WRAPPER, 'meso-boot', '0', 'sh', '-c', nspawn], { encoding: 'utf8' });
  assert.equal(r.status, 7);
  assert.equal(readFileSync(count, 'utf8'), 'boot\nboot\nboot\n');
});

void test('SIGTERM reaches the host (it halts) and the wrapper exits with it, without booting again', async () => {
  const log = join(dir, 'term');
  writeFileSync(log, '');
  // Exits 133 on TERM, as a reboot would: the wrapper must not take it for one.
  const nspawn = `trap 'echo halted >> ${log}; exit 133' TERM; echo up >> ${log}; while :; do sleep 0.1; done`;
  const child = spawn('sh', ['-c', BOOT_WRAPPER, 'meso-boot', '0', 'sh', '-c', nspawn], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !readFileSync(log, 'utf8').includes('up'); i++)
    await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.equal(code, 133);
  assert.equal(readFileSync(log, 'utf8'), 'up\nhalted\n');
});
