import { LIMIT_NAMES, DEFAULT_LIMITS } from '../../protocol/h2/limits';
import { limitEnv, limitFlag } from '../../config/settings';
import { xdsEnv, xdsFlag, XDS_SETTING_NAMES } from '../../config/xds-settings';
import { DEFAULT_XDS_SERVING } from '../../control-plane/xds/ads-server';

/** A command-line flag: what `--help` says of it, and its environment variable, if it has one. */
export interface FlagSpec {
  readonly name: string;
  readonly help: string;
  readonly env?: string;
  readonly boolean?: boolean;
}

const CONFIG: FlagSpec = {
  name: 'config',
  help: 'YAML configuration file (engines, ports, router settings)',
};
const LOG_LEVEL: FlagSpec = {
  name: 'log-level',
  env: 'LOG_LEVEL',
  help: 'error, warn, info (default), http, debug or silent; changeable at run time (PUT /log-level)',
};
const LOG_DIR: FlagSpec = {
  name: 'log-dir',
  env: 'LOG_DIR',
  help: 'also write daily rotated JSON log files here (14 days kept)',
};
const FEATURES: FlagSpec = {
  name: 'features',
  env: 'NERVE_FEATURES',
  help: 'feature flags, name=on|off[,…]: dashboard, liveFeed, apiDocs, activeHealthChecks, autoscaling, fleetRetryBudget',
};
const TRACE_SAMPLE_RATIO: FlagSpec = {
  name: 'trace-sample-ratio',
  env: 'TRACE_SAMPLE_RATIO',
  help: 'share of the traces the router starts that are sampled, 0 to 1 (default 0); OTEL_EXPORTER_OTLP_ENDPOINT exports them',
};
const host = (fallback: string): FlagSpec => ({
  name: 'host',
  env: 'HOST',
  help: `address to listen on (default ${fallback})`,
});
const port = (name: string, env: string, what: string, fallback: number): FlagSpec => ({
  name,
  env,
  help: `${what} port (default ${fallback}; 0 picks a free one)`,
});

const flag = (name: string, env: string, help: string): FlagSpec => ({ name, env, help });
/** TLS of this process's listeners (and its client certificate where it calls out). */
const TLS: readonly FlagSpec[] = [
  flag('tls-cert-file', 'TLS_CERT_FILE', 'certificate (PEM) to serve TLS with, and to present as a client'),
  flag('tls-key-file', 'TLS_KEY_FILE', 'its private key (PEM)'),
  flag('tls-ca-file', 'TLS_CA_FILE', 'CA bundle (PEM): peers must present a certificate it signed (mTLS)'),
];
/** What a control plane accepts as credentials. */
const AUTH: readonly FlagSpec[] = [
  flag('enable-auth', 'ENABLE_AUTH', 'true: every call needs credentials and a role (default false)'),
  flag('jwt-secret', 'JWT_SECRET', 'HS256 key of bearer tokens, 32 bytes or more (prefer the variable)'),
  flag('jwks-url', 'JWKS_URL', 'RS256/ES256 keys of bearer tokens, from this JWKS document'),
  flag('jwt-public-key-file', 'JWT_PUBLIC_KEY_FILE', 'RS256/ES256 public key or certificate, PEM'),
  flag('jwt-issuer', 'JWT_ISSUER', "tokens' iss must be this"),
  flag('jwt-audience', 'JWT_AUDIENCE', "tokens' aud must include this"),
  flag('api-keys', 'API_KEYS', 'keys before any is created: name:role:secret[,…] (prefer the variable)'),
  flag('cors-origins', 'CORS_ORIGINS', 'origins browsers may call the REST API from, comma list'),
  flag(
    'rate-limit-per-minute',
    'RATE_LIMIT_PER_MINUTE',
    'admin calls a minute per address and per credential (default 6000, 0: none)',
  ),
];
/** What a router or engine presents to the control plane. */
const TOKEN = flag('token', 'NERVE_TOKEN', 'credentials for the control plane: a JWT or an API key');

/** xDS storm control (README: Proxyless gRPC), one flag each. */
const XDS_STORM: FlagSpec[] = XDS_SETTING_NAMES.map((name) => ({
  name: xdsFlag(name),
  env: xdsEnv(name),
  help: `xDS storm control ${name} (default ${DEFAULT_XDS_SERVING[name]}; README: Proxyless gRPC)`,
}));

