import type { Diagnostic } from '../diagnostics.js';
import { err, SAFE } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';

// --- names, paths and other one-line values -------------------------------------------------------

export const values: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  if (!SAFE.absPath.test(spec.zookeeper.dataDir) || spec.zookeeper.dataDir.split('/').includes('..')) {
    out.push(
      err(
        ['zookeeper', 'dataDir'],
        `dataDir '${spec.zookeeper.dataDir}' must be an absolute path of safe characters`,
      ),
    );
  }
  if (!/^[A-Za-z0-9 _.-]+$/.test(spec.masters.cluster)) {
    out.push(
      err(
        ['masters', 'cluster'],
        `cluster name '${spec.masters.cluster}' has unsafe characters`,
        "use letters, digits, spaces, '_', '.' and '-'",
      ),
    );
  }
  if (!SAFE.oneLine.test(spec.marathon.javaOpts))
    out.push(err(['marathon', 'javaOpts'], 'javaOpts must be on one line'));
  // Image references and the archive prefix end up in systemd unit lines, where % and $ expand.
  for (const [key, image] of Object.entries(spec.install.images)) {
    if (!SAFE.image.test(image)) {
      out.push(
        err(
          ['install', 'images', key],
          `image reference '${image}' has unsafe characters`,
          'use name[:tag][@digest] of letters, digits and . _ / : @ -',
        ),
      );
    }
  }
  const prefix = spec.install.options['prefix'];
  if (typeof prefix === 'string' && !SAFE.absPath.test(prefix)) {
    out.push(err(['install', 'prefix'], `prefix '${prefix}' must be an absolute path of safe characters`));
  }
  if (!/^[a-z_][a-z0-9_-]*$/.test(spec.ssh.user))
    out.push(err(['ssh', 'user'], `SSH user '${spec.ssh.user}' is not a valid user name`));
  return out;
};
