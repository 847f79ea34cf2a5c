import type { RetryPolicy } from '../../../gen/nerve/discovery/v1/policy';

const CODES: Record<string, number> = {
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
}

export function compileRetry(policy: RetryPolicy | undefined): Retry | undefined {
  if (!policy || policy.maxAttempts <= 1) return undefined;
  return {
    maxAttempts: Math.min(policy.maxAttempts, 5), // gRFC A6 caps attempts at 5
    initialBackoffMs: Math.max(1, policy.initialBackoffMs),
    maxBackoffMs: Math.max(policy.initialBackoffMs, policy.maxBackoffMs),
    multiplier: Math.max(1, policy.backoffMultiplier || 2),
    codes: new Set(policy.retryableCodes.map((c) => CODES[c]).filter((c) => c !== undefined)),
  };
}

/** gRFC A6 backoff before retry n (1-based): random(0, min(initial · multiplier^(n−1), max)). */
export function backoffMs(retry: Retry, n: number, random: () => number = Math.random): number {
  return random() * Math.min(retry.initialBackoffMs * retry.multiplier ** (n - 1), retry.maxBackoffMs);
}
