// The presets, by name. Each is one file in this folder; the README documents what each writes.
import type { Preset } from '../types.js';

export const PRESETS: ReadonlyMap<string, Preset> = new Map<string, Preset>([]);
