import type { Diagnostic, SpecPath } from '../diagnostics.js';
import { err, SAFE, warn } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';

// --- agents ---------------------------------------------------------------------------------------

export const agentGroups: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  if (spec.agents.length === 0)
    out.push(warn(['agents'], 'no agents: the cluster can run no tasks', 'add an agent group'));
  spec.agents.forEach((g, i) => {
    const at: SpecPath = ['agents', i];
    if (!SAFE.group.test(g.group))
      out.push(
        err(
          [...at, 'group'],
          `group name '${g.group}' has unsafe characters`,
          "use letters, digits, '-' and '_'",
        ),
      );
    if (seen.has(g.group))
      out.push(
        err([...at, 'group'], `agent group '${g.group}' is declared twice`, 'give every group its own name'),
      );
    seen.add(g.group);
    for (const [name, value] of Object.entries(g.attributes)) {
      if (!SAFE.attributeName.test(name))
        out.push(
          err(
            [...at, 'attributes', name],
            `attribute name '${name}' has unsafe characters`,
            "use letters, digits, '_', '-' and '.'",
            true,
          ),
        );
      if (/[;:\n\r\0]/.test(value))
        out.push(
          err(
            [...at, 'attributes', name],
            `attribute value '${value}' contains ';', ':' or a line break`,
            'Mesos separates attributes with ; and :',
          ),
        );
    }
    for (const [name, value] of g.resources) {
      if (!SAFE.resourceName.test(name)) {
        out.push(
          err(
            [...at, 'resources'],
            `resource name '${name}' is not valid`,
            'use name or name(role), e.g. cpus or ports(*)',
          ),
        );
      }
      if (value === '' || /[;\n\r\0]/.test(value))
        out.push(
          err(
            [...at, 'resources'],
            `resource '${name}' needs a value without ';' or line breaks`,
            'e.g. cpus:4 or ports(*):[31000-32000]',
          ),
        );
    }
    const seenRes = new Set<string>();
    for (const [name] of g.resources) {
      if (seenRes.has(name)) out.push(err([...at, 'resources'], `resource '${name}' is given twice`));
      seenRes.add(name);
    }
    if (new Set(g.containerizers).size !== g.containerizers.length)
      out.push(err([...at, 'containerizers'], 'a containerizer is listed twice'));
    for (const [j, iso] of g.isolation.entries()) {
      if (!/^[a-z0-9_]+(\/[a-z0-9_]+)?$/.test(iso))
        out.push(
          err(
            [...at, 'isolation', j],
            `isolator '${iso}' is not valid`,
            'e.g. cgroups/cpu, filesystem/linux, docker/runtime',
          ),
        );
    }
  });
  return out;
};
