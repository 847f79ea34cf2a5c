import { CircuitBreaker, CircuitState, breakerConfig } from '../../src/router/resilience/circuit-breaker';
import { BreakerRegistry } from '../../src/router/resilience/breaker-registry';
import { CountWindow, TimeWindow } from '../../src/router/resilience/sliding-window';
import { successRateOutliers } from '../../src/router/resilience/success-rate';
import { FakeClock } from '../helpers/fake-clock';

const {
  CIRCUIT_STATE_CLOSED: CLOSED,
  CIRCUIT_STATE_OPEN: OPEN,
  CIRCUIT_STATE_HALF_OPEN: HALF_OPEN,
} = CircuitState;

function breaker(policy: Partial<Parameters<typeof breakerConfig>[0]> = {}, clock = new FakeClock()) {
  const changes: CircuitState[] = [];
  const b = new CircuitBreaker(
    'test',
    breakerConfig({
      failureRateThreshold: 50,
      minimumCalls: 4,
      windowSize: 10,
      openMs: 1_000,
      halfOpenPermits: 2,
      slowCallMs: 0,
      maxRequests: 0,
      maxPending: 0,
      windowMs: 0,
      slowCallRateThreshold: 0,
      maxOpenMs: 8_000,
      engineFailureRateThreshold: 80,
      ...policy,
    }),
    (br, changed) => {
      if (changed) changes.push(br.state);
    },
    clock,
  );
  return { b, clock, changes };
}

describe('sliding windows', () => {
  it('a count window holds the last N calls', () => {
    const w = new CountWindow(3);
    w.record(true, false);
    w.record(true, true);
    expect(w.totals()).toEqual({ calls: 2, failures: 2, slow: 1 });
    w.record(false, false);
    w.record(false, false); // the first failure leaves
    expect(w.totals()).toEqual({ calls: 3, failures: 1, slow: 1 });
    w.record(false, false); // the slow failure leaves
    expect(w.totals()).toEqual({ calls: 3, failures: 0, slow: 0 });
  });

  it('a time window holds the calls of the last span, in tenths', () => {
    const w = new TimeWindow(1_000);
    w.record(true, false, 0);
    w.record(false, true, 550);
    expect(w.totals(900)).toEqual({ calls: 2, failures: 1, slow: 1 });
    expect(w.totals(1_050)).toEqual({ calls: 1, failures: 0, slow: 1 }); // the call at 0 slid out
    expect(w.totals(1_650)).toEqual({ calls: 0, failures: 0, slow: 0 });
    w.record(true, false, 5_000); // reuses a stale bucket
    expect(w.totals(5_010)).toEqual({ calls: 1, failures: 1, slow: 0 });
  });
});

describe('circuit breaker', () => {
  it('stays closed below the minimum calls, opens at the failure-rate threshold', () => {
    const { b, changes } = breaker();
    for (let i = 0; i < 3; i++) b.record('failure', 1);
    expect(b.state).toBe(CLOSED); // 3 calls < minimum 4
    b.record('success', 1);
    expect(b.state).toBe(OPEN); // 3 of 4 = 75 % ≥ 50 %
    expect(b.reason).toMatch(/failure rate 75 % ≥ 50 % over the last 4 calls; open for 1000 ms/);
    expect(b.tryAcquire()).toBe(false);
    expect(changes).toEqual([OPEN]);
  });

  it('ignores caller cancels and calls that finish after the trip', () => {
    const { b } = breaker();
    for (let i = 0; i < 10; i++) b.record('ignored', 1);
    expect(b.state).toBe(CLOSED);
    for (let i = 0; i < 4; i++) b.record('failure', 1);
    b.record('success', 1); // late: does not count while open
    expect(b.state).toBe(OPEN);
  });

  it('opens on slow calls', () => {
    const { b } = breaker({ slowCallMs: 100, slowCallRateThreshold: 60 });
    b.record('success', 150);
    b.record('success', 150);
    b.record('success', 10);
    expect(b.state).toBe(CLOSED);
    b.record('success', 150); // 3 of 4 slow = 75 %
    expect(b.state).toBe(OPEN);
    expect(b.reason).toMatch(/slow calls \(≥ 100 ms\) 75 % ≥ 60 %/);
  });

  it('half-opens after the open time, lets the permits through, closes when they pass', () => {
    const { b, clock, changes } = breaker();
    for (let i = 0; i < 4; i++) b.record('failure', 1);
    clock.advance(999);
    expect(b.state).toBe(OPEN);
    clock.advance(1);
    expect(b.state).toBe(HALF_OPEN);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // 2 permits
    expect(b.admits).toBe(false);
    b.record('success', 1);
    expect(b.state).toBe(HALF_OPEN);
    b.record('success', 1);
    expect(b.state).toBe(CLOSED);
    expect(b.trips).toBe(0);
    expect(changes).toEqual([OPEN, HALF_OPEN, CLOSED]);
    // The window starts over: three failures are below the minimum again.
    for (let i = 0; i < 3; i++) b.record('failure', 1);
    expect(b.state).toBe(CLOSED);
  });

  it('reopens from half-open with an open time doubling per trip in a row, up to the maximum', () => {
    const { b, clock } = breaker();
    for (let i = 0; i < 4; i++) b.record('failure', 1);
    const openTimes: number[] = [];
    for (let trip = 0; trip < 5; trip++) {
      const opened = clock.t;
      while (b.state === OPEN) clock.advance(1);
      openTimes.push(clock.t - opened);
      b.tryAcquire();
      b.tryAcquire();
      b.record('failure', 1);
      b.record('success', 1); // 1 of 2 probes failed = 50 %: reopen
      expect(b.state).toBe(OPEN);
    }
    expect(openTimes).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(b.reason).toMatch(/of 2 probe calls; open for 8000 ms \(trip 6\)/);
  });

  it('gives a probe permit back when the probe call is cancelled', () => {
    const { b, clock } = breaker({ halfOpenPermits: 1 });
    for (let i = 0; i < 4; i++) b.record('failure', 1);
    clock.advance(1_000);
    expect(b.tryAcquire()).toBe(true);
    expect(b.admits).toBe(false);
    b.record('ignored', 0);
    expect(b.admits).toBe(true);
    expect(b.tryAcquire()).toBe(true);
    b.record('success', 1);
    expect(b.state).toBe(CLOSED);
  });

  it('judges a time-based window', () => {
    const { b, clock } = breaker({ windowMs: 10_000, minimumCalls: 2 });
    b.record('failure', 1);
    clock.advance(11_000);
    b.record('failure', 1); // the first one slid out: 1 call < minimum
    expect(b.state).toBe(CLOSED);
    clock.advance(1_000);
    b.record('failure', 1);
    expect(b.state).toBe(OPEN);
    expect(b.reason).toMatch(/over 2 calls in the last 10000 ms/);
  });

  it('force-opens (control plane) and resets by hand', () => {
    const { b, changes } = breaker();
    b.forceOpen('open on 2 of 3 routers');
    b.forceOpen('again'); // no-op while open
    expect(b.state).toBe(OPEN);
    expect(b.reason).toMatch(/^open on 2 of 3 routers; open for 1000 ms/);
    b.reset('by hand');
    expect(b.state).toBe(CLOSED);
    expect(b.trips).toBe(0);
    expect(changes).toEqual([OPEN, CLOSED]);
  });
});

