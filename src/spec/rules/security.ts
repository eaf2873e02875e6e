import type { Diagnostic, SpecPath } from '../diagnostics.js';
import { err, SAFE, warn } from '../rule-helpers.js';
import type { Rule } from '../rule-helpers.js';

// --- security -------------------------------------------------------------------------------------

export const secrets: Rule = ({ spec }) => {
  const out: Diagnostic[] = [];
  const auth = spec.security;
  const check = (secret: string, principal: string, path: SpecPath): void => {
    if (!SAFE.principal.test(principal))
      out.push(
        err(
          [...path, 'principal'],
          `principal '${principal}' has unsafe characters`,
          "use letters, digits, '_', '.', '@' and '-'",
        ),
      );
    if (!SAFE.secretRef.test(secret)) {
      out.push(
        err(
          [...path, 'secret'],
          'secrets must be given by reference, never inline',
          'write env:NAME (an environment variable) or file:PATH (a file on this machine)',
        ),
      );
    }
  };
  const base: SpecPath = ['security', 'authentication'];
  auth.credentials.forEach((c, i) => check(c.secret, c.principal, [...base, 'credentials', i]));
  if (auth.agentCredential !== undefined)
    check(auth.agentCredential.secret, auth.agentCredential.principal, [...base, 'agent']);
  if (auth.marathonCredential !== undefined)
    check(auth.marathonCredential.secret, auth.marathonCredential.principal, [...base, 'marathon']);
  if ((auth.authenticateFrameworks || auth.authenticateAgents) && auth.credentials.length === 0) {
    out.push(
      err(
        base,
        'authentication is on but no credentials are listed',
        'add credentials: with a principal and a secret reference',
      ),
    );
  }
  if (auth.authenticateAgents && auth.agentCredential === undefined) {
    out.push(
      err(
        [...base, 'agents'],
        'agents must authenticate but no agent credential is given',
        'add security.authentication.agent',
      ),
    );
  }
  const principals = new Set(auth.credentials.map((c) => c.principal));
  for (const [key, c] of [
    ['agent', auth.agentCredential],
    ['marathon', auth.marathonCredential],
  ] as const) {
    if (c !== undefined && auth.credentials.length > 0 && !principals.has(c.principal)) {
      out.push(
        warn(
          [...base, key],
          `principal '${c.principal}' is not among the credentials the masters accept`,
          'add it to security.authentication.credentials',
        ),
      );
    }
  }
  if (auth.marathonCredential !== undefined && !spec.marathon.enabled) {
    out.push(warn([...base, 'marathon'], 'a Marathon credential is given but Marathon is not enabled'));
  }
  if (auth.ssl !== undefined) {
    for (const k of ['certFile', 'keyFile', 'caFile'] as const) {
      const v = auth.ssl[k];
      if (v !== undefined && !SAFE.absPath.test(v))
        out.push(err(['security', 'ssl', k], `'${v}' must be an absolute path of safe characters`));
    }
  }
  return out;
};
