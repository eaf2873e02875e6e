// `npm test`: every test file, in two streams. The longest lab suite (test/mesos-real, about 9 min),
// cli-local and the operator-command lab suites (cli-target, cli-ops, cli-endpoints: 1-3 min each)
// run beside the others instead of after them. Lab suites mostly wait on services, so on 2 cores the
// two streams overlap well. Their subnets are their own (freeSubnet), as are their temp directories.
// Their output is printed once they end, so neither stream's lines are interleaved.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'dist', 'test');
const APART = /^(mesos-real|cli-target|cli-ops|cli-endpoints|cli-local|addons-lab)\.test\.js$/;
const extra = process.argv.slice(2);

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.test.js'))
  .sort();

function stream(list: string[], buffered: boolean): Promise<{ code: number; out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (list.length === 0) return resolve({ code: 0, out: '', ms: 0 });
    const child = spawn(
      process.execPath,
      ['--test', '--test-reporter=spec', ...extra, ...list.map((f) => join(DIR, f))],
      { stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit' },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, out, ms: Date.now() - t0 }));
  });
}

// addons-lab (its first run builds a lab image) goes last, after mesos-real: mesos-real then starts
// when it did before the add-on suite existed, beside the same files of the other stream.
const LAST = /^addons-lab\.test\.js$/;
const apart = files.filter((f) => APART.test(f)).sort((a, b) => Number(LAST.test(a)) - Number(LAST.test(b)));
const [rest, alone] = await Promise.all([
  stream(
    files.filter((f) => !APART.test(f)),
    false,
  ),
  stream(apart, true),
]);
process.stdout.write(`\n# ${apart.join(', ')} (run beside the others):\n${alone.out}`);
process.stdout.write(
  `\n# test streams: ${files.length - apart.length} files exited ${rest.code} after ${(rest.ms / 1000).toFixed(0)} s; ${apart.join(', ')} exited ${alone.code} after ${(alone.ms / 1000).toFixed(0)} s\n`,
);
process.exitCode = rest.code !== 0 || alone.code !== 0 ? 1 : 0;
