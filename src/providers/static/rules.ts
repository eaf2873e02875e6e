// Validation for provider: static, run by the provider rule (src/spec/rules/provider.ts).
import { hostEntries } from '../../model/hosts.js';
import type { Diagnostic } from '../../spec/diagnostics.js';
import { err, warn } from '../../spec/rule-helpers.js';
import type { Rule } from '../../spec/rule-helpers.js';

/** The checks of a spec whose provider is static (the caller checks that it is). */
export const rules: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  for (const e of hostEntries(spec)) {
    // Hosts from `count:` are already reported by hostLists.
    if (e.host.address === undefined && e.path[e.path.length - 1] !== 'count')
      out.push(
        err(
          e.path,
          `host ${e.host.name} has no address`,
          'static hosts need address: (the address meso connects to)',
        ),
      );
  }
  if (raw['aws'] !== undefined) out.push(warn(['aws'], 'aws: is ignored with provider: static'));
  return out;
};
