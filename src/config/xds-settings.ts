import { kebabFlag, namedNumbers, snakeEnv } from './named-numbers';
import type { Flags } from './sources';

/** The xDS server's settings by name: storm control and override TTLs (DEFAULT_XDS_SERVING has the defaults). */
export const XDS_SETTING_NAMES = [
  'firstResponses',
  'firstResponseHoldMs',
  'requestsPerSecond',
  'requestBurst',
  'pushSliceMs',
  'overrideTtlMs',
  'heartbeatMs',
] as const;
export type XdsSettingName = (typeof XDS_SETTING_NAMES)[number];
export type XdsSettings = Partial<Record<XdsSettingName, number>>;

/** `firstResponses` → flag `--xds-first-responses`, env `XDS_FIRST_RESPONSES`. */
export const xdsFlag = (name: string): string => kebabFlag('xds-', name);
export const xdsEnv = (name: string): string => snakeEnv('XDS_', name);

/** Override TTL defaults (the rest of DEFAULT_XDS_SERVING is storm control's). */
export const OVERRIDE_TTL_DEFAULTS = { overrideTtlMs: 30_000, heartbeatMs: 10_000 } as const;

/** What flags, env and the file's `xds:` section set, each a whole number from 1; the rest stays default. */
export function xdsSettings(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  fromFile: XdsSettings | undefined,
): XdsSettings {
  const set = namedNumbers(XDS_SETTING_NAMES, { flag: 'xds-', env: 'XDS_' }, flags, env, fromFile, 1);
  const ttl = set.overrideTtlMs ?? OVERRIDE_TTL_DEFAULTS.overrideTtlMs;
  const heartbeat = set.heartbeatMs ?? OVERRIDE_TTL_DEFAULTS.heartbeatMs;
  // A heartbeat that comes after the TTL would let every override lapse between two heartbeats.
  if (heartbeat >= ttl)
    throw new Error(
      `xDS heartbeatMs (${heartbeat}) must be below overrideTtlMs (${ttl}): --${xdsFlag('heartbeatMs')} (${xdsEnv('heartbeatMs')}), --${xdsFlag('overrideTtlMs')} (${xdsEnv('overrideTtlMs')})`,
    );
  return set;
}
