import { parseArgs } from 'node:util';
import { type Flags, resolveSettings, type Settings } from '../../config/settings';

export class UsageError extends Error {}

/** Parses a command's flags (all string-valued unless listed as booleans); unknown flags are errors. */
export function parseFlags(
  args: string[],
  names: readonly string[],
  booleans: readonly string[] = [],
): Flags {
  const options = Object.fromEntries([
    ...names.map((n) => [n, { type: 'string' as const }]),
    ...booleans.map((n) => [n, { type: 'boolean' as const }]),
  ]);
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Flags;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Settings for a command: its flags, the environment, the --config file, then defaults. */
export function settingsFor(flags: Flags, defaultHost: string): Settings {
  let file;
  if (typeof flags.config === 'string') {
    // Required here, not imported: the YAML parser and the config schemas cost a router that runs from
    // flags and xDS alone several MB of memory and 100 ms of start-up.
    type ConfigFile = typeof import('../../config/config-file');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadConfigFile } = require('../../config/config-file') as ConfigFile;
    const loaded = loadConfigFile(flags.config);
    if (!loaded.ok) throw new UsageError(`invalid configuration:\n  ${loaded.errors.join('\n  ')}`);
    file = loaded.value;
  }
  return resolveSettings(flags, process.env, file, { host: defaultHost });
}

export function intFlag(flags: Flags, name: string, fallback: number, min: number, max: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${String(raw)}"`);
  return n;
}
