import type { AdaptiveConcurrencyPolicy } from '../../gen/nerve/discovery/v1/policy';
import { EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { defaultPolicy } from '../../src/model/policy';
import { parseEngineSpec } from '../../src/model/validate';
import { RoutingState } from '../../src/router/proxy/routing-state';
import { GradientController } from '../../src/router/resilience/adaptive-concurrency';
import { Admission } from '../../src/router/resilience/admission';
import type { Clock } from '../../src/router/resilience/clock';

const POLICY: AdaptiveConcurrencyPolicy = {
  enabled: true,
  minLimit: 3,
  maxLimit: 1_000,
  updateIntervalMs: 100,
  minRttIntervalMs: 60_000,
  minRttRequests: 50,
  minRttConcurrency: 3,
  bufferPercent: 25,
  samplePercentile: 50,
  jitterPercent: 0,
};

/** Feeds `n` samples of `ms` ending at `now` (each started at now − ms). */
function feed(c: GradientController, ms: number, now: number, n = 1): void {
  for (let i = 0; i < n; i++) c.sample(ms, now);
}

/**
 * A closed loop over an engine that serves `capacity` calls at once in `baseMs` and queues the rest:
 * latency grows with in-flight beyond capacity. Callers keep `offered` calls waiting; the limit admits.
 */
function simulate(c: GradientController, capacity: number, baseMs: number, offered: number, ms: number) {
  const limits: number[] = [];
  c.inFlight = () => Math.min(offered, c.limit);
  for (let now = 0; now < ms; now += 10) {
    const inFlight = Math.min(offered, c.limit);
    const latency = baseMs * Math.max(1, inFlight / capacity);
    // Calls that end in these 10 ms: in-flight / latency per ms (Little's law).
    const ended = Math.max(1, Math.round((inFlight * 10) / latency));
    feed(c, latency, now, ended);
    limits.push(c.limit);
  }
  return limits;
}

describe('adaptive concurrency (Envoy gradient controller)', () => {
  it('measures the minimum RTT at minRttConcurrency, then starts from minLimit', () => {
    const c = new GradientController(POLICY, 0);
    expect(c.limit).toBe(3);
    expect(c.measuring).toBe(true);
    feed(c, 10, 20, 49);
    expect(c.measuring).toBe(true);
    feed(c, 10, 20);
    expect(c.measuring).toBe(false);
    expect(c.minRttMs).toBe(10);
    expect(c.limit).toBe(3);
  });

  it('ignores, for the minimum, calls that started before the measurement', () => {
    const c = new GradientController(POLICY, 1_000);
    feed(c, 500, 1_100, 100); // started at 600: ran at the old concurrency
    expect(c.measuring).toBe(true);
    feed(c, 8, 1_100, 50);
    expect(c.minRttMs).toBe(8);
  });

  it('grows the limit while latency stays near the minimum, and halves it when latency doubles past the buffer', () => {
    const c = new GradientController(POLICY, 0);
    c.inFlight = () => c.limit; // callers use all of it
    feed(c, 10, 20, 50);
    let now = 20;
    for (let i = 0; i < 15; i++) feed(c, 10, (now += 100), 20);
    const grown = c.limit;
    expect(grown).toBeGreaterThan(100); // ×1.25 + sqrt per interval
    feed(c, 40, (now += 100), 20); // the interval's samples are now 40 ms …
    const before = c.limit;
    feed(c, 40, now + 100); // … and its update finds gradient 12.5 / 40: clamped to 0.5
    expect(c.limit).toBe(Math.floor(before * 0.5 + Math.sqrt(before * 0.5)));
    expect(c.describe()).toBe(
      `adaptive concurrency limit ${c.limit}: sampled latency 40 ms against a minimum RTT of 10 ms`,
    );
  });

  it('settles near what the engine can serve without queueing', () => {
    const c = new GradientController(POLICY, 0);
    const limits = simulate(c, 20, 10, 500, 20_000);
    const tail = limits.slice(-500);
    // Latency at the limit stays within the 25 % buffer (plus the sqrt headroom) of the unloaded RTT.
    expect(Math.min(...tail)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...tail)).toBeLessThanOrEqual(40);
  });

  it('grows only while at least half of the limit is in use', () => {
    const c = new GradientController(POLICY, 0);
    feed(c, 10, 20, 50);
    let inFlight = 0;
    c.inFlight = () => inFlight;
    for (let i = 1; i <= 10; i++) feed(c, 10, 20 + 100 * i, 5);
    expect(c.limit).toBe(3); // one call at a time: 3 is plenty
    inFlight = 40;
    for (let i = 11; i <= 20; i++) feed(c, 10, 20 + 100 * i, 5);
    expect(c.limit).toBeGreaterThan(40);
  });

  it('measures the minimum RTT again after minRttIntervalMs', () => {
    const c = new GradientController({ ...POLICY, minRttIntervalMs: 1_000 }, 0);
    c.inFlight = () => c.limit;
    feed(c, 10, 20, 50);
    feed(c, 10, 500, 10);
    expect(c.limit).toBeGreaterThan(3);
    feed(c, 10, 1_100); // past the interval: back to 3 while measuring
    expect(c.measuring).toBe(true);
    expect(c.limit).toBe(3);
    feed(c, 5, 1_200, 50);
    expect(c.minRttMs).toBe(5);
  });

  it('is validated in the policy, with Envoy defaults', () => {
    const ok = parseEngineSpec({ name: 'e', policy: { adaptiveConcurrency: {} } });
    expect(ok.ok && ok.value.policy.adaptiveConcurrency).toEqual({ ...POLICY, jitterPercent: 10 });
    const bad = parseEngineSpec({
      name: 'e',
      policy: { adaptiveConcurrency: { minLimit: 50, maxLimit: 10 } },
    });
    expect(bad.ok ? [] : bad.errors).toEqual([
      'policy.adaptiveConcurrency.minLimit: must not exceed maxLimit',
    ]);
  });

  it('holds calls over the limit in the admission queue, and refuses past it naming the limit', () => {
    const clock: Clock = {
      now: () => 0,
      setTimeout: () => 0,
      clearTimeout: () => undefined,
    };
    const c = new GradientController(POLICY, 0);
    const limits = { maxConcurrent: 0, maxPending: 1, queueTimeoutMs: 1_000, rate: 0, burst: 0, adaptive: c };
    const a = new Admission('e', limits, clock);
    const ran: number[] = [];
    const refused: string[] = [];
    for (let i = 0; i < 5; i++)
      a.admit(
        5,
        () => ran.push(i),
        (m) => refused.push(m),
      );
    expect(ran).toEqual([0, 1, 2]); // the limit is 3 while measuring
    expect(a.waiting).toBe(1);
    expect(refused).toEqual([
      'engine "e" has 3 calls in flight (adaptive concurrency limit 3 while measuring the minimum RTT), and its queue is full (1 waiting)',
    ]);
    a.release();
    expect(ran).toEqual([0, 1, 2, 3]);
  });

  it("is the engine admission's limit in the router, learnt across pushes of the same policy", () => {
    const cluster = (p: AdaptiveConcurrencyPolicy, instances = 1) =>
      EngineCluster.fromPartial({
        name: 'e',
        versions: [{ name: 'v1', weight: 100 }],
        endpoints: Array.from({ length: instances }, (_, i) => ({
          id: `i${i}`,
          address: `127.0.0.1:${1000 + i}`,
          version: 'v1',
          weight: 100,
          health: HealthStatus.HEALTH_STATUS_HEALTHY,
        })),
        policy: { ...defaultPolicy(), adaptiveConcurrency: p },
      });
    const state = new RoutingState();
    state.applyClusters([cluster(POLICY)]);
    const learnt = state.engine('e')!.concurrency!;
    const admission = state.admission('e')!;
    expect([1, 2, 3, 4].map(() => admission.tryEnter())).toEqual([true, true, true, false]);
    state.applyClusters([cluster(POLICY, 2)]); // another instance: the same limit goes on
    expect(state.engine('e')!.concurrency).toBe(learnt);
    state.applyClusters([cluster({ ...POLICY, maxLimit: 50 }, 2)]); // a new policy: learnt anew
    expect(state.engine('e')!.concurrency).not.toBe(learnt);
    state.applyClusters([cluster({ ...POLICY, enabled: false }, 2)]);
    expect(state.engine('e')!.concurrency).toBeUndefined();
    expect(admission.tryEnter()).toBe(true); // the static limits only
  });
});