describe('breaker registry: global states from the control plane', () => {
  const circuit = (state: CircuitState, sinceMs: number, resetAtMs = 0) => ({
    instanceId: 'i1',
    state,
    sinceMs,
    resetAtMs,
    openOn: 2,
    reporters: 3,
  });

  it('applies a global OPEN once per transition, and a newer reset once', () => {
    const clock = new FakeClock();
    const reg = new BreakerRegistry(() => undefined, clock);
    reg.configure('e', undefined);
    const b = reg.instance('e', 'i1');
    reg.applyGlobal([
      { engine: 'e', instances: [circuit(OPEN, 100)], engineCircuit: undefined, retryBudget: undefined },
    ]);
    expect(b.state).toBe(OPEN);
    expect(b.reason).toMatch(/open on 2 of 3 routers \(control plane\)/);
    b.reset('local');
    // The same global transition pushed again (another engine changed): not applied twice.
    reg.applyGlobal([
      { engine: 'e', instances: [circuit(OPEN, 100)], engineCircuit: undefined, retryBudget: undefined },
    ]);
    expect(b.state).toBe(CLOSED);
    reg.applyGlobal([
      { engine: 'e', instances: [circuit(OPEN, 200)], engineCircuit: undefined, retryBudget: undefined },
    ]);
    expect(b.state).toBe(OPEN);
    reg.applyGlobal([
      {
        engine: 'e',
        instances: [circuit(CLOSED, 300, 300)],
        engineCircuit: undefined,
        retryBudget: undefined,
      },
    ]);
    expect(b.state).toBe(CLOSED);
    const report = reg.takeReport();
    expect(report).toEqual([{ engine: 'e', instanceId: 'i1', state: CLOSED, sinceMs: expect.any(Number) }]);
    expect(reg.takeReport()).toEqual([]); // closed and unchanged: nothing more to say
  });

  it('tells which instances a newer reset reached (routers end their ejections), once each', () => {
    const reg = new BreakerRegistry(() => undefined, new FakeClock());
    reg.configure('e', undefined);
    reg.instance('e', 'i1');
    const heard: string[] = [];
    const push = (resetAt: number) =>
      reg.applyGlobal(
        [
          {
            engine: 'e',
            instances: [circuit(CLOSED, 100, resetAt)],
            engineCircuit: undefined,
            retryBudget: undefined,
          },
        ],
        (e, i) => heard.push(`${e}/${i}@${resetAt}`),
      );
    push(300);
    push(300);
    push(400);
    expect(heard).toEqual(['e/i1@300', 'e/i1@400']);
  });
});

describe('success-rate outlier detection (Envoy)', () => {
  const rule = { minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 };

  it('finds the host far below its peers', () => {
    const samples = [100, 99, 100, 98, 100, 60].map((ok) => ({ requests: 100, successes: ok }));
    expect(successRateOutliers(samples, rule)).toEqual([5]);
  });

  it('needs minimum hosts with enough volume, and spares a uniformly bad fleet', () => {
    const few = [100, 100, 100, 100, 10].map((ok) => ({ requests: 100, successes: ok }));
    few[0] = { requests: 99, successes: 99 }; // below the volume: 4 hosts judged
    expect(successRateOutliers(few, rule)).toEqual([]);
    const allBad = [50, 50, 50, 50, 50, 50].map((ok) => ({ requests: 100, successes: ok }));
    expect(successRateOutliers(allBad, rule)).toEqual([]);
    expect(successRateOutliers(allBad, { ...rule, minimumHosts: 0 })).toEqual([]);
  });
});
