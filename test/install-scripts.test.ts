// Runs the on-host software scripts (templates/install-packages.sh, unpack-archive.sh and the
// package/archive/image part of observe.sh) locally. The package tools are fakes: small bash scripts
// on a PATH of their own that log their argv and answer from data files the test writes.
//
// install-packages.sh writes /usr/sbin/policy-rc.d when a host has none, and looks for
// /etc/apt/sources.list.d/meso.sources. So the apt cases run inside `unshare --mount` (a private mount
// namespace) with a fresh tmpfs over both directories: nothing the script writes there reaches the
// real system, and each case decides whether policy-rc.d and meso.sources exist. Where no namespace can
// be made, the cases that do not depend on those files run directly, but only if the real
// /usr/sbin/policy-rc.d exists (then the script leaves it alone); the last test checks that the real
// files are as they were.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { observeCommand, observeInput, parseObservation } from '../src/observe/observe.js';
import { loadTemplates } from '../src/templates.js';

const templates = loadTemplates();
const INSTALL = templates['install-packages.sh'] ?? '';
const UNPACK = templates['unpack-archive.sh'] ?? '';
const OBSERVE = templates['observe.sh'] ?? '';

const POLICY = '/usr/sbin/policy-rc.d';
const MESO_SOURCES = '/etc/apt/sources.list.d/meso.sources';
const REAL_POLICY = existsSync(POLICY) ? readFileSync(POLICY, 'utf8') : null;
const REAL_SOURCES = existsSync(MESO_SOURCES);

function which(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(d, name);
    if (d !== '' && existsSync(p)) return p;
  }
  return undefined;
}
const BASH = which('bash') ?? '/bin/bash';
/** The real commands the scripts need besides the package tools; nothing else is on their PATH. */
const TOOLS = ['bash', 'cat', 'chmod', 'cut', 'grep', 'mktemp', 'rm', 'sha256sum', 'stat'];

/** The unshare flags that give a private mount namespace where tmpfs can go over both directories. */
function probeNamespace(): string[] | undefined {
  const probe = `mount -t tmpfs meso-probe /usr/sbin && mount -t tmpfs meso-probe /etc/apt/sources.list.d && ! test -e ${POLICY}`;
  for (const flags of [
    ['--mount', '--propagation', 'private'],
    ['--user', '--map-root-user', '--mount', '--propagation', 'private'],
  ]) {
    const r = spawnSync('unshare', [...flags, BASH, '-c', probe], { encoding: 'utf8' });
    if (r.status === 0) return flags;
  }
  return undefined;
}
const NS = probeNamespace();
const NS_SKIP =
  NS === undefined && 'needs `unshare --mount` with tmpfs over /usr/sbin and /etc/apt/sources.list.d';
/** Cases that only need the script to leave policy-rc.d alone can also run directly when it exists. */
const APT_SKIP =
  NS === undefined &&
  REAL_POLICY === null &&
  'needs `unshare --mount`, or an existing /usr/sbin/policy-rc.d (the script would create the real one)';

// Fakes: each logs "name<TAB>arg..." to $FAKE_DIR/log and answers from $FAKE_DIR/data.
const PRELUDE = `#!${BASH}
D=$FAKE_DIR/data
{ printf '%s' "\${0##*/}"; printf '\\t%s' "$@"; printf '\\n'; } >>"$FAKE_DIR/log"
`;

const FAKES: Record<string, string> = {
  // update fails on call N when data/update-fail-N exists (its text on stderr); install records whether
  // policy-rc.d exists (and its last line) and fails when data/install-fail exists.
  'apt-get': `
case $1 in
  update)
    n=1
    if [[ -e $D/updates ]]; then n=$(( $(<"$D/updates") + 1 )); fi
    printf '%s' "$n" >"$D/updates"
    if [[ -e $D/update-fail-$n ]]; then printf '%s\\n' "$(<"$D/update-fail-$n")" >&2; exit 100; fi ;;
  install)
    if [[ -e /usr/sbin/policy-rc.d ]]; then
      mapfile -t lines </usr/sbin/policy-rc.d; p="present \${lines[-1]}"
    else p=absent; fi
    printf 'policy-rc.d\\t%s\\n' "$p" >>"$FAKE_DIR/log"
    printf 'Reading package lists...\\n'
    if [[ -e $D/install-fail ]]; then printf '%s\\n' "$(<"$D/install-fail")" >&2; exit 100; fi ;;
esac
exit 0
`,
  'apt-mark': `[[ ! -e $D/apt-mark-fail ]]\n`,
  // dpkg-query -W -f=FORMAT -- NAME...: data/dpkg/NAME is "version<TAB>status".
  'dpkg-query': `
fmt=$2
shift 3
rc=0
for n in "$@"; do
  if [[ -e $D/dpkg/$n ]]; then
    IFS=$'\\t' read -r v s <"$D/dpkg/$n"
    if [[ $fmt == *Status* ]]; then printf '%s\\t%s\\t%s\\n' "$n" "$v" "$s"; else printf '%s' "$v"; fi
  else
    printf 'dpkg-query: no packages found matching %s\\n' "$n" >&2; rc=1
  fi
done
exit $rc
`,
  // data/unit/UNIT is "<is-enabled answer> <active|inactive>"; data/disable-fail-UNIT makes disable fail.
  systemctl: `
unit=\${@: -1}
state=''
if [[ -e $D/unit/$unit ]]; then state=$(<"$D/unit/$unit"); fi
read -r enabled active <<<"$state"
case $1 in
  is-enabled)
    if [[ -z $enabled ]]; then printf 'Failed to get unit file state for %s: No such file or directory\\n' "$unit" >&2; exit 1; fi
    printf '%s\\n' "$enabled"; [[ $enabled == enabled ]] ;;
  is-active) [[ $active == active ]] ;;
  disable) [[ ! -e $D/disable-fail-$unit ]] ;;
  *) exit 0 ;;
esac
`,
  // versionlock --help succeeds when data/versionlock exists; install --allowerasing is refused when
  // data/no-allowerasing exists (old yum); every install fails when data/install-fail exists.
  dnf: `
case $1 in
  versionlock)
    if [[ $2 == --help && ! -e $D/versionlock ]]; then printf 'No such command: versionlock.\\n' >&2; exit 1; fi ;;
  install)
    printf 'Dependencies resolved.\\n'
    if [[ $3 == --allowerasing && -e $D/no-allowerasing ]]; then printf 'no such option: --allowerasing\\n' >&2; exit 1; fi
    if [[ -e $D/install-fail ]]; then printf 'Error: Unable to find a match\\n' >&2; exit 1; fi ;;
esac
exit 0
`,
  // rpm -q --qf FORMAT -- NAME...: data/rpm/NAME is "version-release".
  rpm: `
fmt=$3
shift 4
rc=0
for n in "$@"; do
  if [[ -e $D/rpm/$n ]]; then
    if [[ $fmt == *NAME* ]]; then printf '%s\\t%s\\n' "$n" "$(<"$D/rpm/$n")"; else printf '%s' "$(<"$D/rpm/$n")"; fi
  else
    printf 'package %s is not installed\\n' "$n"; rc=1
  fi
done
exit $rc
`,
  // docker image inspect --format {{.Id}} -- IMAGE: data/docker-images has "image id" lines.
  docker: `
img=\${@: -1}
if [[ -e $D/docker-images ]]; then
  while read -r name id; do
    if [[ $name == "$img" ]]; then printf '%s\\n' "$id"; exit 0; fi
  done <"$D/docker-images"
fi
printf 'Error: No such image: %s\\n' "$img" >&2
exit 1
`,
};
FAKES['yum'] = FAKES['dnf']!;

