import { existsSync } from 'node:fs';
import { isRole } from '../model/security/roles';
import type { StaticKey } from '../security/api-key-registry';
import type { JwtSettings } from '../security/jwt-verifier';
import type { TlsFiles } from '../security/tls-files';
import type { FileSettings } from './config-file';
import { type Flags, fromSources, SettingsError } from './sources';

/** security settings, as every command resolves them. */
export interface SecuritySettings {
  readonly enableAuth: boolean;
  /** Whether ENABLE_AUTH (--enable-auth, enableAuth) was given: off loopback, unset means on. */
  readonly enableAuthSet: boolean;
  readonly jwt: JwtSettings;
  readonly apiKeys: readonly StaticKey[];
  /** Credentials this process presents to the control plane (routers, registering engines): a JWT or an API key. */
  readonly token: string | undefined;
  readonly tls: TlsFiles | undefined;
  /** Origins browsers may call the REST API from; empty: none but the API's own. */
  readonly corsOrigins: readonly string[];
  /** Admin calls per minute per client address and per credential (RATE_LIMIT_PER_MINUTE); 0: none. */
  readonly rateLimitPerMinute: number;
}

type Key = keyof NonNullable<FileSettings['security']>;

/** name:role:secret[,…] (API_KEYS): keys that exist before any is created through the API. */
export function parseApiKeys(raw: string | undefined): StaticKey[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const [name, role, ...rest] = entry.split(':');
      const secret = rest.join(':');
      if (!name || !/^[a-z0-9][a-z0-9._-]{0,62}$/i.test(name))
        throw new SettingsError(
          `API_KEYS entry ${i + 1}: a name (letters, digits, . _ -) comes first: name:role:secret`,
        );
      if (!isRole(role))
        throw new SettingsError(
          `API_KEYS entry ${i + 1} (${name}): role must be viewer, operator, admin or dataplane`,
        );
      if (secret.length < 24)
        throw new SettingsError(
          `API_KEYS entry ${i + 1} (${name}): the secret must be at least 24 characters`,
        );
      return { name, role, secret };
    });
}

export function resolveSecurity(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  file: FileSettings | undefined,
): SecuritySettings {
  const fromFile = file?.security ?? {};
  // Every problem is collected, so one start lists them all.
  const problems: string[] = [];
  const fail = (message: string) => problems.push(message);
  const get = fromSources<Key>(flags, env, fromFile);
  const enable = get('enable-auth', 'ENABLE_AUTH', 'enableAuth');
  if (enable !== undefined && !/^(true|false|1|0)$/.test(enable))
    fail(`ENABLE_AUTH (--enable-auth) must be true or false, got "${enable}"`);
  const jwt: JwtSettings = {
    secret: get('jwt-secret', 'JWT_SECRET', 'jwtSecret'),
    jwksUrl: get('jwks-url', 'JWKS_URL', 'jwksUrl'),
    publicKeyFile: get('jwt-public-key-file', 'JWT_PUBLIC_KEY_FILE', 'jwtPublicKeyFile'),
    issuer: get('jwt-issuer', 'JWT_ISSUER', 'jwtIssuer'),
    audience: get('jwt-audience', 'JWT_AUDIENCE', 'jwtAudience'),
  };
  const sources = [jwt.secret, jwt.jwksUrl, jwt.publicKeyFile].filter(Boolean).length;
  if (sources > 1) fail('set one of JWT_SECRET, JWKS_URL and JWT_PUBLIC_KEY_FILE, not several');
  if (jwt.secret !== undefined && Buffer.byteLength(jwt.secret) < 32)
    fail('JWT_SECRET must be at least 32 bytes (HS256 needs a 256-bit key)');
  if (jwt.jwksUrl !== undefined && !/^https?:\/\/\S+$/.test(jwt.jwksUrl))
    fail(`JWKS_URL must be an http(s) URL, got "${jwt.jwksUrl}"`);
  const cert = get('tls-cert-file', 'TLS_CERT_FILE', 'tlsCertFile');
  const key = get('tls-key-file', 'TLS_KEY_FILE', 'tlsKeyFile');
  const ca = get('tls-ca-file', 'TLS_CA_FILE', 'tlsCaFile');
  if (Boolean(cert) !== Boolean(key)) fail('TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither');
  if (ca && !cert) fail('TLS_CA_FILE (mTLS) needs TLS_CERT_FILE and TLS_KEY_FILE');
  for (const [name, path] of [
    ['TLS_CERT_FILE', cert],
    ['TLS_KEY_FILE', key],
    ['TLS_CA_FILE', ca],
    ['JWT_PUBLIC_KEY_FILE', jwt.publicKeyFile],
  ] as const)
    if (path && !existsSync(path)) fail(`${name}: no file at ${path}`);
  const corsOrigins = (get('cors-origins', 'CORS_ORIGINS', 'corsOrigins') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const o of corsOrigins)
    if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o))
      fail(`CORS_ORIGINS: "${o}" is not an origin (scheme://host[:port], no path)`);
  const rate = get('rate-limit-per-minute', 'RATE_LIMIT_PER_MINUTE', 'rateLimitPerMinute') ?? '6000';
  if (!/^\d{1,9}$/.test(rate))
    fail(`RATE_LIMIT_PER_MINUTE must be a whole number (0: no limit), got "${rate}"`);
  let apiKeys: StaticKey[] = [];
  try {
    apiKeys = parseApiKeys(get('api-keys', 'API_KEYS', 'apiKeys'));
  } catch (err) {
    fail((err as Error).message);
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return {
    rateLimitPerMinute: Number(rate),
    enableAuth: enable === 'true' || enable === '1',
    enableAuthSet: enable !== undefined,
    jwt,
    apiKeys,
    token: get('token', 'NERVE_TOKEN', 'token'),
    tls: cert && key ? { cert, key, ca: ca || undefined } : undefined,
    corsOrigins,
  };
}
