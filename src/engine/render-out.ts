// `meso render`: every file meso would put on every host, written as DIR/<host>/<path> with a
// manifest of owners, modes and hashes. No host is contacted.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveTopology } from '../model/topology.js';
import { modeString } from '../plan/json.js';
import { sha256 } from '../plan/plan.js';
import { readAssets } from './assets.js';
import { renderDesiredState } from '../render/render.js';
import type { DesiredSoftware, DesiredState } from '../render/types.js';
import { loadTemplates } from '../templates.js';
import type { Spec } from '../spec/types.js';
import { MesoError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

export const MANIFEST = 'manifest.json';

/** One package, archive or image of the manifest, without the workstation's paths. */
function softwareEntry(s: DesiredSoftware): Record<string, unknown> {
  if (s.kind === 'package')
    return { kind: s.kind, manager: s.manager, name: s.name, version: s.version ?? null };
  if (s.kind === 'archive') return { kind: s.kind, prefix: s.prefix, sha256: s.sha256 };
  return { kind: s.kind, ref: s.ref };
}

export function manifestOf(desired: DesiredState): Record<string, unknown> {
  return {
    format_version: '1',
    cluster: desired.topology.name,
    hosts: Object.fromEntries(
      desired.hosts.map((h) => [
        h.host.name,
        {
          address: h.host.address,
          roles: h.host.roles,
          files: h.files.map((f) => ({
            path: f.path,
            owner: f.owner,
            group: f.group,
            mode: modeString(f.mode),
            sensitive: f.sensitive,
            sha256: f.sensitive ? '(sensitive)' : sha256(f.content),
          })),
          directories: h.directories.map((d) => ({
            path: d.path,
            owner: d.owner,
            group: d.group,
            mode: modeString(d.mode),
            data: d.data,
          })),
          services: h.services.map((s) => s.unit),
          ...(h.software.length === 0 ? {} : { software: h.software.map(softwareEntry) }),
        },
      ]),
    ),
  };
}

/**
 * Make `dir` ready for a render without losing anything meso did not write: a directory holding a
 * previous render (it has a manifest) is cleared of the hosts that manifest names; any other
 * non-empty directory is refused.
 */
async function prepareOutDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory())
      throw new MesoError('OutputUnwritable', `${dir} exists and is not a directory`);
    entries = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (entries.length === 0) return;
  if (!entries.includes(MANIFEST)) {
    throw new MesoError('OutputUnwritable', `${dir} is not empty and holds no earlier render`, {
      hint: 'give an empty or new directory to --out',
    });
  }
  let previous: { hosts?: Record<string, unknown> };
  try {
    previous = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as typeof previous;
  } catch {
    throw new MesoError('OutputUnwritable', `${dir} holds a ${MANIFEST} that is not an earlier render`, {
      hint: 'give an empty or new directory to --out',
    });
  }
  for (const host of Object.keys(previous.hosts ?? {})) {
    if (host.includes('/') || host.startsWith('.')) continue;
    await rm(join(dir, host), { recursive: true, force: true });
  }
  await rm(join(dir, MANIFEST), { force: true });
}

/** Render the spec into `out`; returns how many files for how many hosts. */
export async function renderToDir(
  spec: Spec,
  specFile: string,
  out: string,
): Promise<{ files: number; hosts: number }> {
  const desired = renderDesiredState(
    spec,
    deriveTopology(spec),
    loadTemplates(),
    await readAssets(spec, specFile),
  );
  await prepareOutDir(out);
  let files = 0;
  for (const h of desired.hosts) {
    for (const f of h.files) {
      await writeFileAtomic(join(out, h.host.name, f.path), f.content, f.sensitive ? 0o600 : 0o644);
      files++;
    }
  }
  await writeFileAtomic(join(out, MANIFEST), `${JSON.stringify(manifestOf(desired), null, 2)}\n`);
  return { files, hosts: desired.hosts.length };
}
