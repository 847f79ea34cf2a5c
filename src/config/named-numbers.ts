import { flag, type Flags, SettingsError } from './sources';

/** `maxConnections` with prefix `h2-` → `--h2-max-connections`. */
export const kebabFlag = (prefix: string, name: string): string =>
  `${prefix}${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
/** `maxConnections` with prefix `ROUTER_H2_` → `ROUTER_H2_MAX_CONNECTIONS`. */
export const snakeEnv = (prefix: string, name: string): string =>
  `${prefix}${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/**
 * A group of whole-number settings by name (HTTP/2 limits, xDS storm control): each from its flag, else
 * its environment variable, else the file's section; what none sets is left out (the group's default
 * stands). Throws one SettingsError naming every bad value with its source.
 */
export function namedNumbers<N extends string>(
  names: readonly N[],
  prefixes: { readonly flag: string; readonly env: string },
  flags: Flags,
  env: NodeJS.ProcessEnv,
  fromFile: Partial<Record<N, number>> | undefined,
  min = 0,
): Partial<Record<N, number>> {
  const out: Partial<Record<N, number>> = {};
  const problems: string[] = [];
  for (const name of names) {
    const flagName = kebabFlag(prefixes.flag, name);
    const envName = snakeEnv(prefixes.env, name);
    const fromFlag = flag(flags, flagName);
    const source = fromFlag !== undefined ? `--${flagName}` : envName;
    const raw = fromFlag ?? env[envName];
    if (raw !== undefined && raw !== '') {
      const n = Number(raw);
      if (!/^\d+$/.test(raw.trim()) || n < min || n > 2 ** 31 - 1)
        problems.push(`${source} must be a whole number${min > 0 ? ` from ${min}` : ''}, got "${raw}"`);
      else out[name] = n;
    } else if (fromFile?.[name] !== undefined) out[name] = fromFile[name];
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return out;
}
