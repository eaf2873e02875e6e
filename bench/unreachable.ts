// npm run bench:unreachable: how long `meso plan` takes when many agents do not answer. One live
// master (a throwaway sshd on loopback; the observation only reads this machine) and N dead agents
// of two kinds: silent (a listener that accepts and never speaks, like a blackholed host: each
// attempt waits for the handshake timeout) and refused (nothing listens: fails at once, retried).
// The floor is the live plan plus ssh.connectTimeoutSeconds, the bound meso promises whatever N is;
// without it, connecting would cost N / parallelism x attempts x timeout. Needs root (sshd). A
// benchmark, not a test: it prints figures and exits 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startSshd } from '../test/helpers/sshd.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MESO = join(ROOT, 'bin', 'meso.js');
const COUNTS = (process.env['BENCH_DEAD'] ?? '0,50,200').split(',').filter(Boolean).map(Number);
const TIMEOUT_S = 3;

function plan(file: string): Promise<{ ms: number; code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [MESO, 'plan', file, '--detailed-exitcode'], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - t0, code: code ?? -1, stdout, stderr }));
  });
}

/** A listener on each address that accepts connections and never says a word. */
async function silent(addresses: string[], port: number): Promise<() => void> {
  const sockets: Socket[] = [];
  const servers: Server[] = [];
  for (const a of addresses) {
    const srv = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(port, a, r));
    servers.push(srv);
  }
  return () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
  };
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const sshd = await startSshd();
  const dir = mkdtempSync(join(tmpdir(), 'meso-bench-unreachable-'));
  const port = 40_000 + (process.pid % 10_000);
  try {
    const spec = (dead: number, kind: 'silent' | 'refused'): string => {
      const net = kind === 'silent' ? 1 : 2;
      const agents = Array.from({ length: dead }, (_, i) => {
        const a = `127.0.${net + Math.floor(i / 250) * 2}.${(i % 250) + 1}`;
        return `      - { name: d${i + 1}, address: ${a}, sshPort: ${port} }`;
      });
      return [
        'apiVersion: meso/v1',
        'kind: Cluster',
        'name: unreachable-bench',
        'provider: static',
        `ssh: { user: root, privateKeyPath: ${sshd.clientKeyPath}, hostKeyPolicy: accept-new, connectTimeoutSeconds: ${TIMEOUT_S} }`,
        'install: { method: none, missing: warn }',
        'masters:',
        '  hosts:',
        `    - { name: live, address: 127.0.0.1, sshPort: ${sshd.port} }`,
        ...(dead === 0
          ? []
          : ['agents:', '  - group: dead', '    maxUnreachable: 100%', '    hosts:', ...agents]),
        '',
      ].join('\n');
    };
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, spec(0, 'silent'));
    await plan(file); // pins the host key, warms the caches
    const base = await plan(file);
    console.log(`live master alone: meso plan ${sec(base.ms)} (exit ${base.code})`);
    console.log(`ssh.connectTimeoutSeconds: ${TIMEOUT_S} s; floor = live plan + ${TIMEOUT_S} s`);
    for (const kind of ['silent', 'refused'] as const) {
      for (const dead of COUNTS.filter((n) => n > 0)) {
        const addresses = Array.from(
          { length: dead },
          (_, i) => `127.0.${(kind === 'silent' ? 1 : 2) + Math.floor(i / 250) * 2}.${(i % 250) + 1}`,
        );
        const stop = kind === 'silent' ? await silent(addresses, port) : () => undefined;
        try {
          writeFileSync(file, spec(dead, kind));
          const r = await plan(file);
          const skipped = (r.stdout.match(/^! host\//gm) ?? []).length;
          const floor = base.ms + TIMEOUT_S * 1000;
          const naive = Math.ceil(dead / 64) * 4 * TIMEOUT_S * 1000;
          console.log(
            `${dead} ${kind} agents: meso plan ${sec(r.ms)} (exit ${r.code}, ${skipped} skipped); floor ${sec(floor)}; ratio ${(r.ms / floor).toFixed(2)}` +
              (kind === 'silent'
                ? `; one-by-one retries (64 at a time, 4 attempts) would be ~${sec(naive)}`
                : ''),
          );
          if (skipped !== dead) console.log(r.stderr.slice(-1000));
        } finally {
          stop();
        }
      }
    }
  } finally {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
