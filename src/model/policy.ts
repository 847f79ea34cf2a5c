import type { EnginePolicy, EngineSpec } from './engine';

/**
 * Balancing strategies a policy may name. The router registers one picker per name; a test checks that
 * every name here has one, so the control plane never accepts a strategy no router can run.
 */
export const STRATEGIES = [
  'round_robin',
  'sticky',
  'least_request',
  'least_response_time',
  'random',
  'auto',
  'probing',
] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** gRPC status names accepted in retry policies. */
export const RETRYABLE_CODES = [
  'CANCELLED',
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'RESOURCE_EXHAUSTED',
  'ABORTED',
  'INTERNAL',
  'UNAVAILABLE',
] as const;

/** The policy an engine gets when it is created without one (e.g. by an instance registering itself). */
export function defaultPolicy(): EnginePolicy {
  return {
    strategy: 'round_robin',
    timeoutMs: 30_000,
    retry: {
      maxAttempts: 3,
      initialBackoffMs: 50,
      maxBackoffMs: 1_000,
      backoffMultiplier: 2,
      retryableCodes: ['UNAVAILABLE'],
      perAttemptTimeoutMs: 0,
      budgetPercent: 20,
      minRetriesPerSecond: 10,
    },
    breaker: {
      failureRateThreshold: 50,
      minimumCalls: 20,
      windowSize: 100,
      openMs: 30_000,
      halfOpenPermits: 10,
      slowCallMs: 0,
      maxRequests: 1_000,
      maxPending: 1_000,
      windowMs: 0,
      slowCallRateThreshold: 100,
      maxOpenMs: 300_000,
      engineFailureRateThreshold: 80,
    },
    fallbackEngines: [],
    healthCheck: { intervalMs: 5_000, timeoutMs: 1_000, healthyThreshold: 1, unhealthyThreshold: 2 },
    rateLimit: { requestsPerSecond: 0, burst: 0, queueTimeoutMs: 1_000 },
    panicThreshold: 0,
    // Envoy's consecutive-5xx and success-rate defaults; ejections start shorter (2 s, doubling to 30 s)
    // because a router sees one instance's failures sooner than a sidecar fleet does.
    outlier: {
      consecutiveErrors: 5,
      intervalMs: 10_000,
      baseEjectionMs: 2_000,
      maxEjectionMs: 30_000,
      maxEjectionPercent: 10,
      successRateMinimumHosts: 5,
      successRateRequestVolume: 100,
      successRateStdevFactor: 1.9,
    },
    // Off until methods are listed (only idempotent methods may be hedged); a copy that fails with
    // UNAVAILABLE lets the others go on, as gRFC A6's usual non-fatal code.
    hedging: { maxAttempts: 1, delayMs: 0, nonFatalCodes: ['UNAVAILABLE'], methods: [] },
    degraded: undefined,
    cache: undefined,
    upstreamTls: false,
    slowStart: undefined,
    adaptiveConcurrency: undefined,
  };
}

/** The engine an instance joining by itself creates: one version (`v1` unless it says), no instances yet. */
export function defaultEngine(name: string, version?: string): EngineSpec {
  return {
    name,
    versions: [{ name: version || 'v1', weight: 100 }],
    instances: [],
    policy: defaultPolicy(),
    services: [],
    revision: 0,
  };
}
