import type { Diagnostic, SpecPath } from '../diagnostics.js';
import type { Spec } from '../types.js';
import { err, PACKAGE_NAME, SAFE, warn } from '../rule-helpers.js';

const PACKAGE_VERSION = /^[A-Za-z0-9.+~:_-]+$/;
const URL = /^(https?|file):\/\/[^\s'"\\]+$/;

/** install: repositories, package names and versions, pinned images. */
export function installRules(spec: Spec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ins = spec.install;
  const repo = ins.repository;
  if (
    repo !== undefined &&
    (ins.method === 'apt' || (ins.method === 'archive' && repo.baseurl === undefined))
  ) {
    if (repo.url === undefined || repo.suite === undefined)
      out.push(
        err(
          ['install', 'repository'],
          'an apt repository needs url and suite',
          'e.g. { url: http://repos.mesosphere.com/debian, suite: stretch, components: [main] }',
        ),
      );
    for (const [i, c] of repo.components.entries())
      if (!/^[A-Za-z0-9._/-]+$/.test(c))
        out.push(err(['install', 'repository', 'components', i], `component '${c}' has unsafe characters`));
    if (repo.suite !== undefined && !/^[A-Za-z0-9._/-]+$/.test(repo.suite))
      out.push(err(['install', 'repository', 'suite'], `suite '${repo.suite}' has unsafe characters`));
  }
  if (repo !== undefined && ins.method === 'yum' && repo.baseurl === undefined)
    out.push(
      err(
        ['install', 'repository'],
        'a yum repository needs baseurl',
        'e.g. { baseurl: http://repos.mesosphere.com/el/7/x86_64/ }',
      ),
    );
  if (repo !== undefined && (ins.method === 'docker' || ins.method === 'none'))
    out.push(
      warn(
        ['install', 'repository'],
        `install.method ${ins.method} does not use a repository`,
        'remove install.repository, or use method apt, yum or archive',
      ),
    );
  for (const key of ['url', 'baseurl'] as const) {
    const v = repo?.[key];
    if (v !== undefined && !URL.test(v))
      out.push(err(['install', 'repository', key], `'${v}' is not an http(s) or file URL`));
  }
  const given = spec.install.options['packages'];
  const seen = new Set<string>();
  ins.packages.forEach((p, i) => {
    const where: SpecPath = Array.isArray(given)
      ? ['install', 'packages', i]
      : ['install', 'packages', Object.keys(given ?? {})[i] ?? i];
    if (given !== undefined && !PACKAGE_NAME.test(p.name))
      out.push(err(where, `package name '${p.name}' is not a valid package name`));
    else if (seen.has(p.name)) out.push(err(where, `package ${p.name} is listed twice`, 'list it once'));
    seen.add(p.name);
    if (p.version !== undefined && !PACKAGE_VERSION.test(p.version))
      out.push(err(['install', 'versions'], `version '${p.version}' of ${p.name} has unsafe characters`));
  });
  const versions = spec.install.options['versions'];
  if (versions !== null && typeof versions === 'object') {
    const known = new Set([
      ...ins.packages.map((p) => p.name),
      ...(Array.isArray(given) ? [] : Object.keys(given ?? {})),
    ]);
    for (const k of Object.keys(versions)) {
      if (!known.has(k))
        out.push(
          err(
            ['install', 'versions', k],
            `versions.${k} names no package`,
            ins.packages.length === 0
              ? 'list the packages in install.packages (or give install.repository for the defaults)'
              : `pin one of: ${[...known].join(', ')}`,
          ),
        );
    }
  }
  if (ins.method === 'docker') {
    for (const [key, image] of Object.entries(ins.images)) {
      const last = image.split('/').pop() ?? image;
      if (!image.includes('@') && (!last.includes(':') || last.endsWith(':latest')))
        out.push(
          err(
            ['install', 'images', key],
            `image '${image}' is not pinned`,
            'give a tag other than latest, or a digest (name@sha256:...)',
          ),
        );
    }
  }
  const ssl = spec.security.ssl;
  if (ssl?.upload.ca !== undefined && ssl.caFile === undefined)
    out.push(
      err(
        ['security', 'ssl', 'upload', 'ca'],
        'a CA to upload needs caFile, the path it goes to on the hosts',
        'add security.ssl.caFile, e.g. /etc/ssl/mesos/ca.pem',
      ),
    );
  const key = spec.security.ssl?.upload.key;
  if (key !== undefined && !SAFE.secretRef.test(key))
    out.push(
      err(
        ['security', 'ssl', 'upload', 'key'],
        'the key must be given by reference, never inline',
        'use file:PATH (or env:NAME)',
      ),
    );
  return out;
}
