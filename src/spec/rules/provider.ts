import type { Diagnostic } from '../diagnostics.js';
import { PROVIDERS } from '../../providers/registry.js';
import { err } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';
import { installRules } from './install.js';

// --- provider-specific ----------------------------------------------------------------------------

/** Each provider's own checks (src/providers/<provider>/rules.ts), then the state backend and install:. */
export const provider: Rule = (ctx) => {
  const { spec } = ctx;
  const out: Diagnostic[] = [];
  for (const p of PROVIDERS)
    out.push(...((p.name === spec.provider ? p.rules : p.rulesWhenOther)?.(ctx) ?? []));
  if (spec.state.backend === 's3' && spec.state.bucket === undefined) {
    out.push(
      err(['state'], 'state backend s3 needs a bucket', 'add state.bucket (and optionally key and region)'),
    );
  }
  const endpoint = spec.state.endpoint;
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint))
    out.push(err(['state', 'endpoint'], `endpoint '${endpoint}' is not an http(s) URL`));
  out.push(...installRules(spec));
  if (spec.install.method === 'archive' && spec.install.options['archive'] === undefined) {
    out.push(
      err(
        ['install'],
        'install.method archive needs the archive to upload',
        'add install.archive: path/to/mesos.tar.gz',
      ),
    );
  }
  return out;
};
