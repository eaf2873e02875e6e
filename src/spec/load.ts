import { readFile } from 'node:fs/promises';
import { MesoError } from '../util/errors.js';
import { validateText } from './validate.js';
import type { Validation } from './validate.js';

/** Read and validate a cluster file. Unreadable files are a MesoError; invalid ones come back as diagnostics. */
export async function loadSpecFile(file: string): Promise<Validation> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
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
  return validateText(text, file);
}
