import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** A stand-in program of test/fixtures/standins (Mesos and Marathon cannot be installed here) at `version`. */
export const standin = (program: string, version: string): string =>
  readFileSync(join(ROOT, 'test/fixtures/standins', program), 'utf8').replace('@VERSION@', version);
