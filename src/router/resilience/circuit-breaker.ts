import type { BreakerPolicy } from '../../../gen/nerve/discovery/v1/policy';
import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import { type Clock, REAL_CLOCK } from './clock';
import { CountWindow, type SlidingWindow, TimeWindow } from './sliding-window';

export { CircuitState };

export interface BreakerConfig {
  /** Percent of failed calls over the window that opens the circuit; 0: failures never open it. */
  readonly failureRateThreshold: number;
  /** Percent of calls slower than slowCallMs that opens it; 0 (or slowCallMs 0): off. */
  readonly slowCallRateThreshold: number;
  readonly slowCallMs: number;
  /** Calls the window must hold before rates are judged. */
  readonly minimumCalls: number;
  /** Count-based window size (used when windowMs is 0). */
  readonly windowSize: number;
  /** >0: time-based window of this span. */
  readonly windowMs: number;
  readonly openMs: number;
  readonly maxOpenMs: number;
  readonly halfOpenPermits: number;
}

/** A call's outcome as the breaker counts it; `ignored` (the caller cancelled) gives a probe permit back. */
export type Outcome = 'success' | 'failure' | 'ignored';

/** Resilience4j's defaults, which the model's default policy also uses. */
export function breakerConfig(p: BreakerPolicy | undefined): BreakerConfig {
  return {
    failureRateThreshold: p?.failureRateThreshold ?? 50,
    slowCallRateThreshold: p?.slowCallRateThreshold ?? 0,
    slowCallMs: p?.slowCallMs ?? 0,
    minimumCalls: Math.max(1, p?.minimumCalls ?? 20),
    windowSize: Math.max(1, p?.windowSize || 100),
    windowMs: p?.windowMs ?? 0,
    openMs: Math.max(1, p?.openMs || 30_000),
    maxOpenMs: Math.max(p?.openMs || 30_000, p?.maxOpenMs || 300_000),
    halfOpenPermits: Math.max(1, p?.halfOpenPermits || 10),
  };
}

/**
 * A circuit breaker (closed → open → half-open), as resilience4j's: in CLOSED every call's outcome goes
 * into a sliding window, and once it holds `minimumCalls`, a failure rate or slow-call rate at or above its
 * threshold opens the circuit. OPEN refuses calls for the open time, which doubles with each trip in a row
 * (up to maxOpenMs); then HALF_OPEN lets `halfOpenPermits` probe calls through and judges them alone: the
 * same thresholds reopen the circuit, otherwise it closes and the trip count starts over.
 *
 * `onChange` runs synchronously on every state change, and (stateChanged false) when the last probe permit
 * is taken or one comes back, so the owner can take the instance out of (or back into) rotation.
 */
export class CircuitBreaker {
  state = CircuitState.CIRCUIT_STATE_CLOSED;
  /** Epoch ms of the last state change (reported to the control plane). */
  sinceMs = Date.now();
  /** Why the circuit is in its state, for messages and the admin view. */
  reason = '';
  /** Trips in a row; a close resets it. */
  trips = 0;
  /** Monotonic ms when an open circuit turns half-open. */
  openUntil = 0;
  private window: SlidingWindow;
  private permitsLeft = 0;
  private probes = { calls: 0, failures: 0, slow: 0 };
  private timer: unknown;
  private config: BreakerConfig;

  constructor(
    readonly name: string,
    config: BreakerConfig,
    private readonly onChange: (breaker: CircuitBreaker, stateChanged: boolean) => void = () => undefined,
    private readonly clock: Clock = REAL_CLOCK,
  ) {
    this.config = config;
    this.window = windowFor(config);
  }

  configure(config: BreakerConfig): void {
    const c = this.config;
    if (config.windowMs !== c.windowMs || config.windowSize !== c.windowSize) this.window = windowFor(config);
    this.config = config;
  }

  /** May a call go to the instance now? Half-open: takes one of the probe permits. */
  tryAcquire(): boolean {
    if (this.state === CircuitState.CIRCUIT_STATE_CLOSED) return true;
    if (this.state === CircuitState.CIRCUIT_STATE_OPEN || this.permitsLeft === 0) return false;
    this.permitsLeft--;
    if (this.permitsLeft === 0) this.onChange(this, false); // no more probes: out of rotation until they end
    return true;
  }

  /** Does the circuit let calls through now (closed, or half-open with permits left)? */
  get admits(): boolean {
    return (
      this.state === CircuitState.CIRCUIT_STATE_CLOSED ||
      (this.state === CircuitState.CIRCUIT_STATE_HALF_OPEN && this.permitsLeft > 0)
    );
  }

