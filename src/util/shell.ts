import { MesoError } from './errors.js';

function refuseNul(value: string): void {
  if (value.includes('\0')) {
    throw new MesoError('Internal', 'a value containing a NUL byte cannot be a shell argument', {
      hint: 'this is a bug in meso: pass such data on stdin',
    });
  }
}

/** Always one single-quoted shell word, whatever the value holds. */
export function shellQuoteArg(value: string): string {
  refuseNul(value);
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** One shell word: left bare when it is plainly safe, single-quoted otherwise. */
export function shellQuote(value: string): string {
  refuseNul(value);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : shellQuoteArg(value);
}

/** The command that runs one of meso's fixed on-host scripts; `$0` names it in the host's logs. */
export const scriptCommand = (script: string, name: string, shell = 'bash'): string =>
  `${shell} -c ${shellQuoteArg(script)} ${name}`;
