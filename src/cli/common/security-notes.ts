import type { SecuritySettings } from '../../config/security-settings';
import { SettingsError } from '../../config/settings';
import type { Logger } from '../../observability/logger';
import type { ClientCredentials } from '../../security/tls-files';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Authentication off loopback is on unless ENABLE_AUTH=false says otherwise: with credentials
 * configured (API keys, a JWT key source, a client CA) it is turned on; with none, the start is refused
 * (a control plane nobody can use, or anyone can change, are both mistakes to name, not to run).
 */
export function authByDefault(s: SecuritySettings, host: string): SecuritySettings {
  if (s.enableAuthSet || LOOPBACK.test(host)) return s;
  const credentials =
    s.apiKeys.length > 0 || Boolean(s.jwt.secret || s.jwt.jwksUrl || s.jwt.publicKeyFile || s.tls?.ca);
  if (credentials) return { ...s, enableAuth: true };
  throw new SettingsError(
    `the control plane would listen on ${host} with authentication off, and no credentials are configured: set ENABLE_AUTH=true with API_KEYS or a JWT key source (JWT_SECRET, JWKS_URL, JWT_PUBLIC_KEY_FILE), ENABLE_AUTH=false to run open on a trusted network, or HOST=127.0.0.1`,
  );
}

/**
 * With authentication off anyone who reaches a port can change everything: fine on loopback (`nerve
 * demo`), worth a warning anywhere else (where it was asked for with ENABLE_AUTH=false).
 */
export function warnIfOpen(enableAuth: boolean, host: string, logger: Logger): void {
  if (enableAuth || LOOPBACK.test(host)) return;
  const message = `authentication is off and the control plane listens on ${host}: anyone who reaches its ports can change the configuration (set ENABLE_AUTH=true, or bind to 127.0.0.1)`;
  logger.warn(message);
  console.error(`warning: ${message}`);
}

/**
 * What a router presents to the control plane: NERVE_TOKEN, and TLS when a CA to trust is set. A token
 * is never sent in clear off loopback: without TLS_CA_FILE, such a start is refused naming the setting.
 */
export function controlPlaneCredentials(
  s: SecuritySettings,
  controlPlanes: readonly string[] = [],
): ClientCredentials {
  const exposed = controlPlanes.filter((a) => !LOOPBACK.test(a.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')));
  if (s.token && !s.tls?.ca && exposed.length > 0)
    throw new SettingsError(
      `NERVE_TOKEN would go in clear to ${exposed.join(', ')}: set TLS_CA_FILE (the CA of the control plane's certificate), or reach it on loopback`,
    );
  return {
    token: s.token,
    tls: s.tls?.ca ? { ca: s.tls.ca, cert: s.tls.cert, key: s.tls.key } : undefined,
  };
}
