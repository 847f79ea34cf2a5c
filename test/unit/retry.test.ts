import { RetryBudget } from '../../src/router/resilience/retry-budget';
import { backoffMs, compileRetry } from '../../src/router/resilience/retry-policy';

describe('retry policy (gRFC A6) and retry budget', () => {
  const retry = compileRetry({
    maxAttempts: 9,
    initialBackoffMs: 50,
    maxBackoffMs: 300,
    backoffMultiplier: 2,
    retryableCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'OK'],
    perAttemptTimeoutMs: 0,
  })!;

  it('compiles codes to numbers, caps attempts at 5, and turns retries off at one attempt', () => {
    expect(retry.maxAttempts).toBe(5);
    expect([...retry.codes].sort((a, b) => a - b)).toEqual([8, 14]);
    expect(
      compileRetry({
        maxAttempts: 1,
        initialBackoffMs: 1,
        maxBackoffMs: 1,
        backoffMultiplier: 2,
        retryableCodes: [],
        perAttemptTimeoutMs: 0,
      }),
    ).toBeUndefined();
  });

  it('backs off as random(0, min(initial · multiplier^(n−1), max))', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(retry, n, () => 1))).toEqual([50, 100, 200, 300]);
    expect(backoffMs(retry, 3, () => 0.5)).toBe(100);
  });

  it('allows retries up to 20 % of calls in flight, at least 10', () => {
    const budget = new RetryBudget();
    const granted = Array.from({ length: 12 }, () => budget.tryAcquire(20)).filter(Boolean).length;
    expect(granted).toBe(10); // floor 10 > 20 % of 20
    expect(budget.exhausted).toBe(2);
    expect(budget.tryAcquire(100)).toBe(true); // 20 % of 100 = 20
    budget.release();
    expect(budget.retriesInProgress).toBe(10);
  });
});
