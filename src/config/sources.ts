/**
 * Where a setting comes from, in order: its command-line flag, its environment variable, the config
 * file, the default. Every settings resolver (general, security) reads through these.
 */
export type Flags = Record<string, string | boolean | undefined>;

/** One or more bad settings: `errors` lists every one, each naming its source (flag, variable or key). */
export class SettingsError extends Error {
  readonly errors: readonly string[];
  constructor(errors: string | readonly string[]) {
    const list = typeof errors === 'string' ? [errors] : errors;
    super(list.length === 1 ? list[0] : `${list.length} bad settings:\n  ${list.join('\n  ')}`);
    this.errors = list;
  }
}

/** A flag's value when it was given one (`--name value`). */
export function flag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * One setting by precedence: its flag (a bare `--flag` is "true"), else its environment variable, else
 * the file's key; empty values count as unset.
 */
export function fromSources<K extends string>(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: Partial<Record<K, unknown>>,
): (flagName: string, envName: string, key: K) => string | undefined {
  return (flagName, envName, key) => {
    const f = flags[flagName];
    if (typeof f === 'string' && f !== '') return f;
    if (f === true) return 'true';
    const e = env[envName];
    if (e !== undefined && e !== '') return e;
    const v = file[key];
    return v === undefined ? undefined : String(v);
  };
}
