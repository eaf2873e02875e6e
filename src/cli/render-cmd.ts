import { join } from 'node:path';
import { MANIFEST, renderToDir } from '../engine/render-out.js';
import { loadOrFail } from './common.js';
import type { Io } from './io.js';

/** `meso render FILE --out DIR`. */
export async function renderCommand(file: string, opts: { out: string }, io: Io): Promise<number> {
  const spec = await loadOrFail(file, io);
  const r = await renderToDir(spec, file, opts.out);
  io.out(
    `Rendered ${r.files} files for ${r.hosts} hosts into ${opts.out} (owners and modes in ${join(opts.out, MANIFEST)}).\n`,
  );
  return 0;
}
