import { FakeClock } from '../helpers/fake-clock';
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
    budgetPercent: 0,
    minRetriesPerSecond: 0,
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
        budgetPercent: 0,
        minRetriesPerSecond: 0,
      }),
    ).toBeUndefined();
  });

  it('backs off as random(0, min(initial · multiplier^(n−1), max))', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(retry, n, () => 1))).toEqual([50, 100, 200, 300]);
    expect(backoffMs(retry, 3, () => 0.5)).toBe(100);
  });

  it('holds retries in progress to 20 % of calls in flight, at least 10 (one slot per call)', () => {
    const budget = new RetryBudget(new FakeClock());
    const granted = Array.from({ length: 12 }, () => budget.tryRetry(20, false)).filter(Boolean).length;
    expect(granted).toBe(10); // floor 10 > 20 % of 20
    expect(budget.exhausted).toBe(2);
    expect(budget.tryRetry(20, true)).toBe(true); // a call's next attempt holds its slot already
    expect(budget.tryRetry(100, false)).toBe(true); // 20 % of 100 = 20
    budget.release();
    expect(budget.retriesInProgress).toBe(10);
  });

  it('spends a token per retry: 20 % of calls plus the reserve, unspent tokens fading over 10 s', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(clock);
    expect(budget.available()).toBeCloseTo(100); // 10 s of a 10/s reserve
    // A failing engine: every call wants a retry, 100 calls a second for 60 s.
    let retries = 0;
    for (let s = 0; s < 60; s++) {
      for (let i = 0; i < 100; i++) {
        clock.advance(10);
        budget.calls++;
        if (budget.tryRetry(1, false)) {
          retries++;
          budget.release();
        }
      }
    }
    // After the first tokens are spent, 20 % of 100/s plus 10/s: about 30 of every 100 calls.
    expect(retries / 6_000).toBeGreaterThan(0.28);
    expect(retries / 6_000).toBeLessThan(0.33 + 100 / 6_000);
    expect(budget.takeInterval()).toEqual({ calls: 6_000, retries, refused: 6_000 - retries });
    expect(budget.takeInterval()).toEqual({ calls: 0, retries: 0, refused: 0 });
  });

  it("takes its share of the fleet's reserve: 10 routers retry within one budget, not 10", () => {
    const run = (fleet: boolean) => {
      const clock = new FakeClock();
      const routers = Array.from({ length: 10 }, () => new RetryBudget(clock));
      let calls = 0;
      let retries = 0;
      for (let ms = 0; ms < 60_000; ms += 100) {
        clock.advance(100);
        // Each router: 5 calls a second to an engine that fails them all.
        if (ms % 200 === 0)
          for (const b of routers) {
            b.calls++;
            calls++;
            if (b.tryRetry(1, false)) {
              retries++;
              b.release();
            }
          }
        // The control plane's word, every 2 s: 10 routers, 50 calls a second in all.
        if (fleet && ms % 2_000 === 0)
          for (const b of routers) b.applyFleet({ routers: 10, fleetCallsPerSecond: 50 });
      }
      return retries / calls;
    };
    const alone = run(false);
    const shared = run(true);
    // Alone, each router's 10/s reserve covers its 5 calls a second: every call retried.
    expect(alone).toBeGreaterThan(0.95);
    // Shared, the fleet's reserve is 10/s for 50 calls a second: 20 % + 20 %.
    expect(shared).toBeLessThan(0.45);
    expect(shared).toBeGreaterThan(0.3);
  });

  it('reads the retry budget from the policy', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(clock);
    budget.configure({ budgetPercent: 50, minRetriesPerSecond: 1 });
    clock.advance(60_000); // the start's reserve has faded to the new cap
    expect(budget.available()).toBeCloseTo(10, 0);
    budget.calls += 10;
    clock.advance(1_000); // 10 calls deposit 5 tokens, the reserve 1, and 10 % of the rest fades
    expect(budget.available()).toBeCloseTo(10 * Math.exp(-0.1) + 5 + 1, 0);
  });
});
