import type { HostPort, RedisTarget } from '../model/redis-target';
import { type Flags, fromSources, SettingsError } from './sources';

/** The config file's keys for the store (top level, beside `redisPrefix`). */
export interface RedisFileSettings {
  readonly redisUrl?: string;
  readonly redisSentinels?: string | readonly string[];
  readonly redisSentinelName?: string;
  readonly redisPassword?: string;
  readonly redisSentinelPassword?: string;
  readonly redisTls?: boolean;
  readonly redisMinReplicas?: number;
}

const SOURCES = {
  url: ['redis-url', 'REDIS_URL', 'redisUrl'],
  sentinels: ['redis-sentinels', 'REDIS_SENTINELS', 'redisSentinels'],
  name: ['redis-sentinel-name', 'REDIS_SENTINEL_NAME', 'redisSentinelName'],
  password: ['redis-password', 'REDIS_PASSWORD', 'redisPassword'],
  sentinelPassword: ['redis-sentinel-password', 'REDIS_SENTINEL_PASSWORD', 'redisSentinelPassword'],
  tls: ['redis-tls', 'REDIS_TLS', 'redisTls'],
  minReplicas: ['redis-min-replicas', 'NERVE_REDIS_MIN_REPLICAS', 'redisMinReplicas'],
} as const;

/** `REDIS_SENTINELS (--redis-sentinels, redisSentinels)`: how an error names a setting. */
const named = (s: keyof typeof SOURCES) => `${SOURCES[s][1]} (--${SOURCES[s][0]}, ${SOURCES[s][2]})`;

function hostPorts(raw: string): HostPort[] {
  const out: HostPort[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(part);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535)
      throw new SettingsError(`${named('sentinels')} must list host:port pairs, got "${part}"`);
    out.push({ host: m[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  if (out.length === 0) throw new SettingsError(`${named('sentinels')} lists no Sentinel`);
  return out;
}

function yes(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new SettingsError(`${named('tls')} must be true or false, got "${raw}"`);
}

/**
 * The configuration store's target from flags, environment and file: REDIS_URL for one Redis, or
 * REDIS_SENTINELS with REDIS_SENTINEL_NAME for Sentinel; undefined for none (in memory). Half a setting
 * is refused, naming what is missing: a Sentinel list without the primary's name, a name or a Sentinel
 * password without Sentinels, a password or TLS with no store, both a URL and Sentinels, two passwords.
 */
export function redisTarget(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: RedisFileSettings | undefined,
): RedisTarget | undefined {
  const fileValues: Record<string, unknown> = {
    ...file,
    redisSentinels: Array.isArray(file?.redisSentinels)
      ? file.redisSentinels.join(',')
      : file?.redisSentinels,
  };
  const read = fromSources(flags, env, fileValues);
  const get = (s: keyof typeof SOURCES) => read(SOURCES[s][0], SOURCES[s][1], SOURCES[s][2]);
  const url = get('url');
  const sentinels = get('sentinels');
  const name = get('name');
  const password = get('password');
  const sentinelPassword = get('sentinelPassword');
  const tls = yes(get('tls'));
  const problems: string[] = [];
  if (url !== undefined && sentinels !== undefined)
    problems.push(`${named('url')} and ${named('sentinels')} name two stores: give one`);
  if (sentinels !== undefined && name === undefined)
    problems.push(
      `${named('sentinels')} needs ${named('name')}: the primary's name in the Sentinels' configuration (sentinel monitor <name> …)`,
    );
  if (sentinels === undefined && name !== undefined)
    problems.push(
      `${named('name')} needs ${named('sentinels')}: the Sentinels to ask (host:port,host:port,…)`,
    );
  if (sentinels === undefined && sentinelPassword !== undefined)
    problems.push(`${named('sentinelPassword')} needs ${named('sentinels')}`);
  if (url === undefined && sentinels === undefined && password !== undefined)
    problems.push(
      `${named('password')} is given with no store: set ${named('url')} or ${named('sentinels')}`,
    );
  if (url !== undefined && tls !== undefined)
    problems.push(`${named('tls')} is for Sentinels: with ${named('url')}, TLS is rediss://`);
  if (url === undefined && sentinels === undefined && tls !== undefined)
    problems.push(`${named('tls')} is given with no store: set ${named('sentinels')}`);
  if (url !== undefined && !/^rediss?:\/\/[^\s]+$/.test(url))
    problems.push(
      `${named('url')} must look like redis://host:6379/0 (or rediss:// for TLS), got "${url.replace(/(\/\/[^:/@\s]*:)[^@/\s]*@/, '$1***@')}"`,
    );
  if (url !== undefined && password !== undefined && /\/\/[^/@\s]*:[^@/\s]+@/.test(url))
    problems.push(`${named('url')} carries a password and ${named('password')} gives another: give one`);
  let list: HostPort[] = [];
  if (sentinels !== undefined)
    try {
      list = hostPorts(sentinels);
    } catch (err) {
      problems.push(...(err as SettingsError).errors);
    }
  if (problems.length > 0) throw new SettingsError(problems);
  if (url !== undefined) return { kind: 'url', url, ...(password === undefined ? {} : { password }) };
  if (sentinels === undefined) return undefined;
  return {
    kind: 'sentinel',
    sentinels: list,
    name: name!,
    ...(password === undefined ? {} : { password }),
    ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
    tls: tls ?? false,
  };
}

/**
 * NERVE_REDIS_MIN_REPLICAS: replicas that must confirm a commit or a lease change (0 to 16); undefined
 * leaves the store's default (1 through Sentinel, 0 for one Redis). Refused with no store.
 */
export function redisMinReplicas(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: RedisFileSettings | undefined,
  store: RedisTarget | undefined,
): number | undefined {
  const raw = fromSources(flags, env, { ...file })(...SOURCES.minReplicas);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 16)
    throw new SettingsError(`${named('minReplicas')} must be a whole number from 0 to 16, got "${raw}"`);
  if (store === undefined)
    throw new SettingsError(
      `${named('minReplicas')} is given with no store: set ${named('url')} or ${named('sentinels')}`,
    );
  return n;
}
