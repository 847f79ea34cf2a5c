import { kebabFlag, namedNumbers, snakeEnv } from './named-numbers';
import type { Flags } from './sources';

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
export const stormFlag = (name: string): string => kebabFlag('xds-', name);
export const stormEnv = (name: string): string => snakeEnv('XDS_', name);

/** What flags, env and the file's `xds:` section set, each a whole number from 1; the rest stays default. */
export function xdsStorm(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  fromFile: XdsStormSettings | undefined,
): XdsStormSettings {
  return namedNumbers(XDS_STORM_NAMES, { flag: 'xds-', env: 'XDS_' }, flags, env, fromFile, 1);
}