interface Host {
  dir: string;
  /** The scripts' PATH: the fakes, then the few real tools. */
  path: string;
  /** TMPDIR for the script, to see what it leaves behind. */
  tmp: string;
  env: Record<string, string>;
}

/** A temp dir with the named fakes and data files (relative to data/). */
function fakeHost(t: TestContext, fakes: string[], data: Record<string, string> = {}): Host {
  const dir = mkdtempSync(join(tmpdir(), 'meso-install-scripts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['bin', 'tools', 'data', 'tmp']) mkdirSync(join(dir, sub));
  for (const name of fakes) {
    const body = FAKES[name];
    assert.ok(body !== undefined, `no fake ${name}`);
    writeFileSync(join(dir, 'bin', name), PRELUDE + body);
    chmodSync(join(dir, 'bin', name), 0o755);
  }
  for (const name of TOOLS) {
    const real = which(name);
    assert.ok(real !== undefined, `${name} is not on PATH`);
    symlinkSync(real, join(dir, 'tools', name));
  }
  for (const [rel, content] of Object.entries(data)) {
    mkdirSync(dirname(join(dir, 'data', rel)), { recursive: true });
    writeFileSync(join(dir, 'data', rel), content);
  }
  const path = `${join(dir, 'bin')}:${join(dir, 'tools')}`;
  const tmp = join(dir, 'tmp');
  return { dir, path, tmp, env: { PATH: path, FAKE_DIR: dir, TMPDIR: tmp, HOME: dir } };
}

/** Each fake call as [tool, ...argv]; apt-get install adds a ['policy-rc.d', 'present <last line>'|'absent'] row. */
function calls(host: Host): string[][] {
  const log = join(host.dir, 'log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}
const callsOf = (host: Host, tool: string): string[][] => calls(host).filter((c) => c[0] === tool);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** policy-rc.d right after the script ended: 'present <last line>' or 'absent'. */
  policyAfter: string;
  /** Whether the run was in a private mount namespace with fresh /usr/sbin and sources.list.d. */
  sandboxed: boolean;
}

function policyState(): string {
  if (!existsSync(POLICY)) return 'absent';
  const lines = readFileSync(POLICY, 'utf8').replace(/\n$/, '').split('\n');
  return `present ${lines[lines.length - 1] ?? ''}`;
}

/** Runs in the namespace: tmpfs over /usr/sbin and sources.list.d, optional files, then the script. */
const NS_WRAPPER = `set -e
mount -t tmpfs meso-test /usr/sbin
mount -t tmpfs meso-test /etc/apt/sources.list.d
if [ -n "\${SANDBOX_POLICY+x}" ]; then printf %s "$SANDBOX_POLICY" >${POLICY}; chmod 0755 ${POLICY}; fi
if [ -n "\${SANDBOX_SOURCES+x}" ]; then printf %s "$SANDBOX_SOURCES" >${MESO_SOURCES}; fi
unset SANDBOX_POLICY SANDBOX_SOURCES
rc=0
PATH=$SCRIPT_PATH "$BASH" -c "$1" meso-install || rc=$?
if [ -e ${POLICY} ]; then mapfile -t lines <${POLICY}; after="present \${lines[-1]}"; else after=absent; fi
printf '%s' "$after" >"$FAKE_DIR/policy-after"
exit $rc
`;

/** install-packages.sh on an apt host: sandboxed when possible, else directly (policy-rc.d exists). */
function runApt(host: Host, input: string, files: { policy?: string; sources?: string } = {}): Result {
  if (NS === undefined) {
    assert.ok(REAL_POLICY !== null && files.policy === undefined && files.sources === undefined);
    return { ...runDirect(host, input), policyAfter: policyState(), sandboxed: false };
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    SCRIPT_PATH: host.path,
    FAKE_DIR: host.dir,
    TMPDIR: host.tmp,
    HOME: host.dir,
  };
  if (files.policy !== undefined) env['SANDBOX_POLICY'] = files.policy;
  if (files.sources !== undefined) env['SANDBOX_SOURCES'] = files.sources;
  const r = spawnSync('unshare', [...NS, BASH, '-c', NS_WRAPPER, 'meso-test', INSTALL], {
    encoding: 'utf8',
    input,
    env,
  });
  const after = join(host.dir, 'policy-after');
  assert.ok(existsSync(after), `the namespace wrapper did not finish: ${r.stderr}`);
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    policyAfter: readFileSync(after, 'utf8'),
    sandboxed: true,
  };
}

/** install-packages.sh run as apply.ts runs it (bash -c SCRIPT meso-install), stdin the request. */
function runDirect(host: Host, input: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BASH, ['-c', INSTALL, 'meso-install'], { encoding: 'utf8', input, env: host.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lines = (...l: string[]): string => `${l.join('\n')}\n`;
const QUICK = [
  '-o',
  'Acquire::Retries=0',
  '-o',
  'Acquire::http::Timeout=20',
  '-o',
  'Acquire::https::Timeout=20',
];
const APT_INSTALL = [
  'apt-get',
  'install',
  '-y',
  '-q',
  '--no-install-recommends',
  '--allow-downgrades',
  '--allow-change-held-packages',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
  '--',
];

/** During apt-get install a policy-rc.d was in place; afterwards the host is as it was before. */
function assertPolicyCycle(host: Host, r: Result, before: string | undefined = undefined): void {
  const during = calls(host).filter((c) => c[0] === 'policy-rc.d');
  assert.ok(during.length > 0, 'apt-get install ran');
  if (!r.sandboxed) {
    // The real file existed: it is used as is and left alone.
    assert.deepEqual(during, [['policy-rc.d', policyState()]]);
    assert.equal(readFileSync(POLICY, 'utf8'), REAL_POLICY);
    return;
  }
  if (before === undefined) {
    assert.deepEqual(during, [['policy-rc.d', 'present exit 101']], 'meso made one that refuses starts');
    assert.equal(r.policyAfter, 'absent', 'and removed it again');
  } else {
    assert.deepEqual(during, [['policy-rc.d', before]], "the host's own policy-rc.d is used");
    assert.equal(r.policyAfter, before, 'and kept');
  }
}

// ---- install-packages.sh, apt ----

void test(
  'apt: pinned packages as pkg=ver, unpinned plain, one install call; holds only the H packages',
  { skip: APT_SKIP },
  (t) => {
    const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query', 'systemctl'], {
      'dpkg/mesos': '1.11.0-2.0.1.debian9\tinstall ok installed',
      'dpkg/zookeeperd': '3.4.13-2\tinstall ok installed',
      'dpkg/marathon': '1.4.8-1.0.660.debian9\tinstall ok installed',
    });
    const r = runApt(
      host,
      lines(
        'M\tapt',
        'I\tmesos\t1.11.0-2.0.1.debian9',
        'I\tzookeeperd\t-',
        'I\tmarathon\t1.4.8-1.0.660.debian9',
        'H\tmesos',
        'H\tmarathon',
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      calls(host).filter((c) => c[0] !== 'policy-rc.d'),
      [
        ['apt-get', 'update', '-qq', ...QUICK],
        [...APT_INSTALL, 'mesos=1.11.0-2.0.1.debian9', 'zookeeperd', 'marathon=1.4.8-1.0.660.debian9'],
        ['apt-mark', 'hold', '--', 'mesos', 'marathon'],
        ['dpkg-query', '-W', '-f=${Version}', '--', 'mesos'],
        ['dpkg-query', '-W', '-f=${Version}', '--', 'zookeeperd'],
        ['dpkg-query', '-W', '-f=${Version}', '--', 'marathon'],
      ],
    );
    assert.equal(
      r.stdout,
      lines(
        'P\tmesos\t1.11.0-2.0.1.debian9',
        'P\tzookeeperd\t3.4.13-2',
        'P\tmarathon\t1.4.8-1.0.660.debian9',
        'E\tdone',
      ),
      "apt-get's own output stays off stdout",
    );
    assert.match(r.stderr, /Reading package lists/);
    assertPolicyCycle(host, r);
    assert.deepEqual(readdirSync(host.tmp), [], 'no temporary file is left');
  },
);

void test(
  'apt: no H lines, no apt-mark; only H lines, no apt-get and no P lines',
  { skip: APT_SKIP },
  (t) => {
    const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query'], {
      'dpkg/mesos': '1.11.0-1\thold ok installed',
    });
    const r = runApt(host, lines('M\tapt', 'I\tmesos\t-'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(callsOf(host, 'apt-mark'), []);
    assert.deepEqual(callsOf(host, 'apt-get').at(-1), [...APT_INSTALL, 'mesos']);
    assert.equal(r.stdout, lines('P\tmesos\t1.11.0-1', 'E\tdone'));

    const holdOnly = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query']);
    const h = runApt(holdOnly, lines('M\tapt', 'H\tmesos'));
    assert.equal(h.code, 0, h.stderr);
    assert.deepEqual(calls(holdOnly), [['apt-mark', 'hold', '--', 'mesos']]);
    assert.equal(h.stdout, lines('E\tdone'));
  },
);

void test('apt and yum: U lines release holds and install nothing', { skip: APT_SKIP }, (t) => {
  const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query'], {
    'dpkg/zookeeper': '3.8.0-11\thold ok installed',
  });
  const r = runApt(host, lines('M\tapt', 'U\tzookeeper'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(callsOf(host, 'apt-get'), [], 'releasing a hold reinstalls nothing');
  assert.deepEqual(callsOf(host, 'apt-mark'), [['apt-mark', 'unhold', '--', 'zookeeper']]);
  assert.equal(r.stdout, lines('P\tzookeeper\t3.8.0-11', 'E\tdone'));

  const yum = fakeHost(t, ['dnf', 'rpm'], { versionlock: '', 'rpm/zookeeper': '3.4.14-1' });
  const y = runDirect(yum, lines('M\tyum', 'U\tzookeeper'));
  assert.equal(y.code, 0, y.stderr);
  assert.deepEqual(calls(yum).slice(0, 2), [
    ['dnf', 'versionlock', '--help'],
    ['dnf', 'versionlock', 'delete', '--', 'zookeeper'],
  ]);
  assert.ok(!calls(yum).some((c) => c[1] === 'install'));
});

void test(
  'apt: an existing policy-rc.d is used and kept, not replaced or removed',
  { skip: NS_SKIP },
  (t) => {
    const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query']);
    const own = "#!/bin/sh\n# the host admin's own\nexit 0\n";
    const r = runApt(host, lines('M\tapt', 'I\tmesos\t-'), { policy: own });
    assert.equal(r.code, 0, r.stderr);
    assertPolicyCycle(host, r, 'present exit 0');
  },
);

const LONG_ERROR = `E: Failed to fetch http://bad.example.org/debian/dists/bookworm/InRelease  Could not resolve 'bad.example.org' ${'x'.repeat(200)}`;

void test(
  'apt: a failing full update falls back to meso.sources alone, with a W line, then installs',
  { skip: NS_SKIP },
  (t) => {
    const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query'], {
      'update-fail-1': `Ign:1 http://bad.example.org/debian bookworm InRelease\n${LONG_ERROR}\nW: Some index files failed to download`,
      'dpkg/mesos': '1.11.0-1\tinstall ok installed',
    });
    const r = runApt(host, lines('M\tapt', 'I\tmesos\t1.11.0-1'), {
      sources: 'Types: deb\nURIs: http://repo.example/meso\nSuites: ./\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(callsOf(host, 'apt-get'), [
      ['apt-get', 'update', '-qq', ...QUICK],
      [
        'apt-get',
        'update',
        '-qq',
        ...QUICK,
        '-o',
        `Dir::Etc::SourceList=${MESO_SOURCES}`,
        '-o',
        'Dir::Etc::SourceParts=-',
        '-o',
        'APT::Get::List-Cleanup=0',
      ],
      [...APT_INSTALL, 'mesos=1.11.0-1'],
    ]);
    assert.equal(
      r.stdout,
      lines(
        `W\tapt-get update failed for some sources (${LONG_ERROR.slice(0, 160)}); using meso's repository alone`,
        'P\tmesos\t1.11.0-1',
        'E\tdone',
      ),
    );
    assertPolicyCycle(host, r);
  },
);

void test('apt: when the meso-only update fails too, exit 1 before installing', { skip: NS_SKIP }, (t) => {
  const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query'], {
    'update-fail-1': LONG_ERROR,
    'update-fail-2': 'E: The repository http://repo.example/meso ./ Release does not have a Release file.',
  });
  const r = runApt(host, lines('M\tapt', 'I\tmesos\t1.11.0-1', 'H\tmesos'), { sources: 'Types: deb\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /install-packages: apt-get update of meso's repository failed\n$/);
  assert.match(r.stderr, /does not have a Release file/, "the meso-only update's error is shown");
  assert.equal(callsOf(host, 'apt-get').length, 2, 'two updates, no install');
  assert.deepEqual(callsOf(host, 'apt-mark'), []);
  assert.doesNotMatch(r.stdout, /E\tdone/);
  assert.equal(r.policyAfter, 'absent', 'the policy-rc.d meso made is removed on failure too');
});

