import type { HedgingPolicy, RetryPolicy } from '../../../gen/nerve/discovery/v1/policy';

export const CODES: Record<string, number> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
};

/** A retry policy in the shape the request path reads (gRFC A6), built once per config change. */
export interface Retry {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
  readonly codes: ReadonlySet<number>;
  /** 0: none. */
  readonly perAttemptTimeoutMs: number;
}

export function compileRetry(policy: RetryPolicy | undefined): Retry | undefined {
  if (!policy || policy.maxAttempts <= 1) return undefined;
  return {
    maxAttempts: Math.min(policy.maxAttempts, 5), // gRFC A6 caps attempts at 5
    initialBackoffMs: Math.max(1, policy.initialBackoffMs),
    maxBackoffMs: Math.max(policy.initialBackoffMs, policy.maxBackoffMs),
    multiplier: Math.max(1, policy.backoffMultiplier || 2),
    codes: new Set(policy.retryableCodes.map((c) => CODES[c]).filter((c) => c !== undefined)),
    perAttemptTimeoutMs: policy.perAttemptTimeoutMs ?? 0,
  };
}

/** gRFC A6 backoff before retry n (1-based): random(0, min(initial · multiplier^(n−1), max)). */
export function backoffMs(retry: Retry, n: number, random: () => number = Math.random): number {
  return random() * Math.min(retry.initialBackoffMs * retry.multiplier ** (n - 1), retry.maxBackoffMs);
}

/** A hedging policy (gRFC A6) in the shape the request path reads, built once per config change. */
export interface Hedging {
  readonly maxAttempts: number;
  readonly delayMs: number;
  /** Statuses after which the other copies go on; any other ends the call. */
  readonly nonFatal: ReadonlySet<number>;
  /** Is this :path (an idempotent method) hedged? */
  applies(path: string): boolean;
}

export function compileHedging(policy: HedgingPolicy | undefined): Hedging | undefined {
  if (!policy || policy.maxAttempts < 2 || policy.methods.length === 0) return undefined;
  const exact = new Set(policy.methods.filter((m) => m.startsWith('/')));
  const services = new Set(policy.methods.filter((m) => m.endsWith('/*')).map((m) => m.slice(0, -2)));
  return {
    maxAttempts: Math.min(policy.maxAttempts, 5), // gRFC A6 caps attempts at 5
    delayMs: policy.delayMs,
    nonFatal: new Set(policy.nonFatalCodes.map((c) => CODES[c]).filter((c) => c !== undefined)),
    applies: (path) =>
      exact.has(path) || (services.size > 0 && services.has(path.slice(1, path.lastIndexOf('/')))),
  };
}