  record(outcome: Outcome, latencyMs: number): void {
    const c = this.config;
    if (this.state === CircuitState.CIRCUIT_STATE_OPEN) return; // calls that started before the trip
    if (this.state === CircuitState.CIRCUIT_STATE_HALF_OPEN) {
      if (outcome === 'ignored') {
        if (this.permitsLeft++ === 0) this.onChange(this, false);
        return;
      }
      const p = this.probes;
      p.calls++;
      if (outcome === 'failure') p.failures++;
      if (c.slowCallMs > 0 && latencyMs >= c.slowCallMs) p.slow++;
      if (p.calls < c.halfOpenPermits) return;
      const why = this.overThreshold(p, true);
      if (why) this.trip(why);
      else this.reset(`${p.calls} probe calls passed`);
      return;
    }
    if (outcome === 'ignored') return;
    const now = this.window.timed ? this.clock.now() : 0; // a clock read per call only when it counts
    this.window.record(outcome === 'failure', c.slowCallMs > 0 && latencyMs >= c.slowCallMs, now);
    const totals = this.window.totals(now);
    if (totals.calls < c.minimumCalls) return;
    const why = this.overThreshold(totals, false);
    if (why) this.trip(why);
  }

  /** Opens the circuit now (the control plane says it is open on most routers); no-op when open. */
  forceOpen(reason: string): void {
    if (this.state !== CircuitState.CIRCUIT_STATE_OPEN) this.trip(reason);
  }

  /** Closes the circuit and forgets its history (manual reset, or probes passed). */
  reset(reason: string): void {
    this.trips = 0;
    this.close(reason);
  }

  /** Stops the half-open timer (the instance left the configuration). */
  dispose(): void {
    this.clock.clearTimeout(this.timer);
  }

  /** Why the circuit trips on these outcomes (of the probes, or of the window), or '' (runs per call: no text unless it trips). */
  private overThreshold(
    t: Readonly<{ calls: number; failures: number; slow: number }>,
    probes: boolean,
  ): string {
    const c = this.config;
    const failureRate = (100 * t.failures) / t.calls;
    if (c.failureRateThreshold > 0 && failureRate >= c.failureRateThreshold)
      return `failure rate ${Math.round(failureRate)} % ≥ ${c.failureRateThreshold} % ${this.over(t.calls, probes)}`;
    const slowRate = (100 * t.slow) / t.calls;
    if (c.slowCallRateThreshold > 0 && c.slowCallMs > 0 && slowRate >= c.slowCallRateThreshold)
      return `slow calls (≥ ${c.slowCallMs} ms) ${Math.round(slowRate)} % ≥ ${c.slowCallRateThreshold} % ${this.over(t.calls, probes)}`;
    return '';
  }

  private over(calls: number, probes: boolean): string {
    return probes ? `of ${calls} probe calls` : this.windowText(calls);
  }

  private windowText(calls: number): string {
    return this.config.windowMs > 0
      ? `over ${calls} calls in the last ${this.config.windowMs} ms`
      : `over the last ${calls} calls`;
  }

  private trip(reason: string): void {
    const c = this.config;
    const openMs = Math.min(c.openMs * 2 ** Math.min(this.trips, 30), c.maxOpenMs);
    this.trips++;
    this.openUntil = this.clock.now() + openMs;
    this.transition(CircuitState.CIRCUIT_STATE_OPEN, `${reason}; open for ${openMs} ms (trip ${this.trips})`);
    this.timer = this.clock.setTimeout(() => this.halfOpen(), openMs);
  }

  private halfOpen(): void {
    this.timer = undefined;
    this.permitsLeft = this.config.halfOpenPermits;
    this.probes = { calls: 0, failures: 0, slow: 0 };
    this.transition(
      CircuitState.CIRCUIT_STATE_HALF_OPEN,
      `probing with ${this.permitsLeft} calls after ${this.reason.split(';')[0]}`,
    );
  }

  private close(reason: string): void {
    this.window.reset();
    this.transition(CircuitState.CIRCUIT_STATE_CLOSED, reason);
  }

  private transition(to: CircuitState, reason: string): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (to !== CircuitState.CIRCUIT_STATE_HALF_OPEN) this.permitsLeft = 0;
    this.state = to;
    this.reason = reason;
    this.sinceMs = Date.now();
    this.onChange(this, true);
  }
}

function windowFor(c: BreakerConfig): SlidingWindow {
  return c.windowMs > 0 ? new TimeWindow(c.windowMs) : new CountWindow(c.windowSize);
}
