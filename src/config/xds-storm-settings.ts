import { flag, type Flags, SettingsError } from './sources';

/** The xDS server's storm control settings by name (the control plane's DEFAULT_STORM_CONTROL has the defaults). */
export const XDS_STORM_NAMES = [
  'firstResponses',
  'firstResponseHoldMs',
  'requestsPerSecond',
  'requestBurst',
  'pushSliceMs',
] as const;
export type XdsStormName = (typeof XDS_STORM_NAMES)[number];
export type XdsStormSettings = Partial<Record<XdsStormName, number>>;

/** `firstResponses` → flag `--xds-first-responses`, env `XDS_FIRST_RESPONSES`. */
export const stormFlag = (name: string): string =>
  `xds-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
export const stormEnv = (name: string): string =>
  `XDS_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

/** What flags, env and the file's `xds:` section set, each a whole number from 1; the rest stays default. */
export function xdsStorm(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  fromFile: XdsStormSettings | undefined,
): XdsStormSettings {
  const out: XdsStormSettings = {};
  const problems: string[] = [];
  for (const name of XDS_STORM_NAMES) {
    const fromFlag = flag(flags, stormFlag(name));
    const source = fromFlag !== undefined ? `--${stormFlag(name)}` : stormEnv(name);
    const raw = fromFlag ?? env[stormEnv(name)];
    if (raw !== undefined && raw !== '') {
      const n = Number(raw);
      if (!/^\d+$/.test(raw.trim()) || n < 1 || n > 2 ** 31 - 1)
        problems.push(`${source} must be a whole number from 1, got "${raw}"`);
      else out[name] = n;
    } else if (fromFile?.[name] !== undefined) out[name] = fromFile[name];
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return out;
}
