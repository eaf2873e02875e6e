// `meso init`: a commented, valid cluster.yaml. Pure: the CLI writes the text this returns.
import { PROVIDERS } from '../providers/registry.js';
import { MesoError } from '../util/errors.js';
import { closest } from '../util/suggest.js';
import { formatDiagnostic, formatPath } from './diagnostics.js';
import type { LocatedDiagnostic } from './diagnostics.js';
import { hasErrors, validateText } from './validate.js';

export const INIT_DEFAULTS = { provider: 'local', masters: 3, agents: 2, out: 'cluster.yaml' } as const;

export interface InitOptions {
  provider: string;
  masters: number;
  agents: number;
  /** `name:`; the provider's starter name when absent. */
  name?: string;
  /** Where the JSON Schema is, relative to the file (for the yaml-language-server line). */
  schemaRef: string;
  /** The file's name, for diagnostics and the next steps (the text itself does not depend on it). */
  file: string;
}

export interface InitResult {
  text: string;
  /** The commands to run next, in order. */
  next: string[];
  /** What to do before `meso apply` for this provider, one line each. */
  before: readonly string[];
  /** Warnings of the validation the text passed (e.g. more than 7 masters). */
  warnings: LocatedDiagnostic[];
}

function starterOf(provider: string): (typeof PROVIDERS)[number]['starter'] {
  const p = PROVIDERS.find((x) => x.name === provider);
  if (p !== undefined) return p.starter;
  const names = PROVIDERS.map((x) => x.name);
  const near = closest(provider, names);
  throw new MesoError('UsageError', `unknown provider '${provider}'`, {
    hint: `${near === undefined ? '' : `did you mean ${near}? `}use one of: ${names.join(', ')}`,
  });
}

const indent = (by: string, lines: readonly string[]): string[] => lines.map((l) => (l === '' ? l : by + l));

/** The cluster file's text, before any check. */
export function renderInit(o: InitOptions): string {
  const s = starterOf(o.provider);
  const name = o.name ?? s.name;
  const agents =
    o.agents === 0
      ? ['# No agents yet: add a group as below to run tasks.', 'agents: []']
      : [
          'agents:',
          '  - group: default',
          ...indent('    ', s.hosts('agent', o.agents)),
          '    # What the agents offer and how they run tasks; uncomment and change as needed.',
          '    # containerizers: [mesos, docker]',
          '    # attributes: { rack: r1 }           # constraints for frameworks',
          '    # resources: "cpus:4;mem:8192"        # instead of what Mesos detects',
          '    # maxUnavailable: 10%                # agents restarted at once in a rolling change',
          '    # flags: { executor_registration_timeout: 5mins }',
        ];
  const lines = [
    `# yaml-language-server: $schema=${o.schemaRef}`,
    ...s.about.map((l) => `# ${l}`),
    `# Written by \`meso init --provider ${o.provider} --masters ${o.masters} --agents ${o.agents}${o.name === undefined ? '' : ` --name ${o.name}`}\`. Check it with`,
    '# `meso validate FILE`; every field is in README.md, "cluster.yaml reference".',
    '# Any value may be ${NAME} or ${NAME:-default}, read from the environment (never a secret).',
    'apiVersion: meso/v1',
    'kind: Cluster',
    "# Lower-case letters, digits and '-'. Also Mesos' --cluster and the name of the state file.",
    `name: ${name}`,
    `provider: ${o.provider}`,
    '',
    ...s.sections,
    '',
    '# ZooKeeper elects the leading master. By default it runs on the masters, one member each;',
    '# a list of hosts (or count:) gives it hosts of its own (an odd number). Ports and timing:',
    '# zookeeper:',
    '#   hosts: masters',
    '#   clientPort: 2181',
    '#   tickTime: 2000',
    '#   settings: { autopurge.snapRetainCount: 5 }',
    '',
    '# The Mesos masters: 1 for development, 3 or 5 to survive 1 or 2 failures (an even number',
    '# survives no more than one fewer would). quorum auto is a majority.',
    'masters:',
    ...indent('  ', s.hosts('master', o.masters)),
    '  # quorum: auto',
    '  # flags: { logging_level: WARNING }   # mesos-master flags, checked against the Mesos docs',
    '',
    '# Groups of Mesos agents; public: true makes a group of public agents (role slave_public).',
    ...agents,
    '',
    '# Marathon on every master, to run long-lived apps.',
    '# marathon:',
    '#   enabled: true',
    '',
    '# Add-on services applied with the core: presets etcd, haproxy, dnsmasq, traefik, marathon-lb,',
    '# metronome, or your own (name, on, package|archive|image, command, config, ports, health).',
    '# addons:',
    '#   - preset: etcd                    # on the masters, 3 or 5 members',
    '#   - preset: dnsmasq                 # anything.marathon -> the public agents',
    '',
    '# Authentication and SSL. Secrets are references, never values: env:NAME or file:PATH',
    '# (a ${NAME} there must give such a reference: its value is never treated as a secret).',
    '# security:',
    '#   authentication:',
    '#     frameworks: true',
    '#     credentials: [{ principal: marathon, secret: env:MESOS_MARATHON_SECRET }]',
  ];
  return `${lines.join('\n')}\n`;
}

/** The command-line option a finding about the generated file is about. */
function optionOf(d: LocatedDiagnostic): string {
  const top = d.path[0];
  if (top === 'masters') return '--masters';
  if (top === 'agents') return '--agents';
  if (top === 'name') return '--name';
  return '';
}

/**
 * The file `meso init` writes, checked by the very validation `meso validate` runs (with no
 * environment, so `${NAME:-default}` values stand as their defaults). Options the rules refuse
 * (2 masters) are a UsageError with the rule's own words; any other finding is a bug in meso.
 */
export function initSpec(o: InitOptions): InitResult {
  for (const [flag, n] of [
    ['--masters', o.masters],
    ['--agents', o.agents],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 0 || n > 10_000)
      throw new MesoError('UsageError', `${flag} ${n} is not a number of hosts`, {
        hint: `give a whole number from 0 to 10000, e.g. ${flag} 3`,
      });
  }
  const text = renderInit(o);
  const v = validateText(text, o.file, {});
  if (hasErrors(v.diagnostics)) {
    const errors = v.diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0]!;
    const option = optionOf(first);
    if (option !== '') {
      const value = option === '--masters' ? o.masters : option === '--agents' ? o.agents : o.name;
      throw new MesoError('UsageError', `${option} ${String(value)}: ${first.message}`, {
        hint: first.fix ?? `see ${formatPath(first.path)} in README.md`,
      });
    }
    throw new MesoError(
      'Internal',
      `the file meso init made is invalid: ${errors.map(formatDiagnostic).join('; ')}`,
      { hint: 'this is a bug in meso; please report it with the command you ran' },
    );
  }
  return {
    text,
    warnings: v.diagnostics,
    next: [`meso validate ${o.file}`, `meso plan ${o.file} --offline`, `meso apply ${o.file}`],
    before: starterOf(o.provider).before,
  };
}