/** Every command's flags, in the order `--help` lists them. */
export const COMMAND_FLAGS: Record<string, readonly FlagSpec[]> = {
  demo: [
    port('api-port', 'API_PORT', 'REST API', 3000),
    port('xds-port', 'XDS_PORT', 'xDS, admin gRPC and reflection', 18000),
    port('router-port', 'ROUTER_PORT', 'router gRPC ingress', 50051),
    port('router-admin-port', 'ROUTER_ADMIN_PORT', 'router metrics and admin', 9901),
    { name: 'engines', help: 'demo engines to run, 1 to 500 (default 5)' },
    { name: 'instances', help: 'instances per engine, 1 to 50 (default 2)' },
    CONFIG,
    host('127.0.0.1'),
    LOG_LEVEL,
    LOG_DIR,
    FEATURES,
    TRACE_SAMPLE_RATIO,
    ...XDS_STORM,
  ],
  'control-plane': [
    port('api-port', 'API_PORT', 'REST API', 3000),
    port('xds-port', 'XDS_PORT', 'xDS, admin gRPC and reflection', 18000),
    {
      name: 'redis-url',
      env: 'REDIS_URL',
      help: 'configuration store shared by replicas, redis://host:6379/0 (default: in memory)',
    },
    {
      name: 'redis-sentinels',
      env: 'REDIS_SENTINELS',
      help: 'the store through Redis Sentinel instead: host:port,host:port,… (with --redis-sentinel-name)',
    },
    {
      name: 'redis-sentinel-name',
      env: 'REDIS_SENTINEL_NAME',
      help: "the primary's name in the Sentinels' configuration (sentinel monitor <name> …)",
    },
    { name: 'redis-password', env: 'REDIS_PASSWORD', help: "Redis's password (prefer the variable)" },
    {
      name: 'redis-sentinel-password',
      env: 'REDIS_SENTINEL_PASSWORD',
      help: "the Sentinels' own password (prefer the variable)",
    },
    {
      name: 'redis-tls',
      env: 'REDIS_TLS',
      help: 'TLS to the Sentinels and the Redis they name (one Redis: rediss://)',
      boolean: true,
    },
    {
      name: 'redis-min-replicas',
      env: 'NERVE_REDIS_MIN_REPLICAS',
      help: 'replicas that must confirm a commit or a lease change (default 1 with Sentinel, else 0)',
    },
    { name: 'redis-prefix', env: 'NERVE_REDIS_PREFIX', help: 'key prefix in Redis (default nerve:)' },
    { name: 'replica-id', env: 'NERVE_REPLICA_ID', help: "this replica's id (default <host>-<pid>)" },
    {
      name: 'leader-lease-ms',
      env: 'NERVE_LEADER_LEASE_MS',
      help: 'leader lease for fleet-wide work, renewed every third (default 15000)',
    },
    {
      name: 'run-dir',
      env: 'NERVE_RUN_DIR',
      help: "managed instances' output files (default <tmpdir>/nerve-processes)",
    },
    ...AUTH,
    ...TLS,
    CONFIG,
    host('0.0.0.0'),
    LOG_LEVEL,
    LOG_DIR,
    FEATURES,
    ...XDS_STORM,
  ],
  router: [
    {
      name: 'control-plane',
      env: 'CONTROL_PLANE',
      help: 'control planes, host:port[,host:port…] (default 127.0.0.1:18000)',
    },
    port('port', 'ROUTER_PORT', 'gRPC ingress', 50051),
    port('admin-port', 'ROUTER_ADMIN_PORT', 'metrics and admin HTTP', 9901),
    { name: 'id', env: 'ROUTER_ID', help: 'router id, as the control plane lists it (default router-<pid>)' },
    TOKEN,
    ...TLS,
    CONFIG,
    host('0.0.0.0'),
    LOG_LEVEL,
    LOG_DIR,
    TRACE_SAMPLE_RATIO,
    ...LIMIT_NAMES.map((name) => ({
      name: limitFlag(name),
      env: limitEnv(name),
      help: `HTTP/2 limit ${name} (default ${DEFAULT_LIMITS[name]}; README: HTTP/2 limits)`,
    })),
  ],
  config: [
    {
      name: 'api',
      env: 'NERVE_API',
      help: 'a control plane: http://host:3000 or its REST base …/api/v1/nerve (default http://127.0.0.1:$API_PORT, 3000)',
    },
    { name: 'out', help: 'export: write to this file instead of standard output' },
    { name: 'limit', help: 'history: how many versions, newest first (default 20)' },
    { name: 'dry-run', boolean: true, help: 'import: validate and show the changes, apply nothing' },
  ],
  alerts: [
    {
      name: 'api',
      env: 'NERVE_API',
      help: 'a control plane: http://host:3000 or its REST base …/api/v1/nerve (default http://127.0.0.1:$API_PORT, 3000)',
    },
    { name: 'out', help: 'export-alertmanager: write to this file instead of standard output' },
    {
      name: 'dry-run',
      boolean: true,
      help: 'import-alertmanager: show the changes and notes, apply nothing',
    },
  ],
  load: [
    { name: 'target', help: 'host:port of a router or an engine (required)' },
    { name: 'engine', help: 'x-nerve-engine: the engine a router routes to' },
    { name: 'method', help: 'full method path (default /nerve.engine.v1.Engine/Invoke)' },
    { name: 'operation', help: 'Engine/Invoke operation (default echo)' },
    { name: 'payload', help: 'Engine/Invoke payload text (other methods: the message as base64)' },
    { name: 'payload-file', help: 'payloads, one per line, used in turn' },
    { name: 'rps', help: 'open loop: calls per second, evenly spaced; latency from the intended send time' },
    { name: 'concurrency', help: 'closed loop: calls kept in flight (default 10 when --rps is not given)' },
    { name: 'duration', help: 'how long: 500ms, 10s, 2m (default 10s)' },
    { name: 'connections', help: 'HTTP/2 connections, 1 to 1000 (default 1)' },
    { name: 'metadata', help: 'request metadata: key=value[,key=value…]' },
    { name: 'timeout-ms', help: 'per-call deadline (grpc-timeout), default 10000' },
    {
      name: 'max-error-rate',
      help: 'fail (exit 1) when more than this share of calls failed, 0 to 1 (default 0)',
    },
    { name: 'json', boolean: true, help: 'print the report as one JSON object' },
  ],
  engine: [
    {
      name: 'type',
      env: 'ENGINE_TYPE',
      help: 'demo engine type: echo (default), math, crypto, matrix, montecarlo',
    },
    { name: 'name', env: 'ENGINE_NAME', help: 'engine it serves as (default: the type)' },
    { name: 'version', env: 'ENGINE_VERSION', help: 'version it reports (default v1)' },
    { name: 'id', help: 'instance id (default <name>-<random>)' },
    port('port', 'PORT', 'gRPC', 0),
    {
      name: 'advertise-host',
      env: 'ADVERTISE_HOST',
      help: 'host routers reach it at (default: --host, or for 0.0.0.0 the first external IPv4 address)',
    },
    {
      name: 'control-plane',
      env: 'CONTROL_PLANE',
      help: 'host:port: register with a lease on start, heartbeat, leave on SIGTERM',
    },
    { name: 'lease-ttl-ms', help: 'registration lease, 1000 to 600000 ms (default 15000)' },
    TOKEN,
    ...TLS,
    { name: 'fault-delay-ms', help: 'added latency per call, 0 to 600000 (default 0)' },
    { name: 'fault-error-rate', help: 'percent of calls that fail, 0 to 100 (default 0)' },
    host('127.0.0.1'),
    LOG_LEVEL,
  ],
};

/** The flags' names, as parseFlags takes them. */
export function flagNames(command: string): string[] {
  return COMMAND_FLAGS[command].filter((f) => !f.boolean).map((f) => f.name);
}

/** `--help` of one command. */
/** Commands with subcommands or arguments: their usage line. */
const USAGE: Record<string, string> = {
  config: 'nerve config export [--out FILE] | import FILE [--dry-run] | history [--limit N]   [flags]',
  alerts: 'nerve alerts import-alertmanager FILE [--dry-run] | export-alertmanager [--out FILE]   [flags]',
};

export function commandHelp(command: string, summary: string): string {
  const flags = COMMAND_FLAGS[command];
  const width = Math.max(...flags.map((f) => f.name.length)) + 10;
  return [
    `usage: ${USAGE[command] ?? `nerve ${command} [flags]`}`,
    '',
    summary,
    '',
    'flags (each also from its environment variable, then the --config file, then the default):',
    ...flags.map(
      (f) =>
        `  ${`--${f.name}${f.boolean ? '' : ' VALUE'}`.padEnd(width)} ${f.help}${f.env ? ` [${f.env}]` : ''}`,
    ),
  ].join('\n');
}
