import type { Diagnostic, SpecPath } from '../diagnostics.js';
import { err, warn } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';

// --- masters and quorum ---------------------------------------------------------------------------

export const masterCount: Rule = ({ spec }) => {
  const n = spec.masters.hosts.length;
  const at: SpecPath = spec.masters.count === undefined ? ['masters', 'hosts'] : ['masters', 'count'];
  if (n === 0)
    return [err(at, 'a cluster needs at least one master', 'list 1 master for development, 3 or 5 for HA')];
  const out: Diagnostic[] = [];
  if (n % 2 === 0 && !spec.masters.allowEvenCount) {
    const tolerated = Math.floor((n - 1) / 2);
    out.push(
      err(
        at,
        n === 2
          ? '2 masters cannot keep a quorum through one failure'
          : `${n} masters tolerate ${tolerated} failure${tolerated === 1 ? '' : 's'}, no more than ${n - 1} would`,
        n === 2
          ? 'use 3 or 5 (1 for development), or set masters.allowEvenCount: true'
          : `use ${[n - 1, n + 1].filter((c) => c <= 7).join(' or ')}, or set masters.allowEvenCount: true`,
      ),
    );
  }
  if (n > 7) out.push(warn(at, `${n} masters slow every write to the replicated log`, 'use 3, 5 or 7'));
  return out;
};

export const quorum: Rule = ({ spec }) => {
  const n = spec.masters.hosts.length;
  const q = spec.masters.quorum;
  if (q === 'auto' || n === 0) return [];
  const auto = Math.floor(n / 2) + 1;
  if (q > n)
    return [err(['masters', 'quorum'], `quorum ${q} is more than the ${n} masters`, `use auto (${auto})`)];
  if (q <= n / 2) {
    return [
      err(
        ['masters', 'quorum'],
        `quorum ${q} is not a majority of ${n} masters: two halves could each elect a leader`,
        `use auto (${auto}) or a value from ${auto} to ${n}`,
      ),
    ];
  }
  return [];
};
