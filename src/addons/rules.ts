// The semantic rules of `addons:`: names, presets and their options, where they run, what they
// install, their files and templates, and their ports against the core's and each other's per host.
import { ensembleEntries } from '../model/hosts.js';
import { deriveTopology } from '../model/topology.js';
import type { Topology } from '../model/topology.js';
import type { Diagnostic, SpecPath } from '../spec/diagnostics.js';
import { err, rawAt, SAFE, warn } from '../spec/rule-helpers.js';
import { corePorts } from '../spec/rules/ports.js';
import type { Rule } from '../spec/rule-helpers.js';
import type { Spec } from '../spec/types.js';
import { didYouMean } from '../util/suggest.js';
import { GENERIC_FIELDS } from './normalize.js';
import { PRESETS } from './presets/index.js';
import type { AddonSpec } from './types.js';
import { addonHosts, TEMPLATE_VALUES, unknownValues } from './values.js';

const CORE_UNITS = ['zookeeper', 'mesos-master', 'marathon', 'mesos-agent', 'mesos-slave', 'mesos'];

/** Every port the core listens on, per host: (port/protocol) -> who (the first user, as the ports rule has it). */
function coreUsers(spec: Spec): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const c of corePorts(spec)) {
    const m = out.get(c.host) ?? new Map<string, string>();
    out.set(c.host, m);
    if (!m.has(`${c.port}/tcp`)) m.set(`${c.port}/tcp`, c.what);
  }
  return out;
}

function checkOne(
  spec: Spec,
  topology: Topology,
  raw: Record<string, unknown>,
  a: AddonSpec,
  i: number,
  out: Diagnostic[],
): void {
  const at = (...p: (string | number)[]): SpecPath => ['addons', i, ...p];
  const entry = (rawAt(raw, ['addons', i]) ?? {}) as Record<string, unknown>;
  const preset = a.preset === undefined ? undefined : PRESETS.get(a.preset);
  if (a.preset !== undefined && preset === undefined) {
    const dym = didYouMean(a.preset, PRESETS.keys());
    out.push(
      err(
        at('preset'),
        `unknown preset '${a.preset}'`,
        `${dym === undefined ? '' : `${dym}; `}the presets are ${[...PRESETS.keys()].sort().join(', ')}`,
      ),
    );
  }
  if (a.preset === undefined && entry['name'] === undefined)
    out.push(err(at(), 'an add-on needs a name (or a preset)', 'add name: <service name>'));
  if (preset?.packageUnit !== undefined && a.name !== preset.name && entry['name'] !== undefined)
    out.push(
      err(
        at('name'),
        `preset ${preset.name} runs as ${preset.packageUnit}, the unit its package starts by itself; as ${a.name}.service both would run`,
        `leave name out (it is ${preset.name})`,
      ),
    );
  if (CORE_UNITS.includes(a.name))
    out.push(err(at('name'), `'${a.name}' is one of meso's own services`, 'give the add-on another name'));
  // Keys that are neither generic fields nor the preset's options.
  const allowed = [...GENERIC_FIELDS, ...(preset?.options ?? [])];
  for (const key of Object.keys(entry)) {
    if (allowed.includes(key) || (a.preset !== undefined && preset === undefined)) continue;
    const dym = didYouMean(key, allowed);
    out.push(
      err(
        at(key),
        preset === undefined
          ? `unknown add-on field '${key}'`
          : `preset ${preset.name} has no option '${key}'`,
        dym ?? `the fields are ${allowed.join(', ')}`,
        true,
      ),
    );
  }
  // Where it runs.
  const on = a.on;
  const known = new Set([
    ...spec.masters.hosts.map((h) => h.name),
    ...ensembleEntries(spec).map((e) => e.host.name),
    ...spec.agents.flatMap((g) => g.hosts.map((h) => h.name)),
  ]);
  if (on.kind === 'group' && !spec.agents.some((g) => g.group === on.group)) {
    const dym = didYouMean(on.group, [
      ...spec.agents.map((g) => g.group),
      'masters',
      'agents',
      'publicAgents',
    ]);
    out.push(
      err(
        at('on'),
        `'${on.group}' is neither masters, publicAgents, agents nor an agent group`,
        dym ?? 'name an agent group, or list hosts',
      ),
    );
  } else if (on.kind === 'hosts') {
    on.hosts.forEach((h, j) => {
      if (!known.has(h))
        out.push(
          err(
            at('on', j),
            `no host '${h}' in this cluster`,
            didYouMean(h, known) ?? 'name a master, agent or ZooKeeper host',
          ),
        );
    });
  } else if (addonHosts(spec, topology, on).length === 0) {
    out.push(
      err(
        at('on'),
        on.kind === 'publicAgents' ? 'the cluster has no public agents' : `the cluster has no ${on.kind}`,
        on.kind === 'publicAgents'
          ? 'mark an agent group public: true, or set on: to other hosts'
          : 'set on: to hosts the cluster has',
      ),
    );
  }
  // What it installs and runs.
  const sources = ['package', 'archive', 'image'].filter((k) => entry[k] !== undefined);
  if (sources.length > 1)
    out.push(
      err(
        at(sources[1]!),
        `an add-on installs from one source; it has ${sources.join(' and ')}`,
        'keep one of them',
      ),
    );
  if (entry['archive'] !== undefined && entry['sha256'] === undefined)
    out.push(err(at('archive'), 'an archive needs its sha256', "add sha256: <the tarball's sha256>"));
  if (entry['version'] !== undefined && entry['package'] === undefined && a.install.kind !== 'package')
    out.push(err(at('version'), 'version pins a package', 'remove version, or install a package'));
  if (a.install.kind === 'image' && !SAFE.image.test(a.install.ref))
    out.push(
      err(at('image'), `'${a.install.ref}' is not an image reference`, 'write name:tag or name@sha256:...'),
    );
  if (a.install.kind === 'package' && !/^[A-Za-z0-9][A-Za-z0-9+._-]*$/.test(a.install.name))
    out.push(err(at('package'), `'${a.install.name}' is not a package name`));
  if (preset === undefined && a.command === undefined && a.install.kind !== 'image' && a.preset === undefined)
    out.push(
      err(
        at(),
        `add-on ${a.name} has no command to run`,
        'add command: <program and arguments> (its systemd ExecStart)',
      ),
    );
  if (a.command !== undefined && /[\n\r\0]/.test(a.command))
    out.push(
      err(at('command'), 'command must be one line', 'write the program and its arguments on one line'),
    );
  if (!SAFE.principal.test(a.user)) out.push(err(at('user'), `'${a.user}' is not a user name`));
  for (const [k, v] of Object.entries(a.flags)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(k))
      out.push(err(at('flags', k), `'${k}' is not a flag name`, undefined, true));
    if (!SAFE.oneLine.test(String(v))) out.push(err(at('flags', k), 'a flag value must be one line'));
  }
  for (const [k, v] of Object.entries(a.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      out.push(err(at('env', k), `'${k}' is not an environment variable name`, undefined, true));
    if (!SAFE.oneLine.test(v)) out.push(err(at('env', k), 'an environment value must be one line'));
  }
  for (const f of a.config) {
    if (!SAFE.absPath.test(f.path) || f.path.includes('/../') || f.path.endsWith('/'))
      out.push(
        err(
          at('config', f.path),
          `'${f.path}' is not an absolute file path`,
          'write /etc/<name>/<file>',
          true,
        ),
      );
    if (f.template)
      for (const name of unknownValues(f.content))
        out.push(
          err(
            at('config', f.path, 'template'),
            `the template uses {{ ${name} }}, which is not a cluster value`,
            [
              didYouMean(name, Object.keys(TEMPLATE_VALUES)),
              `the values are ${Object.keys(TEMPLATE_VALUES).join(', ')}`,
            ]
              .filter((x) => x !== undefined)
              .join('; '),
          ),
        );
  }
  const hasDocker = spec.install.packages.some((p) => /^docker(\.io|-ce)?$/.test(p.name));
  if (a.install.kind === 'image' && spec.install.method !== 'docker' && !hasDocker)
    out.push(
      warn(
        at(entry['image'] === undefined ? 'preset' : 'image'),
        `add-on ${a.name} runs in a container: its hosts need Docker, which install.method ${spec.install.method} does not install`,
        'install docker.io on those hosts (e.g. install.packages with component: extra), or use install.method: docker',
      ),
    );
  if (a.after === 'marathon' && !spec.marathon.enabled && entry['after'] !== undefined)
    out.push(
      err(
        at('after'),
        'after: marathon, but Marathon is not enabled',
        'enable marathon, or wait for masters',
      ),
    );
  if (preset !== undefined) for (const d of preset.check(a, spec)) out.push({ ...d, path: at(...d.path) });
}

