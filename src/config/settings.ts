import type { EngineSpec } from '../model/engine';
import { type H2Limits, LIMIT_NAMES, h2Limits } from '../protocol/h2/limits';
import type { FileEntry, FileSettings } from './config-file';
import { resolveSecurity, type SecuritySettings } from './security-settings';
import { flag, type Flags, SettingsError } from './sources';
import { xdsSettings, type XdsSettings } from './xds-settings';
import { redisMinReplicas, redisTarget } from './redis-settings';
import type { RedisTarget } from '../model/redis-target';
import { kebabFlag, namedNumbers, snakeEnv } from './named-numbers';

export { type Flags, SettingsError };
import { DEFAULT_FEATURES, FeatureError, type Features, parseFeatures } from './features';

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
  /** The configuration store: one Redis (REDIS_URL) or Sentinel's primary (REDIS_SENTINELS); none: in memory. */
  readonly redis: RedisTarget | undefined;
  /** Replicas that must confirm a commit or a lease change (NERVE_REDIS_MIN_REPLICAS); undefined: the store's default. */
  readonly redisMinReplicas: number | undefined;
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
  /** Feature flags (features.ts). */
  readonly features: Features;
  /** Daily rotated log files go here too (LOG_DIR); unset: stderr only. */
  readonly logDir: string | undefined;
  /** Share of the traces a router starts that are sampled (TRACE_SAMPLE_RATIO, 0 to 1; default 0). */
  readonly traceSampleRatio: number;
  /** The control plane's xDS serving (storm control, override TTLs): what flags, env (XDS_*) or the file's `xds:` set. */
  readonly xds: XdsSettings;
}

/** `maxConnections` → flag `--h2-max-connections`, env `ROUTER_H2_MAX_CONNECTIONS`. */
export const limitFlag = (name: string): string => kebabFlag('h2-', name);
export const limitEnv = (name: string): string => snakeEnv('ROUTER_H2_', name);

function http2Limits(flags: Flags, env: NodeJS.ProcessEnv, file: FileSettings | undefined): H2Limits {
  const overrides = namedNumbers(
    LIMIT_NAMES,
    { flag: 'h2-', env: 'ROUTER_H2_' },
    flags,
    env,
    file?.router?.http2 as Partial<Record<keyof H2Limits, number>> | undefined,
  );
  try {
    return h2Limits(overrides);
  } catch (err) {
    throw new SettingsError((err as Error).message);
  }
}

/** Runs `resolve`; a SettingsError (or a feature error) is noted in `problems` and `fallback` stands in. */
function attempt<T>(problems: string[], resolve: () => T, fallback: T): T {
  try {
    return resolve();
  } catch (err) {
    if (err instanceof SettingsError || err instanceof FeatureError) problems.push(...err.errors);
    else throw err;
    return fallback;
  }
}

function portFrom(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new SettingsError(`${name} must be a port from 0 to 65535, got "${value}"`);
  return n;
}

function wholeMs(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 300 || n > 600_000)
    throw new SettingsError(`${name} must be milliseconds from 300 to 600000, got "${raw}"`);
  return n;
}

