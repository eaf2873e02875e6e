import type { Diagnostic, SpecPath } from '../diagnostics.js';
import { FLAGS, RESERVED_FLAGS } from '../flags.js';
import type { FlagRole } from '../flags.js';
import type { Flags } from '../types.js';
import { didYouMean } from '../../util/suggest.js';
import { err, SAFE } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';

// --- flags ----------------------------------------------------------------------------------------

function checkFlags(flags: Flags, role: FlagRole, at: SpecPath): Diagnostic[] {
  const out: Diagnostic[] = [];
  const catalog = FLAGS[role];
  for (const [name, value] of Object.entries(flags)) {
    const path = [...at, name];
    const reserved = RESERVED_FLAGS[role][name];
    if (reserved !== undefined) {
      out.push(err(path, `flag '${name}' is managed by meso`, reserved, true));
      continue;
    }
    const info = catalog.get(name);
    if (info === undefined) {
      const other: FlagRole = role === 'master' ? 'agent' : 'master';
      const hint = didYouMean(name, catalog.keys());
      const elsewhere = FLAGS[other].has(name)
        ? `'${name}' is a mesos-${other === 'master' ? 'master' : 'agent'} flag`
        : undefined;
      out.push(
        err(
          path,
          `unknown mesos-${role} flag '${name}'`,
          hint ?? elsewhere ?? 'see mesos-' + role + ' --help',
          true,
        ),
      );
      continue;
    }
    if (info.boolean && typeof value !== 'boolean') {
      out.push(
        err(
          path,
          `flag '${name}' is a boolean, got ${JSON.stringify(value)}`,
          `write ${name}: true or ${name}: false`,
        ),
      );
    } else if (!info.boolean && typeof value === 'boolean') {
      out.push(
        err(
          path,
          `flag '${name}' takes a value, not ${String(value)}`,
          info.default === null ? 'give it a value' : `its default is ${info.default}`,
        ),
      );
    } else if (typeof value === 'string' && !SAFE.oneLine.test(value)) {
      out.push(err(path, `flag '${name}' must be on one line`));
    } else if (typeof value === 'string' && value === '') {
      out.push(err(path, `flag '${name}' is empty`, 'remove it to use the Mesos default'));
    }
    if (name === 'work_dir' || name === 'log_dir') {
      if (typeof value === 'string' && !SAFE.absPath.test(value))
        out.push(err(path, `${name} '${value}' must be an absolute path of safe characters`));
    }
  }
  return out;
}

export const flags: Rule = ({ spec }) => [
  ...checkFlags(spec.masters.flags, 'master', ['masters', 'flags']),
  ...spec.agents.flatMap((g, i) => checkFlags(g.flags, 'agent', ['agents', i, 'flags'])),
  ...Object.entries(spec.marathon.flags).flatMap(([name, value]) => {
    const path: SpecPath = ['marathon', 'flags', name];
    if (!SAFE.flagName.test(name))
      return [
        err(
          path,
          `Marathon flag name '${name}' has unsafe characters`,
          'use lower-case letters, digits and _',
          true,
        ),
      ];
    if (['master', 'zk', 'hostname'].includes(name))
      return [
        err(path, `Marathon flag '${name}' is managed by meso`, 'meso derives it from the cluster', true),
      ];
    if (/secret|password/.test(name) && !name.endsWith('_file')) {
      return [
        err(
          path,
          `Marathon flag '${name}' would put a secret on the command line`,
          'use security.authentication.marathon',
          true,
        ),
      ];
    }
    return typeof value === 'string' && !SAFE.oneLine.test(value)
      ? [err(path, `flag '${name}' must be on one line`)]
      : [];
  }),
];