export const addonRules: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  if (spec.addons.length === 0) return out;
  const topology = deriveTopology(spec);
  const seen = new Map<string, number>();
  spec.addons.forEach((a, i) => {
    checkOne(spec, topology, raw, a, i, out);
    const first = seen.get(a.name);
    if (first !== undefined && a.name !== '')
      out.push(
        err(
          ['addons', i, rawAt(raw, ['addons', i, 'name']) === undefined ? 'preset' : 'name'],
          `add-on '${a.name}' is listed twice (also addons[${first}])`,
          'give each add-on its own name',
        ),
      );
    else seen.set(a.name, i);
  });
  // Ports: each host's core ports, then the add-ons in spec order; the later one is reported.
  const used = coreUsers(spec);
  spec.addons.forEach((a, i) => {
    const hosts = addonHosts(spec, topology, a.on).map((h) => h.name);
    a.ports.forEach((p, j) => {
      const key = `${p.port}/${p.protocol}`;
      const clashes: string[] = [];
      for (const h of hosts) {
        const m = used.get(h) ?? new Map<string, string>();
        used.set(h, m);
        const owner = m.get(key);
        if (owner !== undefined && owner !== `add-on ${a.name}`) clashes.push(`${h} (${owner})`);
        else m.set(key, `add-on ${a.name}`);
      }
      if (clashes.length > 0)
        out.push(
          err(
            ['addons', i, 'ports', j],
            `port ${key} of add-on ${a.name} is already used on ${clashes.join(', ')}`,
            'give the add-on another port, or run it on other hosts',
          ),
        );
    });
  });
  return out;
};
