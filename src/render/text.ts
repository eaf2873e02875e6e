/** Small, pure helpers for the text of the files meso writes. */

export const MANAGED = 'Managed by meso; changes are overwritten by the next `meso apply`.';

/** A file with one value per line, as the Mesos packages' flag files hold. */
export const valueFile = (value: string | number): string => `${String(value)}\n`;

/** Fill `{{name}}` placeholders; a missing value is a bug in meso, not a user error. */
export function fill(
  template: string,
  vars: Readonly<Record<string, string | number>>,
  name: string,
): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new Error(`template ${name} uses {{${key}}} but no value was given`);
    return String(v);
  });
}

/** `work_dir` -> `MESOS_WORK_DIR`, the environment form Mesos and the Docker images read. */
export const envName = (prefix: string, flag: string): string => `${prefix}${flag.toUpperCase()}`;
