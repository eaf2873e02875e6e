// Retiring a host: gone from the spec, or destroyed.
import { writeFilesCommand, writeFilesInput } from '../apply/files.js';
import { SERVICE_ORDER } from '../render/types.js';
import { MesoError } from '../util/errors.js';
import { shellQuoteArg } from '../util/shell.js';
import { templates } from './prepare.js';
import type { Say, Session } from './prepare.js';

/**
 * The provider removes a machine it made (a local container); otherwise stop and disable meso's
 * services on the host and remove the files meso wrote there, data kept unless purgeData.
 */
export async function retireHost(p: Session, name: string, purgeData: boolean, say: Say): Promise<void> {
  const h = p.state.hosts[name];
  if (h === undefined) return;
  // A connection to a machine about to be removed would wait for a socket that never closes.
  if (p.provider.removeMachine !== undefined) await p.pool.close(name);
  if ((await p.provider.removeMachine?.(p.providerContext, name)) === true) {
    delete p.state.hosts[name];
    await p.save();
    return;
  }
  const conn = await p.pool.get(name);
  // The core's units, and the add-ons' whose unit files meso wrote there.
  const addonUnits = Object.keys(h.files).flatMap((path) => {
    const unit = /^\/etc\/systemd\/system\/([a-z0-9-]+\.service)$/.exec(path)?.[1];
    return unit === undefined || SERVICE_ORDER.some((s) => `${s}.service` === unit) ? [] : [unit];
  });
  const units = [...SERVICE_ORDER.map((s) => `${s}.service`), ...addonUnits.sort()];
  say('host', `${name}: stopping and disabling ${units.join(', ')}`);
  await conn.exec(`systemctl disable --now -- ${units.join(' ')} 2>/dev/null; systemctl daemon-reload; true`);
  const ops = Object.keys(h.files)
    .sort()
    .map((path) => ({ op: 'delete' as const, path }));
  if (ops.length > 0) {
    say('host', `${name}: removing ${ops.length} files meso wrote`);
    const r = await conn.exec(writeFilesCommand(templates['write-files.sh'] ?? ''), {
      stdin: writeFilesInput(ops),
    });
    if (r.code !== 0)
      throw new MesoError('ApplyFailed', `removing files on ${name} failed`, {
        hint: r.stdout.trim().split('\n').pop() ?? '',
      });
  }
  if (purgeData) {
    for (const d of h.directories.filter((x) => x.data)) say('host', `${name}: keeping no data: ${d.path}`);
    const dirs = h.directories.filter((x) => x.data).map((x) => shellQuoteArg(x.path));
    if (dirs.length > 0) await conn.exec(`rm -rf -- ${dirs.join(' ')}`);
  }
  delete p.state.hosts[name];
  await p.save();
}