void test('apt: a failed meso-only update leaves no temporary file behind', { skip: NS_SKIP }, (t) => {
  const host = fakeHost(t, ['apt-get'], { 'update-fail-1': LONG_ERROR, 'update-fail-2': 'E: nope' });
  const r = runApt(host, lines('M\tapt', 'I\tmesos\t-'), { sources: 'Types: deb\n' });
  assert.equal(r.code, 1);
  assert.deepEqual(readdirSync(host.tmp), []);
});

void test(
  "apt: without meso.sources a failing update is fatal, with apt-get's errors on stderr",
  { skip: NS === undefined && (REAL_POLICY === null || REAL_SOURCES) && 'needs `unshare --mount`' },
  (t) => {
    const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query'], { 'update-fail-1': LONG_ERROR });
    const r = runApt(host, lines('M\tapt', 'I\tmesos\t1.11.0-1'));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `${LONG_ERROR}\ninstall-packages: apt-get update failed\n`);
    assert.equal(r.stdout, '', 'no W line: there is no fallback');
    assert.deepEqual(callsOf(host, 'apt-get'), [['apt-get', 'update', '-qq', ...QUICK]]);
    assert.deepEqual(readdirSync(host.tmp), [], 'the captured errors are removed');
    if (r.sandboxed) assert.equal(r.policyAfter, 'absent');
  },
);

