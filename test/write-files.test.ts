import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseWriteResult, writeFilesCommand, writeFilesInput } from '../src/apply/files.js';
import type { FileOp } from '../src/apply/files.js';
import { sha256 } from '../src/plan/plan.js';
import { loadTemplates } from '../src/templates.js';
import { tempDir } from './helpers/tmp.js';

const script = loadTemplates()['write-files.sh'] ?? '';
const me = { owner: String(process.getuid?.() ?? 0), group: String(process.getgid?.() ?? 0) };

function run(ops: FileOp[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile('sh', ['-c', writeFilesCommand(script)], { encoding: 'utf8' }, (err, stdout) =>
      resolve({ code: err === null ? 0 : Number(err.code ?? 1), stdout }),
    );
    child.stdin?.end(writeFilesInput(ops));
  });
}

void test('writes files with their mode, creates parents, replaces a symlink instead of writing through it', async () => {
  const dir = tempDir('meso-write-');
  const target = join(dir, 'package-example-myid');
  writeFileSync(target, 'package content\n');
  symlinkSync(target, join(dir, 'myid'));
  const tricky = 'line 1\nquotes \' " $HOME `x` \\ tab\t end\n';
  const ops: FileOp[] = [
    { op: 'write', path: join(dir, 'myid'), ...me, mode: 0o644, content: '12\n' },
    {
      op: 'write',
      path: join(dir, 'etc/mesos-slave/resources/ports(*)'),
      ...me,
      mode: 0o644,
      content: '[31000-32000]\n',
    },
    { op: 'write', path: join(dir, 'secret.json'), ...me, mode: 0o600, content: tricky },
    { op: 'write', path: join(dir, 'etc/mesos-master/?no-hostname_lookup'), ...me, mode: 0o644, content: '' },
    { op: 'mkdir', path: join(dir, 'var/lib/zk'), ...me, mode: 0o750 },
  ];
  const r = await run(ops);
  assert.equal(r.code, 0, r.stdout);
  const result = parseWriteResult(r.stdout);
  assert.equal(result.complete, true);
  assert.equal(readFileSync(join(dir, 'myid'), 'utf8'), '12\n');
  assert.equal(lstatSync(join(dir, 'myid')).isSymbolicLink(), false);
  assert.equal(readFileSync(target, 'utf8'), 'package content\n', 'the link target is untouched');
  assert.equal(readFileSync(join(dir, 'secret.json'), 'utf8'), tricky);
  assert.equal(statSync(join(dir, 'secret.json')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'etc/mesos-slave/resources')).mode & 0o777, 0o755);
  assert.equal(readFileSync(join(dir, 'etc/mesos-master/?no-hostname_lookup'), 'utf8'), '');
  assert.equal(statSync(join(dir, 'var/lib/zk')).mode & 0o777, 0o750);
  assert.equal(result.written.get(join(dir, 'secret.json')), sha256(tricky));
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('.meso.')),
    [],
    'no temporary file is left',
  );
});

void test('deletes files, and stops at the first failure saying where', async () => {
  const dir = tempDir('meso-write-');
  writeFileSync(join(dir, 'old'), 'x');
  writeFileSync(join(dir, 'blocker'), 'a file where a directory should be');
  const r = await run([
    { op: 'delete', path: join(dir, 'old') },
    { op: 'write', path: join(dir, 'blocker/child'), ...me, mode: 0o644, content: 'y' },
    { op: 'write', path: join(dir, 'never'), ...me, mode: 0o644, content: 'z' },
  ]);
  assert.notEqual(r.code, 0);
  const result = parseWriteResult(r.stdout);
  assert.deepEqual(result.deleted, [join(dir, 'old')]);
  assert.equal(result.failed?.path, join(dir, 'blocker/child'));
  assert.equal(result.complete, false);
  assert.throws(() => statSync(join(dir, 'never')));
});

void test('a path that could inject another request is refused before anything runs', () => {
  assert.throws(
    () => writeFilesInput([{ op: 'write', path: '/etc/a\nW\t/etc/shadow', ...me, mode: 0o644, content: '' }]),
    /cannot write/,
  );
  assert.throws(() => writeFilesInput([{ op: 'delete', path: '' }]), /cannot write/);
});
