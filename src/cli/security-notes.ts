import type { SecuritySettings } from '../config/security-settings';
import type { Logger } from '../observability/logger';
import type { ClientCredentials } from '../security/tls-files';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * With authentication off anyone who reaches a port can change everything: fine on loopback (`nerve
 * demo`), worth a warning anywhere else, where the operator may not know.
 */
export function warnIfOpen(enableAuth: boolean, host: string, logger: Logger): void {
  if (enableAuth || LOOPBACK.test(host)) return;
  const message = `authentication is off and the control plane listens on ${host}: anyone who reaches its ports can change the configuration (set ENABLE_AUTH=true, or bind to 127.0.0.1)`;
  logger.warn(message);
  console.error(`warning: ${message}`);
}

/** What a router presents to the control plane: NERVE_TOKEN, and TLS when a CA to trust is set. */
export function controlPlaneCredentials(s: SecuritySettings): ClientCredentials {
  return {
    token: s.token,
    tls: s.tls?.ca ? { ca: s.tls.ca, cert: s.tls.cert, key: s.tls.key } : undefined,
  };
}
