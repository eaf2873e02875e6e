import { writeFilesCommand } from '../../src/apply/files.js';
import { observeCommand } from '../../src/observe/observe.js';
import type { ZkMode } from '../../src/observe/observe.js';
import type { ObservedHost } from '../../src/plan/plan.js';
import { sha256 } from '../../src/plan/plan.js';
import type { ServiceName } from '../../src/render/types.js';
import { loadTemplates } from '../../src/templates.js';
import type { ExecResult, HostConnection } from '../../src/transport/host.js';

const templates = loadTemplates();
const WRITE = writeFilesCommand(templates['write-files.sh'] ?? '');
const OBSERVE = observeCommand(templates['observe.sh'] ?? '');

interface FakeFile {
  content: string;
  owner: string;
  group: string;
  mode: number;
}

/**
 * A host behind the transport port that understands exactly the commands meso sends: the
 * write-files protocol, systemctl daemon-reload/enable and start/restart. Everything it receives is
 * logged so tests can check what crossed the wire.
 */
export class FakeHost implements HostConnection {
  readonly files = new Map<string, FakeFile>();
  readonly dirs = new Set<string>();
  readonly active = new Set<ServiceName>();
  readonly enabled = new Set<string>();
  readonly commands: string[] = [];
  readonly stdins: string[] = [];
  zkMode: ZkMode = 'down';
  /** Make the write of this path fail, as a full disk or a read-only mount would. */
  failPath: string | undefined;

  constructor(readonly name: string) {}

  exec(command: string, opts: { stdin?: string } = {}): Promise<ExecResult> {
    this.commands.push(command);
    this.stdins.push(opts.stdin ?? '');
    if (command === WRITE) return Promise.resolve(this.write(opts.stdin ?? ''));
    if (command === OBSERVE) return Promise.resolve(this.observe(opts.stdin ?? ''));
    const units = /^sh -c .* meso-units (.*)$/.exec(command);
    if (units !== null) {
      const args = (units[1] ?? '').split(' ').map((a) => a.replace(/^'|'$/g, ''));
      for (const u of args.slice(1)) this.enabled.add(u);
      return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    }
    const off = /^systemctl disable --now -- '([a-z-]+)\.service'$/.exec(command);
    if (off !== null) {
      this.active.delete(off[1] as ServiceName);
      this.enabled.delete(`${off[1]}.service`);
      return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    }
    const svc = /^systemctl (start|restart) -- '([a-z-]+)\.service'$/.exec(command);
    if (svc !== null) {
      this.active.add(svc[2] as ServiceName);
      return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    }
    return Promise.resolve({
      code: 127,
      stdout: '',
      stderr: `fake host: unknown command ${command.slice(0, 40)}`,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private observe(stdin: string): ExecResult {
    const out: string[] = [];
    for (const line of stdin.split('\n')) {
      const [kind, value = ''] = line.split('\t');
      if (kind === 'F') {
        const f = this.files.get(value);
        out.push(
          f === undefined
            ? `F\t${value}\t-`
            : `F\t${value}\tf\t${sha256(f.content)}\t${f.owner}\t${f.group}\t${f.mode.toString(8)}`,
        );
      } else if (kind === 'U') {
        const name = value.replace(/\.service$/, '');
        out.push(`S\tId=${value}`, `S\tActiveState=${this.active.has(name) ? 'active' : 'inactive'}`, 'S\t');
      } else if (kind === 'Z') out.push(`Z\t${this.zkMode}`);
    }
    out.push('E\tdone');
    return { code: 0, stdout: `${out.join('\n')}\n`, stderr: '' };
  }

  private write(stdin: string): ExecResult {
    const out: string[] = [];
    for (const line of stdin.split('\n')) {
      const [kind, path = '', owner = '', group = '', mode = '', data = ''] = line.split('\t');
      if (kind === 'M') {
        this.dirs.add(path);
        out.push(`DIR\t${path}`);
      } else if (kind === 'W') {
        if (path === this.failPath) {
          out.push(`FAIL\t${path}\trename`);
          return {
            code: 1,
            stdout: `${out.join('\n')}\n`,
            stderr: 'mv: cannot move: No space left on device',
          };
        }
        const content = Buffer.from(data, 'base64').toString('utf8');
        this.files.set(path, { content, owner, group, mode: parseInt(mode, 8) });
        out.push(`OK\t${path}\t${sha256(content)}`);
      } else if (kind === 'D') {
        this.files.delete(path);
        out.push(`DELETED\t${path}`);
      }
    }
    out.push('E\tdone');
    return { code: 0, stdout: `${out.join('\n')}\n`, stderr: '' };
  }

  /** What an observation of this host would report, for planning against it. */
  observed(managed: Iterable<string> = this.files.keys()): ObservedHost {
    return {
      files: new Map(
        [...this.files].map(([p, f]) => [
          p,
          { sha256: sha256(f.content), owner: f.owner, group: f.group, mode: f.mode },
        ]),
      ),
      managed: new Set(managed),
      activeServices: new Set(this.active),
    };
  }
}
