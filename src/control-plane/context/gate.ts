import type { Logger } from '../../observability/logger';
import { RateLimitedWarning } from '../../observability/rate-limited-warning';
import { ApiKeyRegistry } from '../../security/api-key-registry';
import { Authenticator } from '../../security/authenticator';
import { CallLimits } from '../../security/call-limits';
import type { CallGate } from '../../security/call-gate';
import { JwtVerifier } from '../../security/jwt-verifier';
import type { ConfigStore } from '../../store/config-store';
import type { ControlPlaneMetrics } from './control-plane-metrics';
import type { ControlPlaneOptions } from './plane-options';

/** The gate, and what the admin API lists of it: the names of the keys the settings hold. */
export interface PlaneGate extends CallGate {
  readonly staticKeyNames: () => readonly string[];
}

/**
 * One authentication and one set of rate limits for every surface: REST, admin gRPC, the feeds, xDS
 * and reports. Stream opens and feed upgrades count against the same budgets as calls; a refused
 * data-plane stream is counted and warned of (rate-limited), never silent.
 */
export function createGate(
  store: ConfigStore,
  options: ControlPlaneOptions,
  metrics: ControlPlaneMetrics,
  logger: Logger,
): PlaneGate {
  const keys = new ApiKeyRegistry(store, options.auth?.apiKeys ?? []);
  const jwt = options.auth?.jwt;
  const auth = new Authenticator(
    options.auth?.enabled ?? false,
    keys,
    jwt && (jwt.secret || jwt.jwksUrl || jwt.publicKeyFile) ? JwtVerifier.create(jwt) : undefined,
  );
  const limits = new CallLimits(options.callLimits);
  auth.limits = limits;
  const refusals = new RateLimitedWarning(logger, 60_000);
  auth.onRefusal = (what, code, message, peer) => {
    const reason = code.toLowerCase();
    metrics.streamRefusals.inc({ stream: what, reason });
    refusals.warn(`${what}/${peer.replace(/:\d+$/, '')}/${reason}`, 'data-plane stream refused', {
      stream: what,
      peer,
      code,
      reason: message,
    });
  };
  return { auth, limits, staticKeyNames: () => keys.staticNames() };
}
