import type { DesiredSoftware } from '../render/types.js';

/** How observation and plan name one piece of software. */
export function softwareKey(s: DesiredSoftware): string {
  return s.kind === 'package'
    ? `package:${s.name}`
    : s.kind === 'archive'
      ? `archive:${s.prefix}`
      : `image:${s.ref}`;
}
