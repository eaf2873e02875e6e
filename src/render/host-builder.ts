// Building one host's files and directories, and the small helpers the renderers share.
import type { Flags, FlagValue } from '../spec/types.js';
import { MANAGED, valueFile } from './text.js';
import { SERVICE_ORDER } from './types.js';
import type { Assets, DesiredDirectory, DesiredFile, ServiceName } from './types.js';

/** Builds one host's files; every `add` names the services the file feeds. */
export class HostBuilder {
  readonly files = new Map<string, DesiredFile>();
  readonly directories = new Map<string, DesiredDirectory>();

  add(path: string, content: string, feeds: ServiceName[], opts: Partial<DesiredFile> = {}): void {
    const prior = this.files.get(path);
    if (prior !== undefined) {
      // Shared files (/etc/mesos/zk on a master that is also an agent) must agree.
      if (prior.content !== content) throw new Error(`meso renders ${path} twice with different content`);
      prior.feeds = [...new Set([...prior.feeds, ...feeds])].sort(byServiceOrder);
      return;
    }
    this.files.set(path, {
      path,
      content,
      owner: 'root',
      group: 'root',
      mode: 0o644,
      sensitive: false,
      feeds,
      ...opts,
    });
  }

  dir(path: string, owner = 'root', mode = 0o755, data = false): void {
    if (!this.directories.has(path)) this.directories.set(path, { path, owner, group: owner, mode, data });
  }
}

// Core services in start order, then add-ons by name.
const rank = (s: ServiceName): number => {
  const i = (SERVICE_ORDER as readonly string[]).indexOf(s);
  return i < 0 ? SERVICE_ORDER.length : i;
};
const byServiceOrder = (a: ServiceName, b: ServiceName): number =>
  rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);

/** Flags as files under /etc/mesos-master or /etc/mesos-slave: `name` holds the value, `?name`/`?no-name` a boolean. */
export function flagFiles(
  b: HostBuilder,
  dir: string,
  flags: ReadonlyMap<string, FlagValue>,
  feeds: ServiceName[],
): void {
  for (const [name, value] of flags) {
    if (typeof value === 'boolean') b.add(`${dir}/?${value ? '' : 'no-'}${name}`, '', feeds);
    else b.add(`${dir}/${name}`, valueFile(value), feeds);
  }
}

/** `KEY=value` lines for a Docker --env-file, which takes values literally (no quotes). */
export function envFile(header: string, vars: readonly (readonly [string, FlagValue])[]): string {
  return `# ${MANAGED}\n# ${header}\n${vars.map(([k, v]) => `${k}=${String(v)}`).join('\n')}\n`;
}

export function sortedFlags(entries: Iterable<readonly [string, FlagValue]>): Map<string, FlagValue> {
  return new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function str(flags: Flags | Map<string, FlagValue>, name: string, fallback: string): string {
  const v = flags instanceof Map ? flags.get(name) : flags[name];
  return typeof v === 'string' ? v : fallback;
}

export function asset(assets: Assets, path: string, what: string): string {
  const text = assets.text.get(path);
  if (text === undefined) throw new Error(`${what} ${path} was not read before rendering`);
  return text;
}

export function secretPlaceholder(refs: string[]): string {
  return `(sensitive: built at apply time from ${refs.join(', ')})\n`;
}
