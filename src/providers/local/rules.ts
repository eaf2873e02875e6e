// Validation for provider: local, run by the provider rule (src/spec/rules/provider.ts).
import { hostEntries } from '../../model/hosts.js';
import type { Diagnostic } from '../../spec/diagnostics.js';
import { err, PACKAGE_NAME, rawAt, SAFE, warn } from '../../spec/rule-helpers.js';
import type { Rule } from '../../spec/rule-helpers.js';
import { LOCAL_HOSTS_MAX } from './addresses.js';

/** The checks of a spec whose provider is local (the caller checks that it is). */
export const rules: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  const names = new Set<string>();
  for (const e of hostEntries(spec)) {
    if (e.host.address !== undefined)
      out.push(
        err([...e.path, 'address'], 'local hosts get their addresses from local.subnet', 'remove address:'),
      );
    names.add(e.host.name);
    // Reported once, at the first host past the limit.
    if (names.size === LOCAL_HOSTS_MAX + 1)
      out.push(
        err(
          e.path,
          `more than ${LOCAL_HOSTS_MAX} local hosts: local.subnet (a /24) has addresses for ${LOCAL_HOSTS_MAX}`,
          'use fewer hosts, or a static or aws cluster for more',
        ),
      );
  }
  const m = /^198\.(18|19)\.(\d{1,3})\.0\/24$/.exec(spec.local.subnet);
  if (m === null || Number(m[2]) > 255)
    out.push(
      err(
        ['local', 'subnet'],
        `subnet '${spec.local.subnet}' is not a /24 inside 198.18.0.0/15`,
        'use e.g. 198.18.7.0/24 (the range reserved for test networks)',
      ),
    );
  if (raw['aws'] !== undefined) out.push(warn(['aws'], 'aws: is ignored with provider: local'));
  // Local hosts are Debian (dpkg names are lower case); archive and none packages go into the image.
  const ins = spec.install;
  const given = ins.options['packages'];
  if (ins.method === 'archive' || ins.method === 'none') {
    ins.packages.forEach((p, i) => {
      // A name that is no package name at all is reported by the install rules.
      if (!PACKAGE_NAME.test(p.name) || SAFE.debianPackage.test(p.name)) return;
      const key = Array.isArray(given) ? i : (Object.keys(given ?? {})[i] ?? i);
      out.push(
        err(
          ['install', 'packages', key],
          `'${p.name}' is not a Debian package name (local hosts are Debian)`,
          "use the Debian name: lower-case letters, digits, '+', '-' and '.'",
        ),
      );
    });
  }
  return out;
};

/** The checks of a spec whose provider is not local: settings under local: that only local uses. */
export const rulesWhenOther: Rule = ({ spec, raw }) => {
  const out: Diagnostic[] = [];
  if (rawAt(raw, ['local', 'packages']) !== undefined) {
    out.push(
      err(
        ['local', 'packages'],
        `local.packages is for provider local: provider ${spec.provider} hosts are not built from meso's image`,
        'remove local.packages; install.packages installs packages on the hosts',
      ),
    );
  }
  return out;
};