/** Resolves settings; throws one SettingsError listing every bad setting, each with its source named. */
export function resolveSettings(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: FileSettings | undefined,
  defaults: { host: string },
): Settings {
  const problems: string[] = [];
  const port = (flagName: string, envName: string, fromFile: number | undefined, fallback: number) =>
    attempt(
      problems,
      () =>
        portFrom(`--${flagName}`, flag(flags, flagName)) ??
        portFrom(envName, env[envName]) ??
        fromFile ??
        fallback,
      fallback,
    );
  const controlPlanes = (flag(flags, 'control-plane') ?? env.CONTROL_PLANE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const logLevel = flag(flags, 'log-level') ?? env.LOG_LEVEL ?? file?.logLevel ?? 'info';
  if (!['error', 'warn', 'info', 'http', 'debug', 'silent'].includes(logLevel))
    problems.push(
      `LOG_LEVEL (--log-level) must be error, warn, info, http, debug or silent, got "${logLevel}"`,
    );
  const settings: Omit<Settings, 'security'> = {
    host: flag(flags, 'host') ?? env.HOST ?? file?.host ?? defaults.host,
    apiPort: port('api-port', 'API_PORT', file?.apiPort, 3000),
    xdsPort: port('xds-port', 'XDS_PORT', file?.xdsPort, 18000),
    routerPort: port('port', 'ROUTER_PORT', file?.router?.port, 50051),
    routerAdminPort: port('admin-port', 'ROUTER_ADMIN_PORT', file?.router?.adminPort, 9901),
    routerId: flag(flags, 'id') ?? env.ROUTER_ID ?? file?.router?.id ?? `router-${process.pid}`,
    controlPlanes:
      controlPlanes.length > 0 ? controlPlanes : (file?.router?.controlPlanes ?? ['127.0.0.1:18000']),
    logLevel,
    redis: attempt(problems, () => redisTarget(flags, env, file), undefined),
    redisMinReplicas: attempt(
      problems,
      () =>
        redisMinReplicas(
          flags,
          env,
          file,
          attempt([], () => redisTarget(flags, env, file), undefined),
        ),
      undefined,
    ),
    redisPrefix: flag(flags, 'redis-prefix') ?? env.NERVE_REDIS_PREFIX ?? file?.redisPrefix ?? 'nerve:',
    replicaId: flag(flags, 'replica-id') ?? (env.NERVE_REPLICA_ID || undefined),
    leaderLeaseMs: attempt(
      problems,
      () =>
        wholeMs(
          'NERVE_LEADER_LEASE_MS (--leader-lease-ms)',
          flag(flags, 'leader-lease-ms') ?? env.NERVE_LEADER_LEASE_MS,
          file?.leaderLeaseMs ?? 15_000,
        ),
      15_000,
    ),
    runDir: flag(flags, 'run-dir') ?? (env.NERVE_RUN_DIR || file?.runDir || undefined),
    engines: file?.engines ?? [],
    entries: file?.entries ?? [],
    routerHttp2: attempt(problems, () => http2Limits(flags, env, file), h2Limits({})),
    xds: attempt(problems, () => xdsSettings(flags, env, file?.xds), {}),
    features: attempt(problems, () => features(flags, env, file), DEFAULT_FEATURES),
    logDir: flag(flags, 'log-dir') ?? (env.LOG_DIR || file?.logDir || undefined),
    traceSampleRatio: attempt(
      problems,
      () =>
        ratio(
          'TRACE_SAMPLE_RATIO (--trace-sample-ratio)',
          flag(flags, 'trace-sample-ratio') ?? env.TRACE_SAMPLE_RATIO,
          file?.traceSampleRatio,
        ),
      0,
    ),
  };
  // Security settings have no stand-in: when they are bad, the list below says why.
  const security = attempt<SecuritySettings | undefined>(
    problems,
    () => resolveSecurity(flags, env, file),
    undefined,
  );
  if (problems.length > 0 || security === undefined) throw new SettingsError(problems);
  return { ...settings, security };
}

/** The file's `features:` map, then NERVE_FEATURES, then --features: each may name some flags. */
function features(flags: Flags, env: NodeJS.ProcessEnv, file: FileSettings | undefined): Features {
  let out = DEFAULT_FEATURES;
  const problems: string[] = [];
  const layers: [string, string | undefined][] = [
    [
      'features (config file)',
      file?.features &&
        Object.entries(file.features)
          .map(([k, v]) => `${k}=${v ? 'on' : 'off'}`)
          .join(','),
    ],
    ['NERVE_FEATURES', env.NERVE_FEATURES],
    ['--features', flag(flags, 'features')],
  ];
  for (const [source, raw] of layers) {
    if (!raw) continue;
    try {
      out = parseFeatures(raw, source, out);
    } catch (err) {
      if (err instanceof FeatureError) problems.push(...err.errors);
      else throw err;
    }
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return out;
}

function ratio(name: string, raw: string | undefined, fromFile: number | undefined): number {
  if (raw === undefined || raw === '') return fromFile ?? 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new SettingsError(`${name} must be from 0 to 1, got "${raw}"`);
  return n;
}
