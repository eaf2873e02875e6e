// systemd unit text for add-ons, and the quoting systemd's ExecStart= needs (not a shell's).
import { MANAGED } from '../render/text.js';

/**
 * One ExecStart= word as systemd reads it: double-quoted when not plainly safe, with `\` and `"`
 * escaped, `%` (specifiers) doubled and `$` (variable expansion) doubled, so a value stays a value.
 */
export function systemdWord(value: string): string {
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(value)) return value;
  if (/[\n\r\0]/.test(value)) throw new Error('a systemd ExecStart word cannot hold a line break or NUL');
  return `"${value
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/%/g, '%%')
    .replace(/\$/g, '$$$$')}"`;
}

export interface UnitOptions {
  /** The add-on's name: Description and the container name. */
  name: string;
  cluster: string;
  description: string;
  /** Other units this one starts after (core units, docker.service). */
  after?: readonly string[];
  requires?: readonly string[];
  type?: 'simple' | 'notify' | 'forking' | 'exec';
  user?: string;
  /** Read with `-` (optional): /etc/default/<name>. */
  environmentFile?: string;
  /** The whole ExecStart= line's value, words quoted with systemdWord. */
  execStart: string;
  execStartPre?: readonly string[];
  execReload?: string;
  execStop?: string;
  /** More [Service] lines (LimitNOFILE=…, KillMode=…). */
  service?: readonly string[];
}

/** A unit in the same shape as the core's (templates/systemd/*.service). */
export function unitText(o: UnitOptions): string {
  const lines = [
    `# Managed by meso for cluster ${o.cluster}; changes are overwritten by the next \`meso apply\`.`,
    '[Unit]',
    `Description=${o.description} (meso add-on ${o.name})`,
    `After=${['network-online.target', ...(o.after ?? [])].join(' ')}`,
    'Wants=network-online.target',
    ...(o.requires === undefined || o.requires.length === 0 ? [] : [`Requires=${o.requires.join(' ')}`]),
    '',
    '[Service]',
    `Type=${o.type ?? 'simple'}`,
    ...(o.user === undefined || o.user === 'root' ? [] : [`User=${o.user}`]),
    ...(o.environmentFile === undefined ? [] : [`EnvironmentFile=-${o.environmentFile}`]),
    ...(o.execStartPre ?? []).map((x) => `ExecStartPre=${x}`),
    `ExecStart=${o.execStart}`,
    ...(o.execReload === undefined ? [] : [`ExecReload=${o.execReload}`]),
    ...(o.execStop === undefined ? [] : [`ExecStop=${o.execStop}`]),
    'Restart=on-failure',
    'RestartSec=5',
    ...(o.service ?? []),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * ExecStart for a pinned image: the container is named meso-<name>, on the host's network, with
 * the env file and the given read-only mounts; `args` go after the image (already systemd words).
 */
export function dockerUnit(o: {
  name: string;
  cluster: string;
  description: string;
  image: string;
  envFile: string;
  mounts: readonly (readonly [string, string])[];
  args?: readonly string[];
  dockerArgs?: readonly string[];
  after?: readonly string[];
}): string {
  const container = `meso-${o.name}`;
  const words = [
    '/usr/bin/docker',
    'run',
    '--rm',
    '--name',
    container,
    '--net=host',
    '--env-file',
    o.envFile,
    ...o.mounts.flatMap(([host, inContainer]) => ['-v', `${host}:${inContainer}:ro`]),
    ...(o.dockerArgs ?? []),
    o.image,
  ].map(systemdWord);
  return unitText({
    name: o.name,
    cluster: o.cluster,
    description: o.description,
    after: ['docker.service', ...(o.after ?? [])],
    requires: ['docker.service'],
    execStartPre: [`-/usr/bin/docker rm -f ${container}`],
    execStart: [...words, ...(o.args ?? [])].join(' '),
    execStop: `/usr/bin/docker stop ${container}`,
  });
}

/** `KEY=value` lines of an EnvironmentFile=, values double-quoted as systemd reads them. */
export function environmentFile(header: string, env: Readonly<Record<string, string>>): string {
  const keys = Object.keys(env).sort();
  const quote = (v: string): string => `"${v.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\$/g, '\\$')}"`;
  return `# ${MANAGED}\n# ${header}\n${keys.map((k) => `${k}=${quote(env[k]!)}`).join('\n')}\n`;
}