void test(
  'apt: a failing apt-get install exits 1 naming the packages, holds nothing',
  { skip: APT_SKIP },
  (t) => {
    const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query', 'systemctl'], {
      'install-fail': "E: Version '9.9' for 'mesos' was not found",
      'unit/mesos-master.service': 'enabled active',
    });
    const r = runApt(
      host,
      lines('M\tapt', 'I\tmesos\t9.9', 'I\tzookeeperd\t-', 'H\tmesos', 'X\tmesos-master.service'),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /E: Version '9\.9' for 'mesos' was not found/);
    assert.match(r.stderr, /install-packages: apt-get install mesos=9\.9 zookeeperd failed\n$/);
    assert.equal(r.stdout, '');
    assert.deepEqual(
      calls(host).map((c) => c[0]),
      ['apt-get', 'apt-get', 'policy-rc.d'],
      'no apt-mark, dpkg-query or systemctl after the failure',
    );
    assertPolicyCycle(host, r);
  },
);

void test('M os picks apt when apt-get is on PATH, even next to dnf', { skip: APT_SKIP }, (t) => {
  const host = fakeHost(t, ['apt-get', 'apt-mark', 'dpkg-query', 'dnf', 'rpm'], {
    'dpkg/mesos': '1.11.0-1\tinstall ok installed',
  });
  const r = runApt(host, lines('M\tos', 'I\tmesos\t1.11.0-1'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(callsOf(host, 'dnf'), []);
  assert.deepEqual(callsOf(host, 'apt-get').at(-1), [...APT_INSTALL, 'mesos=1.11.0-1']);
  assert.equal(r.stdout, lines('P\tmesos\t1.11.0-1', 'E\tdone'));
});

// ---- install-packages.sh, dnf/yum and the common parts (no policy-rc.d: these run directly) ----

void test('yum: dnf preferred, versionlock delete before, install name-version, versionlock add for H', (t) => {
  const host = fakeHost(t, ['dnf', 'yum', 'rpm'], {
    versionlock: '',
    'rpm/mesos': '1.11.0-2.0.1.el7',
    'rpm/zookeeper': '3.4.14-1',
  });
  const r = runDirect(host, lines('M\tyum', 'I\tmesos\t1.11.0-2.0.1.el7', 'I\tzookeeper\t-', 'H\tmesos'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(calls(host), [
    ['dnf', 'versionlock', '--help'],
    ['dnf', 'versionlock', 'delete', '--', 'mesos'],
    ['dnf', 'versionlock', 'delete', '--', 'zookeeper'],
    ['dnf', 'install', '-y', '--allowerasing', '--', 'mesos-1.11.0-2.0.1.el7', 'zookeeper'],
    ['dnf', 'versionlock', 'add', '--', 'mesos'],
    ['rpm', '-q', '--qf', '%{VERSION}-%{RELEASE}', '--', 'mesos'],
    ['rpm', '-q', '--qf', '%{VERSION}-%{RELEASE}', '--', 'zookeeper'],
  ]);
  assert.equal(r.stdout, lines('P\tmesos\t1.11.0-2.0.1.el7', 'P\tzookeeper\t3.4.14-1', 'E\tdone'));
  assert.match(r.stderr, /Dependencies resolved/, "dnf's output goes to stderr");
});

void test('yum: no versionlock plugin warns (only when something is to be held); old yum without --allowerasing', (t) => {
  const host = fakeHost(t, ['yum', 'rpm'], { 'no-allowerasing': '', 'rpm/mesos': '1.11.0-1.el7' });
  const r = runDirect(host, lines('M\tos', 'I\tmesos\t1.11.0-1.el7', 'H\tmesos'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(calls(host), [
    ['yum', 'versionlock', '--help'],
    ['yum', 'install', '-y', '--allowerasing', '--', 'mesos-1.11.0-1.el7'],
    ['yum', 'install', '-y', '--', 'mesos-1.11.0-1.el7'],
    ['rpm', '-q', '--qf', '%{VERSION}-%{RELEASE}', '--', 'mesos'],
  ]);
  assert.equal(
    r.stdout,
    lines(
      'W\tno versionlock plugin: pinned versions are installed but not locked',
      'P\tmesos\t1.11.0-1.el7',
      'E\tdone',
    ),
  );

  const noHolds = fakeHost(t, ['yum', 'rpm'], { 'rpm/mesos': '1.11.0-1.el7' });
  const n = runDirect(noHolds, lines('M\tyum', 'I\tmesos\t-'));
  assert.equal(n.code, 0, n.stderr);
  assert.equal(n.stdout, lines('P\tmesos\t1.11.0-1.el7', 'E\tdone'));
});

void test('yum: M os with only dnf uses dnf; a failing install exits 1 naming the packages, locks nothing', (t) => {
  const host = fakeHost(t, ['dnf', 'rpm'], { versionlock: '', 'install-fail': '' });
  const r = runDirect(host, lines('M\tos', 'I\tmesos\t9.9', 'I\tzookeeper\t-', 'H\tmesos'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /install-packages: dnf install mesos-9\.9 zookeeper failed\n$/);
  assert.equal(r.stdout, '');
  assert.deepEqual(
    calls(host).map((c) => c.slice(0, 3).join(' ')),
    [
      'dnf versionlock --help',
      'dnf versionlock delete',
      'dnf versionlock delete',
      'dnf install -y',
      'dnf install -y',
    ],
  );
});

void test("yum: a package rpm does not know gets no version, not rpm's message", (t) => {
  const host = fakeHost(t, ['dnf', 'rpm'], { versionlock: '' });
  const r = runDirect(host, lines('M\tyum', 'I\tjava-headless\t-'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, lines('P\tjava-headless\t', 'E\tdone'));
});

void test('X units: enabled or active ones are disabled with --now, others left; a failure is a W line', (t) => {
  const host = fakeHost(t, ['dnf', 'rpm', 'systemctl'], {
    'unit/mesos-master.service': 'enabled inactive',
    'unit/mesos-slave.service': 'disabled active',
    'unit/marathon.service': 'disabled inactive',
    'unit/zookeeper.service': 'static inactive',
    'unit/stubborn.service': 'enabled active',
    'disable-fail-stubborn.service': '',
  });
  const r = runDirect(
    host,
    lines(
      'M\tyum',
      'X\tmesos-master.service',
      'X\tmesos-slave.service',
      'X\tmarathon.service',
      'X\tzookeeper.service',
      'X\tghost.service',
      'X\tstubborn.service',
    ),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    callsOf(host, 'systemctl').filter((c) => c[1] === 'disable'),
    [
      ['systemctl', 'disable', '--now', '--', 'mesos-master.service'],
      ['systemctl', 'disable', '--now', '--', 'mesos-slave.service'],
      ['systemctl', 'disable', '--now', '--', 'stubborn.service'],
    ],
  );
  assert.deepEqual(
    callsOf(host, 'systemctl').find((c) => c[1] === 'is-active'),
    ['systemctl', 'is-active', '--quiet', '--', 'mesos-slave.service'],
  );
  assert.equal(r.stdout, lines('W\tcould not stop and disable stubborn.service', 'E\tdone'));
  assert.deepEqual(callsOf(host, 'dnf'), [['dnf', 'versionlock', '--help']], 'nothing to install');
});

void test('X units on a host without systemctl: nothing to stop, still E done', (t) => {
  const host = fakeHost(t, ['dnf', 'rpm'], { 'rpm/mesos': '1.11.0-1' });
  const r = runDirect(host, lines('M\tyum', 'I\tmesos\t-', 'X\tmesos-master.service'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, lines('P\tmesos\t1.11.0-1', 'E\tdone'), 'no W line: no unit could be disabled');
});

void test('a manager the host lacks, or an unknown one, fails before anything runs', (t) => {
  const none = fakeHost(t, ['rpm', 'dpkg-query', 'systemctl']);
  for (const [manager, message] of [
    ['os', 'neither apt-get nor yum/dnf is on this host'],
    ['apt', 'install.method apt, but this host has no apt-get'],
    ['yum', 'install.method yum, but this host has neither dnf nor yum'],
    ['zypper', "unknown package manager 'zypper'"],
  ] as const) {
    const r = runDirect(none, lines(`M\t${manager}`, 'I\tmesos\t-', 'H\tmesos', 'X\tmesos-master.service'));
    assert.equal(r.code, 1, manager);
    assert.equal(r.stderr, `install-packages: ${message}\n`);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(calls(none), []);
});

// ---- unpack-archive.sh ----

interface Unpack {
  code: number | null;
  stdout: string;
  stderr: string;
}

function unpack(prefix: string, sha: string, tarball: Buffer): Unpack {
  const r = spawnSync(BASH, ['-c', UNPACK, 'meso-unpack', prefix, sha], {
    input: tarball,
    encoding: 'buffer',
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A tarball of `files` (relative paths; trailing '/' for an empty dir) made by real tar from `members` under a temp dir. */
function tarball(t: TestContext, files: Record<string, string>, members: string[], gzip = false): Buffer {
  const src = mkdtempSync(join(tmpdir(), 'meso-tar-src-'));
  t.after(() => rmSync(src, { recursive: true, force: true }));
  for (const [rel, content] of Object.entries(files)) {
    const p = join(src, rel);
    if (rel.endsWith('/')) mkdirSync(p, { recursive: true });
    else {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
      if (rel.includes('sbin/')) chmodSync(p, 0o755);
    }
  }
  const r = spawnSync('tar', ['-C', src, gzip ? '-czf' : '-cf', '-', ...members], { encoding: 'buffer' });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

/** Every path under dir (relative, sorted), with file contents. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        out[`${r}/`] = '';
        walk(r);
      } else out[r] = readFileSync(join(dir, r), 'utf8');
    }
  };
  walk('');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function workDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'meso-unpack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Nothing but PREFIX itself is left in its parent (no PREFIX.meso-* work dirs). */
function assertNoLeftovers(prefix: string, others: string[] = []): void {
  assert.deepEqual(
    readdirSync(dirname(prefix)).sort(),
    [...(existsSync(prefix) ? [prefix.slice(dirname(prefix).length + 1)] : []), ...others].sort(),
  );
}

const MESOS = {
  'mesos-1.11.2/sbin/mesos-master': 'master binary\n',
  'mesos-1.11.2/sbin/mesos-agent': 'agent binary\n',
  'mesos-1.11.2/lib/libmesos-1.11.2.so': 'library\n',
};

void test('unpack: one top directory (gzipped) is stripped; the sha is recorded; PREFIX is 0755', (t) => {
  const dir = workDir(t);
  const prefix = join(dir, 'opt', 'mesos');
  const tgz = tarball(t, MESOS, ['mesos-1.11.2'], true);
  const r = unpack(prefix, sha256(tgz), tgz);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `OK\t${sha256(tgz)}\n`);
  assert.deepEqual(tree(prefix), {
    '.meso-archive.sha256': `${sha256(tgz)}\n`,
    'lib/': '',
    'lib/libmesos-1.11.2.so': 'library\n',
    'sbin/': '',
    'sbin/mesos-agent': 'agent binary\n',
    'sbin/mesos-master': 'master binary\n',
  });
  assert.equal(statSync(prefix).mode & 0o777, 0o755);
  assert.equal(
    statSync(join(prefix, 'sbin/mesos-master')).mode & 0o111,
    0o111,
    'modes from the tarball are kept',
  );
  assertNoLeftovers(prefix);
});

void test('unpack: a flat tarball (sbin/, lib/ at the top, or only bin/) is unpacked as is', (t) => {
  const dir = workDir(t);
  const prefix = join(dir, 'mesos');
  const flat = tarball(t, { 'sbin/mesos-master': 'm\n', 'lib/libmesos.so': 'l\n' }, ['sbin', 'lib']);
  const r = unpack(prefix, sha256(flat), flat);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(Object.keys(tree(prefix)), [
    '.meso-archive.sha256',
    'lib/',
    'lib/libmesos.so',
    'sbin/',
    'sbin/mesos-master',
  ]);

  const onlyBin = tarball(t, { 'bin/marathon': 'run\n', 'bin/lib/x.jar': 'jar\n' }, ['bin']);
  const prefix2 = join(dir, 'marathon');
  const r2 = unpack(prefix2, sha256(onlyBin), onlyBin);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(Object.keys(tree(prefix2)), [
    '.meso-archive.sha256',
    'bin/',
    'bin/lib/',
    'bin/lib/x.jar',
    'bin/marathon',
  ]);

  const onlySbin = tarball(t, { 'sbin/mesos-agent': 'a\n' }, ['sbin']);
  const prefix4 = join(dir, 'agent');
  const r4 = unpack(prefix4, sha256(onlySbin), onlySbin);
  assert.equal(r4.code, 0, r4.stderr);
  assert.deepEqual(Object.keys(tree(prefix4)), ['.meso-archive.sha256', 'sbin/', 'sbin/mesos-agent']);

  // tar -C dir -cf - . : every member starts with ./
  const dotted = tarball(t, { 'sbin/mesos-master': 'm\n', 'lib/libmesos.so': 'l\n' }, ['.']);
  const prefix3 = join(dir, 'dotted');
  const r3 = unpack(prefix3, sha256(dotted), dotted);
  assert.equal(r3.code, 0, r3.stderr);
  assert.deepEqual(Object.keys(tree(prefix3)), [
    '.meso-archive.sha256',
    'lib/',
    'lib/libmesos.so',
    'sbin/',
    'sbin/mesos-master',
  ]);
  assertNoLeftovers(prefix, ['marathon', 'agent', 'dotted']);
});

void test('unpack: one top directory is stripped also when members start with ./', (t) => {
  const dir = workDir(t);
  const prefix = join(dir, 'mesos');
  const tgz = tarball(t, MESOS, ['./mesos-1.11.2'], true);
  const r = unpack(prefix, sha256(tgz), tgz);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(prefix, 'sbin/mesos-master')), JSON.stringify(Object.keys(tree(prefix))));
});

void test('unpack: PREFIX is 0755 also under umask 077', (t) => {
  const dir = workDir(t);
  const prefix = join(dir, 'mesos');
  const tar = tarball(t, MESOS, ['mesos-1.11.2']);
  const r = spawnSync(
    BASH,
    ['-c', 'umask 077; exec "$BASH" -c "$0" meso-unpack "$@"', UNPACK, prefix, sha256(tar)],
    {
      input: tar,
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(prefix).mode & 0o777, 0o755);
});

void test('unpack: a wrong sha256 exits 1 naming both sums and leaves PREFIX as it was', (t) => {
  const dir = workDir(t);
  const prefix = join(dir, 'mesos');
  const first = tarball(t, MESOS, ['mesos-1.11.2']);
  assert.equal(unpack(prefix, sha256(first), first).code, 0);
  const before = tree(prefix);
  const other = tarball(t, { 'mesos-1.12.0/sbin/mesos-master': 'new\n' }, ['mesos-1.12.0']);
  const wrong = 'a'.repeat(64);
  const r = unpack(prefix, wrong, other);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `unpack-archive: the upload has sha256 ${sha256(other)}, not ${wrong}\n`);
  assert.deepEqual(tree(prefix), before);
  assertNoLeftovers(prefix);
});

void test('unpack: a right sha256 of something that is not a tarball fails and leaves PREFIX as it was', (t) => {
  const dir = workDir(t);
  const prefix = join(dir, 'mesos');
  const first = tarball(t, MESOS, ['mesos-1.11.2']);
  assert.equal(unpack(prefix, sha256(first), first).code, 0);
  const before = tree(prefix);
  const junk = Buffer.from('this is not a tar archive\n'.repeat(100));
  const r = unpack(prefix, sha256(junk), junk);
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  assert.deepEqual(tree(prefix), before);
  assertNoLeftovers(prefix);
});

void test('unpack: a second archive replaces the old tree entirely', (t) => {
  const dir = workDir(t);
  const prefix = join(dir, 'mesos');
  const first = tarball(t, { ...MESOS, 'mesos-1.11.2/share/only-in-old': 'old\n' }, ['mesos-1.11.2']);
  assert.equal(unpack(prefix, sha256(first), first).code, 0);
  assert.ok(existsSync(join(prefix, 'share/only-in-old')));
  const second = tarball(t, { 'mesos-1.12.0/sbin/mesos-master': 'new master\n' }, ['mesos-1.12.0'], true);
  const r = unpack(prefix, sha256(second), second);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `OK\t${sha256(second)}\n`);
  assert.deepEqual(tree(prefix), {
    '.meso-archive.sha256': `${sha256(second)}\n`,
    'sbin/': '',
    'sbin/mesos-master': 'new master\n',
  });
  assertNoLeftovers(prefix);
});

void test('unpack: a relative, empty or / PREFIX is refused with exit 2, before reading anything', (t) => {
  const dir = workDir(t);
  const tar = tarball(t, MESOS, ['mesos-1.11.2']);
  for (const prefix of ['opt/mesos', './mesos', '', '/']) {
    const r = spawnSync(BASH, ['-c', UNPACK, 'meso-unpack', prefix, sha256(tar)], {
      input: tar,
      encoding: 'utf8',
      cwd: dir,
    });
    assert.equal(r.status, 2, prefix);
    assert.equal(r.stderr, `unpack-archive: bad prefix ${prefix}\n`);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing was made relative to the working directory');
});

void test('unpack: a PREFIX with a trailing slash (the spec allows it) unpacks like one without', (t) => {
  const dir = workDir(t);
  const tar = tarball(t, MESOS, ['mesos-1.11.2']);
  const first = unpack(`${join(dir, 'mesos')}/`, sha256(tar), tar);
  assert.equal(first.code, 0, first.stderr);
  const again = unpack(`${join(dir, 'mesos')}/`, sha256(tar), tar);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(existsSync(join(dir, 'mesos/sbin/mesos-master')));
  assertNoLeftovers(join(dir, 'mesos'));
});

// ---- observe.sh: P, A and D lines ----

function observe(host: Host, input: string): string {
  const r = spawnSync('/bin/sh', ['-c', observeCommand(OBSERVE)], { encoding: 'utf8', input, env: host.env });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

void test('observe: packages from one dpkg-query call, held from "hold ok installed", config-files is not installed', (t) => {
  const host = fakeHost(t, ['dpkg-query', 'rpm'], {
    'dpkg/mesos': '1.11.0-2.0.1.debian9\thold ok installed',
    'dpkg/zookeeperd': '3.4.13-2\tinstall ok installed',
    'dpkg/marathon': '1.4.8-1\tdeinstall ok config-files',
    'dpkg/chronos': '2.5.1\thold ok config-files',
  });
  const packages = ['mesos', 'zookeeperd', 'marathon', 'chronos', 'ghost'];
  const out = observe(host, observeInput({ paths: [], units: [], packages }));
  assert.deepEqual(
    out.split('\n').filter((l) => l.startsWith('P\t')),
    [
      'P\tmesos\t1.11.0-2.0.1.debian9\t1',
      'P\tzookeeperd\t3.4.13-2\t0',
      'P\tmarathon\t-\t0',
      'P\tchronos\t-\t0',
      'P\tghost\t-\t0',
    ],
  );
  assert.deepEqual(
    calls(host),
    [['dpkg-query', '-W', '-f=${Package}\\t${Version}\\t${Status}\\n', '--', ...packages]],
    'dpkg-query is preferred over rpm, one call for all',
  );
  const obs = parseObservation(out);
  assert.deepEqual(
    [...obs.software],
    [
      ['package:mesos', { version: '1.11.0-2.0.1.debian9', held: true }],
      ['package:zookeeperd', { version: '3.4.13-2', held: false }],
      ['package:marathon', { version: null, held: false }],
      ['package:chronos', { version: null, held: false }],
      ['package:ghost', { version: null, held: false }],
    ],
  );
  assert.ok(out.endsWith('E\tdone\n'));
});

void test('observe: packages from rpm where there is no dpkg-query; "is not installed" is no version', (t) => {
  const host = fakeHost(t, ['rpm'], { 'rpm/mesos': '1.11.0-2.0.1.el7', 'rpm/zookeeper': '3.4.14-1' });
  const out = observe(
    host,
    observeInput({ paths: [], units: [], packages: ['mesos', 'ghost', 'zookeeper'] }),
  );
  assert.deepEqual(calls(host), [
    ['rpm', '-q', '--qf', '%{NAME}\\t%{VERSION}-%{RELEASE}\\n', '--', 'mesos', 'ghost', 'zookeeper'],
  ]);
  const obs = parseObservation(out);
  assert.equal(obs.software.get('package:mesos')?.version, '1.11.0-2.0.1.el7');
  assert.equal(obs.software.get('package:zookeeper')?.version, '3.4.14-1');
  assert.equal(obs.software.get('package:ghost')?.version, null);
  // held comes from the real /etc/dnf or /etc/yum versionlock.list, which this test cannot fake.
  if (
    !existsSync('/etc/dnf/plugins/versionlock.list') &&
    !existsSync('/etc/yum/pluginconf.d/versionlock.list')
  )
    assert.equal(obs.software.get('package:mesos')?.held, false);
});

void test('observe: archive sha from PREFIX/.meso-archive.sha256 (as unpack-archive wrote it), else -', (t) => {
  const host = fakeHost(t, []);
  const dir = workDir(t);
  const prefix = join(dir, 'opt', 'mesos');
  const tgz = tarball(t, MESOS, ['mesos-1.11.2'], true);
  assert.equal(unpack(prefix, sha256(tgz), tgz).code, 0);
  const bare = join(dir, 'bare');
  mkdirSync(bare);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, '.meso-archive.sha256'), '');
  const archives = [prefix, bare, empty, join(dir, 'missing')];
  const out = observe(host, observeInput({ paths: [], units: [], archives }));
  assert.deepEqual(
    out.split('\n').filter((l) => l.startsWith('A\t')),
    [`A\t${prefix}\t${sha256(tgz)}`, `A\t${bare}\t-`, `A\t${empty}\t-`, `A\t${join(dir, 'missing')}\t-`],
  );
  const obs = parseObservation(out);
  assert.deepEqual(obs.software.get(`archive:${prefix}`), { version: sha256(tgz), held: false });
  assert.deepEqual(obs.software.get(`archive:${bare}`), { version: null, held: false });
});

void test('observe: image ids from docker image inspect; no docker on PATH gives -', (t) => {
  const images = ['mesosphere/marathon:v1.11.24', 'zookeeper:3.8'];
  const without = fakeHost(t, ['dpkg-query']);
  const none = observe(without, observeInput({ paths: [], units: [], images, packages: ['mesos'] }));
  assert.deepEqual(
    none.split('\n').filter((l) => l.startsWith('D\t')),
    ['D\tmesosphere/marathon:v1.11.24\t-', 'D\tzookeeper:3.8\t-'],
  );
  assert.equal(parseObservation(none).software.get('image:zookeeper:3.8')?.version, null);

  const id = `sha256:${'b'.repeat(64)}`;
  const withDocker = fakeHost(t, ['docker'], { 'docker-images': `mesosphere/marathon:v1.11.24 ${id}\n` });
  const out = observe(withDocker, observeInput({ paths: [], units: [], images }));
  assert.deepEqual(
    out.split('\n').filter((l) => l.startsWith('D\t')),
    [`D\tmesosphere/marathon:v1.11.24\t${id}`, 'D\tzookeeper:3.8\t-'],
  );
  assert.deepEqual(calls(withDocker)[0], [
    'docker',
    'image',
    'inspect',
    '--format',
    '{{.Id}}',
    '--',
    images[0],
  ]);
  const obs = parseObservation(out);
  assert.deepEqual(obs.software.get('image:mesosphere/marathon:v1.11.24'), { version: id, held: false });
});

// Runs last (tests in a file run in order): the sandboxed cases must not have reached the real files.
void test('the real /usr/sbin/policy-rc.d and meso.sources are as they were', () => {
  assert.equal(existsSync(POLICY) ? readFileSync(POLICY, 'utf8') : null, REAL_POLICY);
  assert.equal(existsSync(MESO_SOURCES), REAL_SOURCES);
});
