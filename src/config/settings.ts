import type { EngineSpec } from '../model/engine';
import { type H2Limits, LIMIT_NAMES, h2Limits } from '../protocol/h2/limits';
import type { FileEntry, FileSettings } from './config-file';
import { resolveSecurity, type SecuritySettings } from './security-settings';

/** Every setting a Nerve process can take. Sources in order: flags, environment, config file, defaults. */
export interface Settings {
  readonly host: string;
  readonly apiPort: number;
  readonly xdsPort: number;
  readonly routerPort: number;
  readonly routerAdminPort: number;
  readonly routerId: string;
  readonly controlPlanes: readonly string[];
  readonly logLevel: string;
  readonly redisUrl: string | undefined;
  /** Key prefix in Redis (NERVE_REDIS_PREFIX), so fleets and tests can share one Redis. */
  readonly redisPrefix: string;
  /** This control-plane replica's id (default: host name and pid). */
  readonly replicaId: string | undefined;
  /** Leader lease; renewed every third of it. */
  readonly leaderLeaseMs: number;
  /** Where managed instances' output files go (NERVE_RUN_DIR; default: the system's temp directory). */
  readonly runDir: string | undefined;
  readonly engines: readonly EngineSpec[];
  /** Alert rules, channels and silences from the config file. */
  readonly entries: readonly FileEntry[];
  /** The router ingress's HTTP/2 limits: defaults with what flags, env or the file set. */
  readonly routerHttp2: H2Limits;
  /** Authentication, TLS, CORS. */
  readonly security: SecuritySettings;
}

/** `maxConnections` → flag `--h2-max-connections`, env `ROUTER_H2_MAX_CONNECTIONS`. */
export const limitFlag = (name: string): string =>
  `h2-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
export const limitEnv = (name: string): string =>
  `ROUTER_H2_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

function http2Limits(flags: Flags, env: NodeJS.ProcessEnv, file: FileSettings | undefined): H2Limits {
  const overrides: Partial<Record<keyof H2Limits, number>> = {};
  for (const name of LIMIT_NAMES) {
    const fromFlag = flag(flags, limitFlag(name));
    const source = fromFlag !== undefined ? `--${limitFlag(name)}` : limitEnv(name);
    const raw = fromFlag ?? env[limitEnv(name)];
    if (raw !== undefined && raw !== '') {
      const n = Number(raw);
      if (!/^\d+$/.test(raw.trim()))
        throw new SettingsError(`${source} must be a whole number, got "${raw}"`);
      overrides[name] = n;
    } else if (file?.router?.http2?.[name] !== undefined) overrides[name] = file.router.http2[name];
  }
  try {
    return h2Limits(overrides);
  } catch (err) {
    throw new SettingsError((err as Error).message);
  }
}

export type Flags = Record<string, string | boolean | undefined>;

export class SettingsError extends Error {}

function portFrom(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new SettingsError(`${name} must be a port from 0 to 65535, got "${value}"`);
  return n;
}

function redisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^rediss?:\/\/[^\s]+$/.test(raw))
    throw new SettingsError(
      `REDIS_URL must look like redis://host:6379/0 (or rediss:// for TLS), got "${withoutPassword(raw)}"`,
    );
  return raw;
}

/** A URL as it may be shown: a password in it is replaced (settings errors are printed and logged). */
function withoutPassword(url: string): string {
  return url.replace(/(\/\/[^:/@\s]*:)[^@/\s]*@/, '$1***@');
}

function wholeMs(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 300 || n > 600_000)
    throw new SettingsError(`${name} must be milliseconds from 300 to 600000, got "${raw}"`);
  return n;
}

function flag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** Resolves settings; throws SettingsError with the offending source named. */
export function resolveSettings(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: FileSettings | undefined,
  defaults: { host: string },
): Settings {
  const port = (flagName: string, envName: string, fromFile: number | undefined, fallback: number) =>
    portFrom(`--${flagName}`, flag(flags, flagName)) ??
    portFrom(envName, env[envName]) ??
    fromFile ??
    fallback;
  const controlPlanes = (flag(flags, 'control-plane') ?? env.CONTROL_PLANE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    host: flag(flags, 'host') ?? env.HOST ?? file?.host ?? defaults.host,
    apiPort: port('api-port', 'API_PORT', file?.apiPort, 3000),
    xdsPort: port('xds-port', 'XDS_PORT', file?.xdsPort, 18000),
    routerPort: port('port', 'ROUTER_PORT', file?.router?.port, 50051),
    routerAdminPort: port('admin-port', 'ROUTER_ADMIN_PORT', file?.router?.adminPort, 9901),
    routerId: flag(flags, 'id') ?? env.ROUTER_ID ?? file?.router?.id ?? `router-${process.pid}`,
    controlPlanes:
      controlPlanes.length > 0 ? controlPlanes : (file?.router?.controlPlanes ?? ['127.0.0.1:18000']),
    logLevel: flag(flags, 'log-level') ?? env.LOG_LEVEL ?? file?.logLevel ?? 'info',
    redisUrl: redisUrl(flag(flags, 'redis-url') ?? (env.REDIS_URL || file?.redisUrl || undefined)),
    redisPrefix: flag(flags, 'redis-prefix') ?? env.NERVE_REDIS_PREFIX ?? file?.redisPrefix ?? 'nerve:',
    replicaId: flag(flags, 'replica-id') ?? (env.NERVE_REPLICA_ID || undefined),
    leaderLeaseMs: wholeMs(
      'NERVE_LEADER_LEASE_MS (--leader-lease-ms)',
      flag(flags, 'leader-lease-ms') ?? env.NERVE_LEADER_LEASE_MS,
      file?.leaderLeaseMs ?? 15_000,
    ),
    runDir: flag(flags, 'run-dir') ?? (env.NERVE_RUN_DIR || file?.runDir || undefined),
    engines: file?.engines ?? [],
    entries: file?.entries ?? [],
    routerHttp2: http2Limits(flags, env, file),
    security: resolveSecurity(flags, env, file),
  };
}
