import { open } from 'node:fs/promises';
import { MesoError } from '../util/errors.js';
import { validateText } from './validate.js';
import type { Validation } from './validate.js';
import type { Env } from './interpolate.js';

/**
 * A cluster file is a few KB; the 10,000 agents of bench/grid.ts take 539 KB. The YAML parser needs
 * about a second per 256 KB of hostile input such as `- - - ...` inside brackets, so files over
 * 640 KiB are refused unparsed; and a device such as /dev/zero is not read forever.
 */
export const MAX_SPEC_BYTES = 640 * 1024;

/** At most MAX_SPEC_BYTES + 1 bytes of `file` (a pipe or device is read as far as that, not to its end). */
async function readCapped(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got)
      got = (await handle.read(buf, n, buf.length - n, null)).bytesRead;
    return buf.subarray(0, n);
  } finally {
    await handle.close();
  }
}

/**
 * Read and validate a cluster file, its `${NAME}` references resolved from `env` (the CLI passes
 * process.env). Unreadable files are a MesoError; invalid ones come back as diagnostics.
 */
export async function loadSpecFile(file: string, env: Env = {}): Promise<Validation> {
  let bytes: Buffer;
  try {
    bytes = await readCapped(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : String(code);
    throw new MesoError('SpecUnreadable', `cannot read ${file}: ${why}`, {
      hint: 'give the path of a cluster file, e.g. clusters/ha.yaml',
    });
  }
  if (bytes.length > MAX_SPEC_BYTES) {
    throw new MesoError('SpecInvalid', `${file} is larger than ${MAX_SPEC_BYTES / 1024} KiB`, {
      hint: 'a cluster file is a few KB (10,000 static hosts take about 540 KB); check that this is the cluster file',
    });
  }
  return validateText(bytes.toString('utf8'), file, env);
}
